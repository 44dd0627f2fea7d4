r"""Greedy layer-wise training with auxiliary heads (Bengio et al. 2007; Belilovsky et al. 2019).

The network is a chain of blocks ``f = h_K ∘ b_K ∘ … ∘ b_1``. Block k is trained with a small
auxiliary classifier ``h_k`` on the features of the frozen, already-trained prefix:

.. math:: (\theta_k^*, \phi_k^*) = \arg\min_{\theta_k, \phi_k} \;
          \mathbb{E}_{(x, y)}\, L\big(h_{\phi_k}(b_{\theta_k}(z_{k-1}(x))),\, y\big),
          \qquad z_{k-1} = b_{k-1}^* \circ \dots \circ b_1^*

The final model is ``h_K ∘ b_K ∘ … ∘ b_1`` (the last auxiliary head is the classifier).

Memory: the features ``z_{k-1}(x)`` are recomputed batch by batch inside the ``tf.data``
pipeline (``dataset.map`` with the frozen prefix in inference mode) and never cached, so peak
memory is that of one batch and the models, independent of the number of examples. Time per
epoch of block k is linear in the examples and in the prefix's and block's parameters.

How a block is trained is pluggable: ``block_trainer(stage, epochs) -> history`` receives a
:class:`BlockStage` (the block, its head, the stage model and the streamed features); the
default :class:`GradientBlockTrainer` compiles the stage model and calls ``model.fit``.

Papers: "Greedy Layer-Wise Training of Deep Networks", NeurIPS 2007; "Greedy Layerwise
Learning Can Scale to ImageNet", https://arxiv.org/abs/1812.11446
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import tensorflow as tf

from bitnets_tf._validation import check_int_at_least
from bitnets_tf.training._distribute import strategy_scope
from bitnets_tf.training.optimizers import bnn_optimizer

__all__ = [
    "BlockStage",
    "BlockTrainer",
    "GradientBlockTrainer",
    "LayerwiseResult",
    "LayerwiseTrainer",
]


@dataclass
class BlockStage:
    """What a block trainer gets for block ``index`` (0-based).

    Attributes:
        index: the block's position.
        block: the block being trained (a Keras layer or model).
        head: its auxiliary classifier.
        model: ``head(block(inputs))`` on the features' shape, built in the strategy's scope.
        features: ``(z_{index-1}(x), y)`` batches, streamed from the input dataset.
        validation_features: the same for the validation data, or None.
        strategy: the distribution strategy, or None.
    """

    index: int
    block: tf.keras.layers.Layer
    head: tf.keras.layers.Layer
    model: tf.keras.Model
    features: tf.data.Dataset
    validation_features: tf.data.Dataset | None
    strategy: tf.distribute.Strategy | None


class BlockTrainer(Protocol):
    """Trains ``stage.block`` and ``stage.head`` in place; returns a per-epoch history dict."""

    def __call__(self, stage: BlockStage, epochs: int) -> dict[str, list[float]]: ...


class GradientBlockTrainer:
    """The default block trainer: ``stage.model.compile(...)`` then ``stage.model.fit(...)``.

    Args:
        optimizer: a zero-argument factory for a fresh optimizer per block (default
            ``bnn_optimizer("adam", 1e-3)``).
        loss: default sparse categorical cross-entropy on logits.
        metrics: compile metrics.
        callbacks: passed to every ``fit``.
        verbose: ``fit`` verbosity.
    """

    def __init__(
        self,
        optimizer: Callable[[], tf.keras.optimizers.Optimizer] | None = None,
        loss: tf.keras.losses.Loss | str | None = None,
        metrics: Sequence = ("accuracy",),
        callbacks: Sequence[tf.keras.callbacks.Callback] = (),
        verbose: int | str = 0,
    ):
        self.optimizer = optimizer or (lambda: bnn_optimizer("adam", 1e-3))
        self.loss = loss or tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.metrics = list(metrics)
        self.callbacks = list(callbacks)
        self.verbose = verbose

    def __call__(self, stage: BlockStage, epochs: int) -> dict[str, list[float]]:
        with strategy_scope(stage.strategy):
            stage.model.compile(self.optimizer(), self.loss, metrics=self.metrics)
        history = stage.model.fit(
            stage.features,
            epochs=epochs,
            validation_data=stage.validation_features,
            callbacks=self.callbacks,
            verbose=self.verbose,
        )
        return history.history


@dataclass
class LayerwiseResult:
    """The assembled model and one history dict per block."""

    model: tf.keras.Model
    histories: list[dict[str, list[float]]]


class LayerwiseTrainer:
    """Greedy block-by-block training; see the module docstring.

    Args:
        blocks: the blocks in order, unbuilt Keras layers or models (they are built here, in
            the strategy's scope).
        head_factory: ``head_factory(index, feature_shape) -> layer``, a fresh auxiliary
            classifier for block ``index`` whose input has ``feature_shape`` (without batch).
        block_trainer: how one block is trained (default :class:`GradientBlockTrainer`).
        strategy: a ``tf.distribute.Strategy``, or None.
    """

    def __init__(
        self,
        blocks: Sequence[tf.keras.layers.Layer],
        head_factory: Callable[[int, tf.TensorShape], tf.keras.layers.Layer],
        block_trainer: BlockTrainer | None = None,
        strategy: tf.distribute.Strategy | None = None,
    ):
        if not blocks:
            raise ValueError("`blocks` must contain at least one block.")
        self.blocks = list(blocks)
        self.head_factory = head_factory
        self.block_trainer = block_trainer or GradientBlockTrainer()
        self.strategy = strategy

    def prefix_features(self, dataset: tf.data.Dataset, index: int) -> tf.data.Dataset:
        """``dataset`` with each batch's inputs replaced by the outputs of blocks ``< index``.

        A lazy ``map``: the prefix runs in inference mode on every batch of every epoch.
        """
        prefix = self.blocks[:index]

        def features(x, *rest):
            for block in prefix:
                x = block(x, training=False)
            return (x, *rest)

        return dataset if not prefix else dataset.map(features, num_parallel_calls=1)

    def fit(
        self,
        dataset: tf.data.Dataset,
        epochs_per_block: int | Sequence[int],
        validation_data: tf.data.Dataset | None = None,
    ) -> LayerwiseResult:
        """Train the blocks in order and return the assembled model.

        Args:
            dataset: batched ``(x, y)`` or ``(x, y, sample_weight)``.
            epochs_per_block: one count for all blocks or one per block.
            validation_data: batched like ``dataset``; streamed through the prefix the same way.
        """
        if not isinstance(dataset, tf.data.Dataset):
            raise ValueError(f"`dataset` must be a batched tf.data.Dataset, got {type(dataset)}.")
        epochs = self._epochs(epochs_per_block)
        input_shape = dataset.element_spec[0].shape[1:]
        with strategy_scope(self.strategy):
            inputs = tf.keras.Input(input_shape)
        features, histories, head = inputs, [], None
        for index, block in enumerate(self.blocks):
            with strategy_scope(self.strategy):
                stage_inputs = tf.keras.Input(features.shape[1:])
                block_outputs = block(stage_inputs)
                head = self.head_factory(index, block_outputs.shape[1:])
                stage_model = tf.keras.Model(
                    stage_inputs, head(block_outputs), name=f"layerwise_stage_{index}"
                )
                features = block(features)
            stage = BlockStage(
                index=index,
                block=block,
                head=head,
                model=stage_model,
                features=self.prefix_features(dataset, index),
                validation_features=(
                    None
                    if validation_data is None
                    else self.prefix_features(validation_data, index)
                ),
                strategy=self.strategy,
            )
            histories.append(self.block_trainer(stage, epochs[index]))
        with strategy_scope(self.strategy):
            model = tf.keras.Model(inputs, head(features), name="layerwise")
        return LayerwiseResult(model, histories)

    def _epochs(self, epochs_per_block: int | Sequence[int]) -> list[int]:
        if isinstance(epochs_per_block, int):
            epochs_per_block = [epochs_per_block] * len(self.blocks)
        epochs = list(epochs_per_block)
        if len(epochs) != len(self.blocks):
            raise ValueError(
                f"`epochs_per_block` has {len(epochs)} entries for {len(self.blocks)} blocks."
            )
        return [check_int_at_least("epochs_per_block", count, 1) for count in epochs]
