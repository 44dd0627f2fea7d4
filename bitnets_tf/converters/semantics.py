r"""What a layer computes at inference, in the terms the converters need.

Discrete activations are *staircases*: sums of equally weighted ±1 steps,

.. math:: q(x) = w \sum_p s_p(x), \qquad s_p(x) = \begin{cases} +1 & x \ge \theta_p
          \text{ (inclusive) or } x > \theta_p \text{ (exclusive)} \\ -1 & \text{otherwise}
          \end{cases}

- sign (larq's ``sign(0) = +1``; ``ste_sign``, ``approx_sign``, ``swish_sign``, BinaryNet's
  stochastic sign at inference): one inclusive step at 0, ``w = 1``.
- ReActNet's RSign: one inclusive step at the per-channel ``α``.
- larq's ``ste_tern(t)`` = ``sign(sign(x+t) + sign(x-t))``: +1 for ``x ≥ t``, -1 for
  ``x ≤ -t``, else 0 — steps at ``t`` (inclusive) and ``-t`` (exclusive), ``w = 1/2``.
- bitnets' ``ternary_activation(Δ)``: +1 for ``x > Δ``, -1 for ``x < -Δ`` — steps at ``Δ``
  (exclusive) and ``-Δ`` (inclusive), ``w = 1/2``.

Quantized kernels are classified from their values: per output channel ``c`` the kernel is
``s_c · n`` with ``n ∈ {-1, +1}`` (binary: BinaryNet, XNOR-Net, Bi-Real's magnitude-aware sign)
or ``n ∈ {-1, 0, +1}`` (ternary: TWN, ``ste_tern``), or anything else (float / k-bit).
"""

from __future__ import annotations

from dataclasses import dataclass

import larq as lq
import numpy as np
import tensorflow as tf

from bitnets_tf import quantizers as ours

_SIGN_QUANTIZERS = (
    lq.quantizers.SteSign,
    lq.quantizers.ApproxSign,
    lq.quantizers.SwishSign,
    ours.StochasticSign,
)
_SIGN_FUNCTIONS = (lq.quantizers.ste_sign, lq.quantizers.approx_sign, lq.quantizers.swish_sign)
_LINEAR_KINDS = (
    (lq.layers.QuantDepthwiseConv2D, "depthwise"),
    (tf.keras.layers.DepthwiseConv2D, "depthwise"),
    (lq.layers.QuantConv2D, "conv"),
    (lq.layers.QuantDense, "dense"),
    (tf.keras.layers.Conv2D, "conv"),
    (tf.keras.layers.Dense, "dense"),
)
_PASSED_THROUGH = (
    tf.keras.layers.Conv2DTranspose,
    tf.keras.layers.SeparableConv2D,
    tf.keras.layers.Conv1D,
    tf.keras.layers.Conv3D,
)
_UNIT_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Step:
    """One ±1 step of a staircase: +1 where ``x ≥ threshold`` (inclusive) or
    ``x > threshold`` (exclusive). ``threshold`` is a scalar or one value per channel."""

    threshold: np.ndarray
    inclusive: bool


@dataclass(frozen=True)
class Staircase:
    """A discrete activation ``q(x) = weight · Σ_p s_p(x)`` (see the module docstring)."""

    name: str
    steps: tuple[Step, ...]
    weight: float

    @property
    def levels(self) -> int:
        return len(self.steps) + 1


def _binary(threshold) -> Staircase:
    return Staircase("binary", (Step(np.asarray(threshold, np.float64), True),), 1.0)


def _ternary(threshold: float, upper_inclusive: bool) -> Staircase:
    upper = Step(np.asarray(threshold, np.float64), upper_inclusive)
    lower = Step(np.asarray(-threshold, np.float64), not upper_inclusive)
    return Staircase("ternary", (upper, lower), 0.5)


def activation_staircase(quantizer) -> Staircase | None:
    """The staircase an input quantizer (or a quantizer used as a layer) computes at
    inference, or None if it is not one (float, k-bit, Heaviside, dynamic thresholds)."""
    if quantizer is None:
        return None
    if isinstance(quantizer, _SIGN_QUANTIZERS) or quantizer in _SIGN_FUNCTIONS:
        return _binary(0.0)
    if isinstance(quantizer, ours.RSign):
        if not quantizer.built:
            return None
        return _binary(tf.keras.backend.get_value(quantizer.alpha))
    if isinstance(quantizer, lq.quantizers.SteTern) and not quantizer.ternary_weight_networks:
        return _ternary(float(quantizer.threshold_value), upper_inclusive=True)
    if quantizer is lq.quantizers.ste_tern:
        return _ternary(0.05, upper_inclusive=True)
    if isinstance(quantizer, ours.TernaryActivation):
        return _ternary(quantizer.threshold, upper_inclusive=False)
    return None


def quantizer_name(quantizer) -> str:
    """A short name for reports: the alias-like class or function name, or ``"-"``."""
    if quantizer is None:
        return "-"
    return getattr(quantizer, "__name__", type(quantizer).__name__)


