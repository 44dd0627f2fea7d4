r"""Gradient-free, bit-level training of binary layers (the original bitnets idea).

A binary layer with weights :math:`W \in \{-1, +1\}^{K \times U}` (K = fan-in, U = output
units) and ±1 inputs computes integer pre-activations :math:`a = x^\top W` and outputs
:math:`\mathrm{sign}(a - \theta)`. Each unit u is given a ±1 target per class, the u-th bit of
the class's code word (columns of a Hadamard matrix, see :func:`hadamard_codes`), and is
trained to agree with it with a margin m, on every output position:

.. math:: L(W, \theta) = \sum_{n} \sum_{u} \max\big(0,\; m - t_{y_n u}\,(a_{nu} - \theta_u)\big)

No real-valued latent weights exist and no gradient is computed. Because a flip of bit
:math:`W_{ku}` changes :math:`a_{nu}` by exactly :math:`-2 W_{ku} x_{nk}` and L is piecewise
linear with integer kinks, the exact change of L for *every* single-bit flip on a window of
minibatches is one matrix product:

.. math:: \Delta L_{ku} = S_u - W_{ku} M_{ku}, \qquad
          M = P^\top \big(T \odot \tfrac{1}{2}(g^+ - g^-)\big), \quad
          S_u = \sum_n \tfrac{1}{2}(g^+_{nu} + g^-_{nu})

with :math:`z = t (a - \theta)`, :math:`g^+ = h(z+2) - h(z)`, :math:`g^- = h(z-2) - h(z)`,
:math:`h(z) = \max(0, m - z)` and P the window's ±1 input patches. For each unit the trainer
proposes the best single flip, the group of its best ``group_size`` flips (scored exactly by
recomputing the window), and moving the threshold by ±2; it keeps the best proposal only if it
lowers that unit's loss. Units are independent given their targets, so every accepted step
lowers the window's objective by exactly the predicted amount — it never gets worse.

Pre-activations have the parity of K and thresholds the opposite parity, so ``a - θ`` is
never 0: the binarized network has no sign ties and converts to bitpacked (or int8) ops
exactly. The trained layer is an ordinary :class:`bitnets_tf.layers.QuantConv2D` /
``QuantDense`` (±1 kernel, bias ``-θ``), followed by the next layer's sign; the auxiliary head
is a fixed ±1 1×1 convolution with the code words and a global average pool, i.e. decoding by
code agreement.

Greedy stacking uses :class:`~bitnets_tf.training.layerwise.LayerwiseTrainer`: layer k trains
on the frozen prefix's outputs, recomputed batch by batch in the tf.data pipeline, so memory is
one window of patches, independent of the dataset size.

Background: the bitnets README (greedy layer-wise, search-based training of binary layers);
error-correcting output codes, Dietterich & Bakiri 1995, https://arxiv.org/abs/cs/9501101;
"Local Learning with Neuron Groups"/"Greedy Layerwise Learning Can Scale to ImageNet",
https://arxiv.org/abs/1812.11446 (auxiliary heads).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import larq as lq
import numpy as np
import tensorflow as tf

from bitnets_tf import layers
from bitnets_tf._validation import check_choice, check_int_at_least, check_positive
from bitnets_tf.training.hamming_kmeans import hamming_kmeans, sample_patches
from bitnets_tf.training.layerwise import BlockStage, LayerwiseResult, LayerwiseTrainer

__all__ = [
    "BitFlipBlockTrainer",
    "BitFlipStep",
    "BitLayerState",
    "binary_conv_block",
    "code_head_factory",
    "fit_ridge_readout",
    "hadamard_codes",
    "train_gradient_free",
]


def hadamard_codes(num_classes: int, units: int) -> np.ndarray:
    """±1 code words, one row per class and one column per unit.

    Columns 1..N-1 of a Sylvester Hadamard matrix of order N = 2^ceil(log2(num_classes)) (at
    least 2), restricted to the first ``num_classes`` rows and repeated cyclically to
    ``units`` columns; the all-ones column 0 is skipped, so every column splits the classes.
    Distinct classes' code words differ in about half of the N-1 base columns.
    """
    num_classes = check_int_at_least("num_classes", num_classes, 2)
    units = check_int_at_least("units", units, 1)
    order = 2 ** max(1, math.ceil(math.log2(num_classes)))
    hadamard = np.ones((1, 1))
    while hadamard.shape[0] < order:
        hadamard = np.block([[hadamard, hadamard], [hadamard, -hadamard]])
    base = hadamard[:num_classes, 1:]
    return np.resize(base.T, (units, num_classes)).T.astype("float32")


def _parity_threshold(fan_in: int) -> float:
    """The threshold nearest 0 with the parity opposite to ``fan_in`` (so a - θ is never 0)."""
    return 0.0 if fan_in % 2 else 1.0


@dataclass
class BitFlipStep:
    """One window step: the objective before and after, and what was accepted."""

    objective_before: float
    objective_after: float
    bit_flips: int
    threshold_moves: int


OBJECTIVES = ("pooled", "margin")


class BitLayerState:
    r"""The ±1 weights, thresholds and offsets of one binary layer, and the exact window step.

    Two objectives, per unit u and example n with code bit :math:`t_{nu}`:

    - ``"margin"``: :math:`\sum_{n,p} \max(0, m - t_{nu}(a_{npu} - \theta_u))` over every
      output position p (m in units of sqrt(fan-in)); the default for dense layers.
    - ``"pooled"``: :math:`\sum_n \max(0, m - t_{nu}(\bar s_{nu} - c_u))` with
      :math:`\bar s_{nu}` the mean of :math:`\mathrm{sign}(a_{npu} - \theta_u)` over positions
      and a learned offset :math:`c_u` (m in [0, 1]): the unit must fire more often than
      usual on the classes whose bit is +1 — what the code head reads after global pooling.
      The default for convolutions, where a single position rarely sees the class. A flip of
      bit k changes :math:`\bar s` only where :math:`a - \theta = \pm 1`, so its exact effect
      is :math:`\Delta s_{nku} = \sum_p (E^-_{npu} - E^+_{npu}) - W_{ku}\sum_p x_{npk}
      (E^+_{npu} + E^-_{npu})`, one batched product.

    Args:
        layer: a built :class:`bitnets_tf.layers.QuantConv2D` (``padding="valid"``, or
            ``"same"`` with ``pad_values=1.0``; dilation 1) or ``QuantDense``, with a bias.
        codes: ±1 targets, shape (num_classes, units).
        objective: ``"pooled"`` or ``"margin"``; None picks by layer type.
        margin: m (see above); None picks 0.5 (margin, ×sqrt(fan-in)) or 0.25 (pooled).
        group_size: how many of a unit's best single flips are also tried together.
        seed: for the random ±1 initial weights.
    """

    def __init__(
        self,
        layer: tf.keras.layers.Layer,
        codes: np.ndarray,
        objective: str | None = None,
        margin: float | None = None,
        group_size: int = 4,
        seed: int = 0,
    ):
        _check_trainable_binary_layer(layer)
        self.layer = layer
        self.is_dense = isinstance(layer, tf.keras.layers.Dense)
        kernel_shape = layer.kernel.shape
        self.units = int(kernel_shape[-1])
        self.fan_in = int(np.prod(kernel_shape[:-1]))
        if codes.shape[1] != self.units:
            raise ValueError(f"`codes` has {codes.shape[1]} columns for {self.units} units.")
        self.codes = tf.constant(codes, tf.float32)
        if objective is None:
            objective = "margin" if self.is_dense else "pooled"
        self.objective_kind = check_choice("objective", objective, OBJECTIVES)
        if self.objective_kind == "margin":
            scale = 0.5 if margin is None else check_positive("margin", margin)
            self.margin = float(max(1, round(scale * self.fan_in**0.5)))
        else:
            self.margin = 0.25 if margin is None else check_positive("margin", margin)
        self.group_size = min(check_int_at_least("group_size", group_size, 1), self.fan_in)
        rng = np.random.default_rng(seed)
        initial = rng.choice([-1.0, 1.0], size=(self.fan_in, self.units)).astype("float32")
        self.weights = tf.Variable(initial, trainable=False)
        self.thresholds = tf.Variable(
            np.full(self.units, _parity_threshold(self.fan_in), "float32"), trainable=False
        )
        self.offsets = tf.Variable(np.zeros(self.units, "float32"), trainable=False)

    # -- data --------------------------------------------------------------------------

    def patches(self, features: tf.Tensor) -> tf.Tensor:
        """The layer's ±1 input patches: shape (examples, positions, fan_in)."""
        binary = lq.math.sign(features)
        if self.is_dense:
            return tf.reshape(binary, [-1, 1, self.fan_in])
        if self.layer.padding == "same":
            binary = tf.pad(binary, self.layer._get_padding_same(binary), constant_values=1.0)
        kernel_h, kernel_w = self.layer.kernel_size
        patches = tf.image.extract_patches(
            binary,
            sizes=[1, kernel_h, kernel_w, 1],
            strides=[1, *self.layer.strides, 1],
            rates=[1, 1, 1, 1],
            padding="VALID",
        )
        return tf.reshape(patches, [tf.shape(patches)[0], -1, self.fan_in])

    def targets(self, labels: tf.Tensor) -> tf.Tensor:
        """Each example's code word: shape (examples, units)."""
        return tf.gather(self.codes, tf.cast(tf.reshape(labels, [-1]), tf.int32))

    # -- objective and step ---------------------------------------------------------------

    def preactivations(self, patches: tf.Tensor, weights: tf.Tensor | None = None) -> tf.Tensor:
        weights = self.weights if weights is None else weights
        return tf.einsum("npk,ku->npu", patches, weights)

    def unit_losses(
        self, preactivations: tf.Tensor, targets: tf.Tensor, threshold_shift=0.0, offset_shift=0.0
    ) -> tf.Tensor:
        """The objective per unit (float64 sums) for given pre-activations and shifts."""
        centred = preactivations - (self.thresholds + threshold_shift)
        if self.objective_kind == "margin":
            margins = targets[:, None, :] * centred
            return tf.reduce_sum(tf.cast(tf.nn.relu(self.margin - margins), tf.float64), [0, 1])
        pooled = tf.reduce_mean(tf.sign(centred), axis=1)
        margins = targets * (pooled - (self.offsets + offset_shift))
        return tf.reduce_sum(tf.cast(tf.nn.relu(self.margin - margins), tf.float64), axis=0)

    def objective(self, patches: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        """The objective on a window."""
        return tf.reduce_sum(self.unit_losses(self.preactivations(patches), targets))

    def _single_flip_changes(self, patches, preactivations, targets, losses) -> tf.Tensor:
        """Exact objective change of every single-bit flip, shape (fan_in, units)."""
        centred = preactivations - self.thresholds
        if self.objective_kind == "margin":
            margins = targets[:, None, :] * centred
            up = -tf.clip_by_value(self.margin - margins, 0.0, 2.0)  # h(z + 2) - h(z)
            down = tf.clip_by_value(self.margin - margins + 2.0, 0.0, 2.0)  # h(z - 2) - h(z)
            constant = tf.reduce_sum(tf.cast((up + down) / 2.0, tf.float64), axis=[0, 1])
            signed = targets[:, None, :] * (up - down) / 2.0
            correlation = tf.cast(tf.einsum("npk,npu->ku", patches, signed), tf.float64)
            return constant - tf.cast(self.weights, tf.float64) * correlation
        positions = tf.cast(tf.shape(preactivations)[1], tf.float32)
        at_plus = tf.cast(tf.equal(centred, 1.0), tf.float32)
        at_minus = tf.cast(tf.equal(centred, -1.0), tf.float32)
        base = tf.reduce_sum(at_minus - at_plus, axis=1)  # (n, u)
        flippable = tf.einsum("npk,npu->nku", patches, at_plus + at_minus)
        change = 2.0 * (base[:, None, :] - self.weights[None] * flippable) / positions
        pooled = tf.reduce_mean(tf.sign(centred), axis=1)
        margins = targets * (pooled - self.offsets)
        new_margins = margins[:, None, :] + targets[:, None, :] * change / 2.0
        hinge = tf.nn.relu(self.margin - new_margins) - tf.nn.relu(self.margin - margins)[:, None]
        return tf.reduce_sum(tf.cast(hinge, tf.float64), axis=0)

    @tf.function(reduce_retracing=True)
    def step(self, patches: tf.Tensor, targets: tf.Tensor):
        """Propose, score exactly and accept per unit; returns (before, after, flips, moves)."""
        preactivations = self.preactivations(patches)
        losses = self.unit_losses(preactivations, targets)
        single = self._single_flip_changes(patches, preactivations, targets, losses)

        best_single = tf.reduce_min(single, axis=0)
        best_bit = tf.argmin(single, axis=0, output_type=tf.int32)
        _, group_bits = tf.math.top_k(-tf.transpose(single), k=self.group_size)
        in_group = tf.reduce_any(
            tf.equal(tf.range(self.fan_in)[:, None, None], group_bits[None]), axis=-1
        )
        group_mask = tf.cast(in_group & (single < 0.0), tf.float32)  # only improving bits
        grouped = self.preactivations(patches, self.weights * (1.0 - 2.0 * group_mask))
        offset_step = 0.05 if self.objective_kind == "pooled" else 0.0
        proposals = tf.stack(
            [
                best_single,
                self.unit_losses(grouped, targets) - losses,
                self.unit_losses(preactivations, targets, threshold_shift=2.0) - losses,
                self.unit_losses(preactivations, targets, threshold_shift=-2.0) - losses,
                self.unit_losses(preactivations, targets, offset_shift=offset_step) - losses,
                self.unit_losses(preactivations, targets, offset_shift=-offset_step) - losses,
            ]
        )
        choice = tf.argmin(proposals, axis=0, output_type=tf.int32)
        change = tf.reduce_min(proposals, axis=0)
        accept = change < -1e-6

        def taken(kind: int) -> tf.Tensor:
            return tf.cast(accept & tf.equal(choice, kind), tf.float32)

        single_mask = tf.transpose(tf.one_hot(best_bit, self.fan_in))
        flips = single_mask * taken(0) + group_mask * taken(1)
        self.weights.assign(self.weights * (1.0 - 2.0 * flips))
        self.thresholds.assign_add(2.0 * (taken(2) - taken(3)))
        self.offsets.assign_add(offset_step * (taken(4) - taken(5)))
        before = tf.reduce_sum(losses)
        after = before + tf.reduce_sum(tf.where(accept, change, tf.zeros_like(change)))
        moves = tf.reduce_sum(taken(2) + taken(3) + taken(4) + taken(5))
        return before, after, tf.reduce_sum(flips), moves

    # -- Keras layers --------------------------------------------------------------------

    def write_to(self, head: tf.keras.layers.Layer) -> None:
        """Kernel = the ±1 weights (latent values exactly ±1), bias = -θ; the head's bias
        = -Σ_u t_cu c_u, so its scores are Σ_u t_cu (s̄_u - c_u)."""
        kernel = self.weights.numpy().reshape(self.layer.kernel.shape)
        self.layer.kernel.latent_variable.assign(kernel)
        self.layer.bias.assign(-self.thresholds.numpy())
        decode = head.layers[0]
        decode.bias.assign(-(self.codes.numpy() @ self.offsets.numpy()))


def _check_trainable_binary_layer(layer: tf.keras.layers.Layer) -> None:
    is_conv = isinstance(layer, layers.QuantConv2D)
    if not (is_conv or isinstance(layer, layers.QuantDense)):
        raise ValueError(
            "Gradient-free training needs a bitnets_tf.layers.QuantConv2D or QuantDense, got "
            f"{type(layer).__name__}."
        )
    quantizers = (layer.input_quantizer, layer.kernel_quantizer)
    if any(getattr(q, "precision", None) != 1 for q in quantizers):
        raise ValueError(
            f"Layer {layer.name!r} must have binary input and kernel quantizers (e.g. "
            "'ste_sign') for gradient-free training."
        )
    if not layer.use_bias:
        raise ValueError(f"Layer {layer.name!r} needs use_bias=True: the bias holds -θ.")
    if is_conv and (
        tuple(layer.dilation_rate) != (1, 1)
        or (layer.padding == "same" and float(layer.pad_values) != 1.0)
        or layer.padding not in ("valid", "same")
    ):
        raise ValueError(
            f"Layer {layer.name!r}: gradient-free training supports dilation 1 and padding "
            "'valid' or 'same' with pad_values=1.0 (±1 inputs everywhere)."
        )


def _split_block(block: tf.keras.layers.Layer):
    """``(preprocess, layer)``: the binary layer a block ends with, and a function applying the
    block's layers before it (e.g. a max-pool) to the block's input."""
    if isinstance(block, (layers.QuantConv2D, layers.QuantDense)):
        return (lambda x: x), block
    children = list(getattr(block, "layers", []))
    binary = [
        i for i, c in enumerate(children) if isinstance(c, (layers.QuantConv2D, layers.QuantDense))
    ]
    if len(binary) != 1 or binary[0] != len(children) - 1:
        raise ValueError(
            f"Block {block.name!r} must end with its only QuantConv2D/QuantDense to be trained "
            "without gradients (the block's output is what its head and objective see)."
        )

    def preprocess(x: tf.Tensor) -> tf.Tensor:
        for child in children[:-1]:
            x = child(x, training=False)
        return x

    return preprocess, children[-1]


def binary_conv_block(
    filters: int, kernel_size: int = 3, pool_input: bool = False, name: str | None = None
) -> tf.keras.Sequential:
    """An optional 2×2 max-pool of the input, then a binary convolution (±1 in, ±1 weights,
    bias = -θ).

    The block outputs ``a - θ``, exactly what its auxiliary head and the trainer's objective
    see; the next block (pool, then its input quantizer's sign) binarizes it. Max-pooling
    before the sign equals OR-pooling the bits; LCE runs it as LceBMaxPool2d.
    """
    block_layers = [tf.keras.layers.MaxPool2D()] if pool_input else []
    block_layers.append(
        layers.QuantConv2D(
            filters,
            kernel_size,
            input_quantizer="ste_sign",
            kernel_quantizer="ste_sign",
            kernel_constraint="weight_clip",
            use_bias=True,
        )
    )
    return tf.keras.Sequential(block_layers, name=name)


def code_head_factory(num_classes: int):
    """``head_factory`` for :class:`LayerwiseTrainer`: decode by code-word agreement.

    The head is a fixed ±1 1×1 binary convolution whose kernel is :func:`hadamard_codes`
    (one output per class), then a global average pool; for rank-2 features a QuantDense.
    Its bias holds the trainer's per-unit offsets (see :meth:`BitLayerState.write_to`).
    """

    def factory(index: int, feature_shape: tf.TensorShape) -> tf.keras.layers.Layer:
        units = int(feature_shape[-1])
        codes = hadamard_codes(num_classes, units)
        binary = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign")
        if len(feature_shape) == 1:
            decode = layers.QuantDense(
                num_classes, kernel_initializer=tf.constant_initializer(codes.T), **binary
            )
            return tf.keras.Sequential([decode], name=f"code_head_{index}")
        decode = layers.QuantConv2D(
            num_classes,
            1,
            kernel_initializer=tf.constant_initializer(codes.T.reshape(1, 1, units, -1)),
            **binary,
        )
        pool = tf.keras.layers.GlobalAveragePooling2D()
        return tf.keras.Sequential([decode, pool], name=f"code_head_{index}")

    return factory


def _head_codes(head: tf.keras.layers.Layer) -> np.ndarray:
    with lq.context.quantized_scope(False):
        kernel = head.layers[0].kernel.numpy()
    return np.sign(kernel.reshape(-1, kernel.shape[-1])).T.astype("float32")


class BitFlipBlockTrainer:
    """A ``block_trainer`` for :class:`LayerwiseTrainer` that trains without gradients.

    Per epoch it streams the block's input features, collects ``window_batches`` minibatches
    of ±1 patches and applies :meth:`BitLayerState.step` to each window. The head's code words
    are the targets. Keras callbacks get ``on_train_begin``, ``on_epoch_end(logs)`` and
    ``on_train_end`` with ``objective`` (the mean objective per unit and example), ``bit_flips``,
    ``threshold_moves`` and, with validation data, ``val_accuracy``.

    Args:
        objective, margin, group_size: see :class:`BitLayerState`.
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


_READOUT_ROWS_PER_UPDATE = 4096


def _row_chunks(features: tf.data.Dataset, num_classes: int, rows: int):
    """``(X̃, Y)`` for about ``rows`` examples at a time: flattened features with a column of
    ones appended, and ±1 one-hot targets."""
    xs, ys, count = [], [], 0
    for batch in features:
        x = tf.cast(tf.reshape(batch[0], [tf.shape(batch[0])[0], -1]), tf.float32)
        xs.append(tf.concat([x, tf.ones_like(x[:, :1])], axis=1))
        labels = tf.cast(tf.reshape(batch[1], [-1]), tf.int32)
        ys.append(2.0 * tf.one_hot(labels, num_classes) - 1.0)
        count += int(x.shape[0])
        if count >= rows:
            yield tf.concat(xs, 0), tf.concat(ys, 0)
            xs, ys, count = [], [], 0
    if xs:
        yield tf.concat(xs, 0), tf.concat(ys, 0)


def fit_ridge_readout(
    features: tf.data.Dataset, num_classes: int, l2: float = 100.0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Least-squares readout from streamed ±1 features, without gradients.

    Accumulates :math:`G = \tilde X^\top \tilde X` and :math:`B = \tilde X^\top Y` batch by
    batch (:math:`\tilde X = [X, 1]`, :math:`Y` = ±1 one-hot targets) and solves the ridge
    normal equations :math:`(G + \lambda I)\,[W; b] = B`. Memory is O(d²) for d features,
    independent of the number of examples; time is linear in it.

    Returns:
        ``(kernel, bias)`` of shapes (d, num_classes) and (num_classes,).
    """
    check_positive("l2", l2)
    gram = moments = None
    for x, y in _row_chunks(features, num_classes, _READOUT_ROWS_PER_UPDATE):
        # A chunk's sums of ±1 products are integers of at most the chunk's rows, exact in
        # float32; the running sums are float64, added in place once per chunk, so memory is
        # one float64 d×d matrix plus one float32 one (the Gram matrix dominates for wide
        # feature maps) and the d×d additions stay few.
        chunk_gram = tf.matmul(x, x, transpose_a=True).numpy()
        chunk_moments = tf.matmul(x, y, transpose_a=True).numpy()
        if gram is None:
            gram, moments = chunk_gram.astype(np.float64), chunk_moments.astype(np.float64)
        else:
            gram += chunk_gram
            moments += chunk_moments
    if gram is None:
        raise ValueError("The dataset is empty: nothing to fit the readout on.")
    diagonal = np.arange(gram.shape[0] - 1)  # the bias (last row and column) is not regularised
    gram[diagonal, diagonal] += l2
    solution = np.linalg.solve(gram, moments)
    return solution[:-1].astype("float32"), solution[-1].astype("float32")


def train_gradient_free(
    dataset: tf.data.Dataset,
    num_classes: int,
    filters: Sequence[int] = (64, 128),
    pool: Sequence[bool] | None = None,
    epochs_per_block: int | Sequence[int] = 1,
    validation_data: tf.data.Dataset | None = None,
    readout_l2: float | None = 100.0,
    readout_pool: int = 2,
    **trainer_options,
) -> LayerwiseResult:
    """Greedy gradient-free training of a binary ConvNet; returns the assembled Keras model.

    The blocks are ``binary 3×3 conv → [(2×2 max-pool →) binary 3×3 conv] × …``: binary inputs
    (the image is binarized by the first layer's sign) and ±1 weights, each trained bit by bit
    against its code head (:class:`BitFlipBlockTrainer` in a :class:`LayerwiseTrainer`).
    The classifier on top is, by default, a least-squares readout (:func:`fit_ridge_readout`)
    on the signs of the last block's max-pooled (``readout_pool``), flattened output — a
    ``QuantDense`` with a binary input quantizer and real weights, fitted from accumulated
    statistics; with ``readout_l2=None`` it is the last block's code head (every layer
    binary). The result is an ordinary Keras model: it saves, converts and runs like any other.

    Args:
        dataset: batched ``(images, labels)``.
        num_classes: classes (>= 2).
        filters: output channels of each binary convolution.
        pool: whether each block after the first max-pools its input (default: all do).
        epochs_per_block: passes over the data per block.
        validation_data: for ``val_accuracy`` in each block's history.
        readout_l2: ridge strength of the readout, or None for the code head.
        readout_pool: size (and stride) of the max-pool before the readout. The readout reads
            ``C · (H // p) · (W // p)`` signs of the last block's ``H×W×C`` output; its
            memory is that squared (float64), its time that squared times the examples.
        **trainer_options: for :class:`BitFlipBlockTrainer`.
    """
    readout_pool = check_int_at_least("readout_pool", readout_pool, 1)
    pool = [True] * (len(filters) - 1) if pool is None else list(pool)
    if len(pool) != len(filters) - 1:
        raise ValueError(
            f"`pool` has {len(pool)} entries for the {len(filters) - 1} blocks after the first."
        )
    blocks = [
        binary_conv_block(
            check_int_at_least("filters", count, 1),
            pool_input=index > 0 and pool[index - 1],
            name=f"bitflip_block_{index}",
        )
        for index, count in enumerate(filters)
    ]
    trainer = LayerwiseTrainer(
        blocks,
        code_head_factory(num_classes),
        block_trainer=BitFlipBlockTrainer(**trainer_options),
    )
    result = trainer.fit(dataset, epochs_per_block, validation_data=validation_data)
    if readout_l2 is None:
        return result
    return LayerwiseResult(
        _with_ridge_readout(trainer, dataset, num_classes, readout_l2, readout_pool),
        result.histories,
    )


def _with_ridge_readout(
    trainer: LayerwiseTrainer,
    dataset: tf.data.Dataset,
    num_classes: int,
    l2: float,
    pool_size: int,
) -> tf.keras.Model:
    pool, flatten = tf.keras.layers.MaxPool2D(pool_size), tf.keras.layers.Flatten()

    def binary_features(x, y, *rest):
        return lq.math.sign(flatten(pool(x))), y

    features = trainer.prefix_features(dataset, len(trainer.blocks)).map(binary_features)
    kernel, bias = fit_ridge_readout(features, num_classes, l2)
    inputs = tf.keras.Input(dataset.element_spec[0].shape[1:])
    x = inputs
    for block in trainer.blocks:
        x = block(x)
    readout = layers.QuantDense(num_classes, input_quantizer="ste_sign", name="ridge_readout")
    outputs = readout(flatten(pool(x)))
    readout.set_weights([kernel, bias])
    return tf.keras.Model(inputs, outputs, name="gradient_free_convnet")
