r"""Bit state and exact objective of one binary layer trained without gradients.

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
exactly. :meth:`BitLayerState.write_to` stores the state in an ordinary
:class:`bitnets_tf.layers.QuantConv2D` / ``QuantDense`` (±1 kernel, bias ``-θ``).

Background: error-correcting output codes, Dietterich & Bakiri 1995,
https://arxiv.org/abs/cs/9501101.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import larq as lq
import numpy as np
import tensorflow as tf

from bitnets_tf import layers
from bitnets_tf._validation import check_choice, check_int_at_least, check_positive
from bitnets_tf.introspect import has_binary_inputs_and_kernel

__all__ = ["OBJECTIVES", "BitFlipStep", "BitLayerState", "hadamard_codes"]


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
    if not has_binary_inputs_and_kernel(layer):
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