@dataclass(frozen=True)
class KernelLevels:
    """A quantized kernel ``s_c · n`` (binary/ternary) or ``kind == "float"``.

    ``unit`` is ``n`` (kernel divided by the per-output-channel ``scale``); both are None for
    float kernels. For depthwise kernels the output channel is the pair of the last two axes.
    """

    kind: str
    kernel: np.ndarray
    scale: np.ndarray | None
    unit: np.ndarray | None


def _output_channel_view(kernel: np.ndarray, kind: str) -> np.ndarray:
    """The kernel as (fan_in, output_channels)."""
    if kind == "depthwise":
        kh, kw, channels, multiplier = kernel.shape
        return kernel.reshape(kh * kw, channels * multiplier)
    return kernel.reshape(-1, kernel.shape[-1])


def classify_kernel(kernel: np.ndarray, kind: str) -> KernelLevels:
    """Classify ``kernel`` (already quantized) as binary, ternary or float."""
    view = _output_channel_view(np.asarray(kernel, np.float64), kind)
    scale = np.abs(view).max(axis=0)
    safe = np.where(scale > 0, scale, 1.0)
    unit = view / safe
    magnitude = np.abs(unit)
    on_levels = (magnitude < _UNIT_TOLERANCE) | (np.abs(magnitude - 1.0) < _UNIT_TOLERANCE)
    if not on_levels.all():
        return KernelLevels("float", np.asarray(kernel), None, None)
    unit = np.round(unit)
    kind_name = "binary" if (unit != 0).all() else "ternary"
    return KernelLevels(kind_name, np.asarray(kernel), scale, unit.reshape(kernel.shape))


def quantized_kernel(layer) -> np.ndarray:
    """The kernel exactly as the layer uses it at inference (after its kernel quantizer)."""
    attribute = "depthwise_kernel" if hasattr(layer, "depthwise_kernel") else "kernel"
    with lq.context.quantized_scope(True):
        return tf.convert_to_tensor(getattr(layer, attribute)).numpy()


@dataclass(frozen=True)
class LinearLayer:
    """A convolution or dense layer as the converters see it."""

    layer: tf.keras.layers.Layer
    kind: str  # "conv", "depthwise" or "dense"
    input_staircase: Staircase | None
    input_quantizer: str
    kernel: KernelLevels
    activation_scaling: bool
    macs: int

    @property
    def is_binary(self) -> bool:
        """Binary activations and binary (optionally per-channel scaled) weights."""
        return (
            self.input_staircase is not None
            and self.input_staircase.name == "binary"
            and self.kernel.kind == "binary"
        )

    @property
    def precision(self) -> str:
        activation = self.input_staircase.name if self.input_staircase else "float"
        if self.input_staircase is None and self.input_quantizer != "-":
            activation = self.input_quantizer
        return f"{activation} act / {self.kernel.kind} w"


def batch_norm_affine(layer, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` with ``BN(x) = a x + b`` at inference (Ioffe & Szegedy 2015, Alg. 2)."""
    if layer is None:
        return np.ones(channels), np.zeros(channels)
    variance = tf.keras.backend.get_value(layer.moving_variance).astype(np.float64)
    mean = tf.keras.backend.get_value(layer.moving_mean).astype(np.float64)
    gamma = tf.keras.backend.get_value(layer.gamma).astype(np.float64) if layer.scale else 1.0
    beta = tf.keras.backend.get_value(layer.beta).astype(np.float64) if layer.center else 0.0
    a = gamma / np.sqrt(variance + layer.epsilon)
    return np.broadcast_to(a, (channels,)), np.broadcast_to(beta - a * mean, (channels,))


def padding_value(layer) -> float:
    """The value a convolution pads its (quantized) input with: 0 unless it is a larq layer
    with ``padding="same"`` and ``pad_values`` set; 0 for valid padding."""
    if str(getattr(layer, "padding", "valid")).lower() != "same":
        return 0.0
    return float(tf.keras.backend.get_value(getattr(layer, "pad_values", 0.0)))


def linear_kind(layer) -> str | None:
    """``"conv"``, ``"depthwise"`` or ``"dense"`` for the layers the converters lower, else
    None (separable, transposed, 1-D and 3-D convolutions are passed through as they are)."""
    if isinstance(layer, _PASSED_THROUGH):
        return None
    for cls, kind in _LINEAR_KINDS:
        if isinstance(layer, cls):
            return kind
    return None


def describe_linear(layer, output_shape: tuple) -> LinearLayer | None:
    """A :class:`LinearLayer` for convolution/dense layers, None for everything else.

    ``output_shape`` is the layer's output shape in the model (batch axis included).
    """
    kind = linear_kind(layer)
    if kind is None or not layer.built:
        return None
    quantizer = getattr(layer, "input_quantizer", None)
    kernel = classify_kernel(quantized_kernel(layer), kind)
    positions = int(np.prod([d for d in output_shape[1:-1] if d is not None] or [1]))
    return LinearLayer(
        layer=layer,
        kind=kind,
        input_staircase=activation_staircase(quantizer),
        input_quantizer=quantizer_name(quantizer),
        kernel=kernel,
        activation_scaling=bool(getattr(layer, "activation_scaling", False)),
        # multiply-accumulates per sample: output positions × kernel size (fan-in × outputs)
        macs=positions * int(np.prod(kernel.kernel.shape)),
    )
