"""The block trainer that trains each binary block bit by bit inside a LayerwiseTrainer.

Greedy stacking uses :class:`~bitnets_tf.training.layerwise.LayerwiseTrainer`: block k trains
on the frozen prefix's outputs, recomputed batch by batch in the tf.data pipeline, so memory is
one window of patches, independent of the dataset size.

Background: "Greedy Layerwise Learning Can Scale to ImageNet",
https://arxiv.org/abs/1812.11446 (auxiliary heads).
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from bitnets_tf._validation import check_int_at_least
from bitnets_tf.training.gradient_free.bit_state import BitFlipStep, BitLayerState
from bitnets_tf.training.gradient_free.blocks import _head_codes, _split_block
from bitnets_tf.training.hamming_kmeans import hamming_kmeans, sample_patches
from bitnets_tf.training.layerwise import BlockStage

__all__ = ["BitFlipBlockTrainer"]


class BitFlipBlockTrainer:
    """A ``block_trainer`` for :class:`LayerwiseTrainer` that trains without gradients.

    Per epoch it streams the block's input features, collects ``window_batches`` minibatches
    of ±1 patches and applies :meth:`BitLayerState.step` to each window. The head's code words
    are the targets. Keras callbacks get ``on_train_begin``, ``on_epoch_end(logs)`` and
    ``on_train_end`` with ``objective`` (the mean objective per unit and example), ``bit_flips``,
    ``threshold_moves`` and, with validation data, ``val_accuracy``.

    Args:
        objective: see :class:`BitLayerState`.
        margin: see :class:`BitLayerState`.
        group_size: see :class:`BitLayerState`.
        window_batches: minibatches per window (memory: one window of patches).
        kmeans_blocks: indices of blocks whose filters start from Hamming k-means centroids
            of their input patches (default: the first block).
        kmeans_patches: how many patches k-means samples from the stream.
        seed: makes initialisation and k-means deterministic.
        callbacks: Keras callbacks.
    """

    def __init__(
        self,
        objective: str | None = None,
        margin: float | None = None,
        group_size: int = 4,
        window_batches: int = 1,
        kmeans_blocks: Sequence[int] = (0,),
        kmeans_patches: int = 20000,
        seed: int = 0,
        callbacks: Sequence[tf.keras.callbacks.Callback] = (),
        verbose: bool = False,
    ):
        self.objective = objective
        self.margin = margin
        self.group_size = group_size
        self.window_batches = check_int_at_least("window_batches", window_batches, 1)
        self.kmeans_blocks = tuple(kmeans_blocks)
        self.kmeans_patches = check_int_at_least("kmeans_patches", kmeans_patches, 1)
        self.seed = seed
        self.callbacks = list(callbacks)
        self.verbose = verbose
        self.steps: list[BitFlipStep] = []

    def __call__(self, stage: BlockStage, epochs: int) -> dict[str, list[float]]:
        preprocess, layer = _split_block(stage.block)
        state = BitLayerState(
            layer,
            _head_codes(stage.head),
            objective=self.objective,
            margin=self.margin,
            group_size=self.group_size,
            seed=self.seed + stage.index,
        )
        if stage.index in self.kmeans_blocks:
            patches = sample_patches(
                lambda x: tf.reshape(state.patches(preprocess(x)), [-1, state.fan_in]),
                stage.features,
                self.kmeans_patches,
                seed=self.seed,
            )
            centroids = hamming_kmeans(patches, state.units, seed=self.seed)
            state.weights.assign(centroids.T)
        callbacks = tf.keras.callbacks.CallbackList(self.callbacks, model=stage.model)
        callbacks.on_train_begin()
        history: dict[str, list[float]] = {}
        for epoch in range(epochs):
            logs = self._epoch(state, stage, preprocess)
            state.write_to(stage.head)
            if stage.validation_features is not None:
                logs["val_accuracy"] = _accuracy(stage.model, stage.validation_features)
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            if self.verbose:
                print(f"block {stage.index} epoch {epoch + 1}/{epochs}: {logs}")
            callbacks.on_epoch_end(epoch, logs)
        callbacks.on_train_end()
        return history

    def _epoch(self, state: BitLayerState, stage: BlockStage, preprocess) -> dict[str, float]:
        totals = {"objective": 0.0, "rows": 0, "bit_flips": 0, "threshold_moves": 0}
        window: list[tuple[tf.Tensor, tf.Tensor]] = []
        for batch in stage.features:
            patches = state.patches(preprocess(batch[0]))
            window.append((patches, state.targets(batch[1])))
            if len(window) == self.window_batches:
                self._step(state, window, totals)
                window = []
        if window:
            self._step(state, window, totals)
        return {
            "objective": totals["objective"] / max(totals["rows"] * state.units, 1),
            "bit_flips": float(totals["bit_flips"]),
            "threshold_moves": float(totals["threshold_moves"]),
        }

    def _step(self, state: BitLayerState, window, totals: dict) -> None:
        patches = tf.concat([p for p, _ in window], axis=0)
        targets = tf.concat([t for _, t in window], axis=0)
        before, after, flips, moves = state.step(patches, targets)
        step = BitFlipStep(float(before), float(after), int(flips), int(moves))
        self.steps.append(step)
        totals["objective"] += step.objective_before
        totals["rows"] += int(patches.shape[0])  # examples
        totals["bit_flips"] += step.bit_flips
        totals["threshold_moves"] += step.threshold_moves


def _accuracy(model: tf.keras.Model, dataset: tf.data.Dataset) -> float:
    correct = total = 0
    for batch in dataset:
        predictions = tf.argmax(model(batch[0], training=False), axis=-1)
        labels = tf.cast(tf.reshape(batch[1], [-1]), predictions.dtype)
        correct += int(tf.reduce_sum(tf.cast(predictions == labels, tf.int32)))
        total += int(tf.size(labels))
    return correct / max(total, 1)
