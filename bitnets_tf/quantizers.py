r"""Quantizers for binary, ternary and k-bit networks.

Each quantizer is a ``tf.custom_gradient`` function (forward value and pseudo-gradient) beside a
registered, serializable larq ``Quantizer`` class with a string alias, so it can be passed as
``kernel_quantizer="alias"`` / ``input_quantizer="alias"`` to larq's and our Quant* layers and a
model using it saves and loads without ``custom_objects``.

larq's quantizers are re-exported unchanged where larq already has the method:
``SteSign`` (BinaryNet, ``"ste_sign"``), ``ApproxSign`` (Bi-Real, ``"approx_sign"``),
``SwishSign`` (BNN+, ``"swish_sign"``), ``MagnitudeAwareSign`` (Bi-Real,
``"magnitude_aware_sign"``), ``SteTern`` (``"ste_tern"``), ``SteHeaviside``, ``NoOp``.
``DoReFa`` is larq's with argument checks added.
"""

from __future__ import annotations

from collections.abc import Callable

import larq as lq
import tensorflow as tf
from larq.quantizers import (
    ApproxSign,
    MagnitudeAwareSign,
    NoOp,
    Quantizer,
    SteHeaviside,
    SteSign,
    SteTern,
    SwishSign,
    approx_sign,
    ste_sign,
    ste_tern,
    swish_sign,
)

from bitnets_tf._validation import (
    check_choice,
    check_int_at_least,
    check_non_negative,
    check_optional_positive,
    check_positive,
)
from bitnets_tf.serialization import register

__all__ = [
    "TTQ",
    "ApproxSign",
    "DoReFa",
    "MagnitudeAwareSign",
    "NoOp",
    "QnnLinear",
    "Quantizer",
    "RSign",
    "SteHeaviside",
    "SteSign",
    "SteTern",
    "StochasticSign",
    "SwishSign",
    "TernaryActivation",
    "TwnTernary",
    "XnorWeightScale",
    "approx_sign",
    "available_quantizers",
    "get",
    "qnn_linear",
    "rsign",
    "ste_sign",
    "ste_tern",
    "stochastic_sign",
    "swish_sign",
    "ternary_activation",
    "ttq",
    "twn_ternary",
    "validate",
    "xnor_weight_scale",
]

# larq's private base adds the flip-ratio metric and hides metric variables from the layer's
# weights, exactly as for larq's own quantizers (Bop and lq.models.summary rely on `precision`).
_BaseQuantizer = lq.quantizers._BaseQuantizer


def _clipped_gradient(x: tf.Tensor, dy: tf.Tensor, clip_value: float | None) -> tf.Tensor:
    """``dy · 1{|x| <= clip_value}`` (plain ``dy`` when ``clip_value`` is None)."""
    if clip_value is None:
        return dy
    return tf.where(tf.abs(x) <= clip_value, dy, tf.zeros_like(dy))


def _output_channel_axes(x: tf.Tensor) -> list[int]:
    """All axes but the last: the reduction axes for a per-output-channel statistic."""
    return list(range(x.shape.rank - 1))


# --------------------------------------------------------------------------------------------
# BinaryNet stochastic sign
# --------------------------------------------------------------------------------------------


def stochastic_sign(
    x: tf.Tensor, training: bool | tf.Tensor = False, clip_value: float | None = 1.0
) -> tf.Tensor:
    r"""Stochastic binarization of BinaryNet (Courbariaux et al. 2016, eq. 2).

    While training, each element is sampled independently:

    .. math:: q(x) = +1 \text{ with probability } p = \sigma(x)
              = \mathrm{clip}(\tfrac{x+1}{2}, 0, 1), \quad -1 \text{ with probability } 1 - p

    so that E[q(x)] = 2p - 1 = clip(x, -1, 1). At inference ``q(x) = sign(x)`` (with sign(0) = +1,
    larq's convention, which LCE converts to a bitpacked op). The gradient is the
    straight-through estimator ``∂q/∂x = 1{|x| <= clip_value}``.

    Paper: "Binarized Neural Networks: Training Deep Neural Networks with Weights and
    Activations Constrained to +1 or -1", https://arxiv.org/abs/1602.02830
    """

    def sampled() -> tf.Tensor:
        @tf.custom_gradient
        def _call(x):
            probability = tf.clip_by_value((x + 1.0) / 2.0, 0.0, 1.0)
            uniform = tf.random.uniform(tf.shape(x), dtype=x.dtype)
            outputs = tf.where(uniform < probability, tf.ones_like(x), -tf.ones_like(x))
            return outputs, lambda dy: _clipped_gradient(x, dy, clip_value)

        return _call(x)

    return tf.__internal__.smart_cond.smart_cond(
        training, sampled, lambda: ste_sign(x, clip_value=clip_value)
    )


@register("stochastic_sign")
class StochasticSign(_BaseQuantizer):
    """Serializable :func:`stochastic_sign`: sampled ±1 while training, sign at inference.

    Args:
        clip_value: the STE passes gradients where ``|x| <= clip_value``; None passes all.
    """

    precision = 1

    def __init__(self, clip_value: float | None = 1.0, **kwargs):
        self.clip_value = check_optional_positive("clip_value", clip_value)
        super().__init__(**kwargs)

    def call(self, inputs, training=None):
        if training is None:
            training = tf.keras.backend.learning_phase()
        outputs = stochastic_sign(inputs, training=training, clip_value=self.clip_value)
        return super().call(outputs)

    def get_config(self):
        return {**super().get_config(), "clip_value": self.clip_value}


# --------------------------------------------------------------------------------------------
# XNOR-Net / BWN weight scaling
# --------------------------------------------------------------------------------------------


@tf.custom_gradient
def xnor_weight_scale(w: tf.Tensor) -> tf.Tensor:
    r"""XNOR-Net / BWN binary weights with a per-output-channel scale (Rastegari et al. 2016).

    .. math:: \tilde W = \alpha \, \mathrm{sign}(W), \qquad
              \alpha_c = \frac{1}{n} \lVert W_{\cdot, c} \rVert_{\ell 1}

    where the mean runs over all axes but the last (the output channel), ``n`` elements. The
    gradient is the paper's (Sec. 3.1, "Training Binary-Weights-Networks"):

    .. math:: \frac{\partial C}{\partial W_i} = \frac{\partial C}{\partial \tilde W_i}
              \left(\frac{1}{n} + \alpha\, 1\{|W_i| \le 1\}\right)

    The forward graph is ``scale * sign(W)`` with a per-channel constant scale after
    constant folding, the form larq-compute-engine folds into its bconv output multiplier.

    Paper: "XNOR-Net: ImageNet Classification Using Binary Convolutional Neural Networks",
    https://arxiv.org/abs/1603.05279
    """
    axes = _output_channel_axes(w)
    alpha = tf.reduce_mean(tf.abs(w), axis=axes)
    fan_in = tf.cast(tf.reduce_prod(tf.shape(w)[:-1]), w.dtype)

    def grad(dy):
        inside = tf.cast(tf.abs(w) <= 1.0, w.dtype)
        return dy * (1.0 / fan_in + alpha * inside)

    return alpha * lq.math.sign(w), grad


@register("xnor_weight_scale")
class XnorWeightScale(_BaseQuantizer):
    """Serializable :func:`xnor_weight_scale` (XNOR-Net/BWN per-channel scaled sign)."""

    precision = 1

    def call(self, inputs):
        return super().call(xnor_weight_scale(inputs))


# --------------------------------------------------------------------------------------------
# ReActNet RSign
# --------------------------------------------------------------------------------------------

_SIGN_GRADIENTS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "approx_sign": approx_sign,
    "ste_sign": ste_sign,
}


def rsign(x: tf.Tensor, alpha: tf.Tensor, gradient: str = "approx_sign") -> tf.Tensor:
    r"""ReActNet's RSign: a sign with a learnable per-channel threshold (Liu et al. 2020, eq. 3).

    .. math:: x^b = \mathrm{sign}(x - \alpha_c) = +1 \text{ if } x \ge \alpha_c
              \text{ else } -1

    The gradient through the sign is Bi-Real's ApproxSign
    (``2 - 2|x - α|`` for ``|x - α| <= 1``, else 0) or the STE (``gradient="ste_sign"``);
    ``∂x^b/∂α = -∂x^b/∂x``, summed over all positions of channel c.

    Paper: "ReActNet: Towards Precise Binary Neural Network with Generalized Activation
    Functions", https://arxiv.org/abs/2003.03488
    """
    check_choice("gradient", gradient, _SIGN_GRADIENTS)
    return _SIGN_GRADIENTS[gradient](x - alpha)


@register("rsign")
class RSign(_BaseQuantizer):
    """Serializable :func:`rsign` with a learnable per-channel threshold ``alpha``.

    A quantizer and a layer at once: use it as ``input_quantizer="rsign"`` on a binary
    convolution, or as a standalone layer ``RSign()(x)``. ``alpha`` has one entry per channel
    (the last axis) and starts at zero, where RSign equals sign.
    """

    precision = 1

    def __init__(self, gradient: str = "approx_sign", **kwargs):
        self.gradient = check_choice("gradient", gradient, _SIGN_GRADIENTS)
        super().__init__(**kwargs)

    def build(self, input_shape):
        channels = tf.TensorShape(input_shape)[-1]
        if channels is None:
            raise ValueError("RSign needs a known number of channels (the last input axis).")
        self.alpha = self.add_weight(
            name="alpha", shape=(channels,), initializer="zeros", trainable=True
        )
        super().build(input_shape)

    def call(self, inputs):
        return super().call(rsign(inputs, self.alpha, gradient=self.gradient))

    def get_config(self):
        return {**super().get_config(), "gradient": self.gradient}


# --------------------------------------------------------------------------------------------
# Ternary weights: TWN and TTQ
# --------------------------------------------------------------------------------------------


def twn_ternary(w: tf.Tensor, clip_value: float | None = None) -> tf.Tensor:
    r"""Ternary Weight Networks quantizer (Li, Zhang & Liu 2016, eqs. 9-10).

    .. math:: \Delta = 0.7 \cdot \frac{1}{n}\sum_i |W_i|, \qquad
              \alpha = \frac{1}{|I_\Delta|} \sum_{i \in I_\Delta} |W_i|,
              \quad I_\Delta = \{i : |W_i| > \Delta\}

    .. math:: \tilde W_i = \alpha \cdot \mathrm{sign}(W_i) \cdot 1\{|W_i| > \Delta\}

    Δ and α are computed over the whole tensor (one per layer, as in the paper). The gradient
    is the straight-through estimator ``∂W̃/∂W = 1`` (restricted to ``|W| <= clip_value`` when
    ``clip_value`` is given).

    Paper: "Ternary Weight Networks", https://arxiv.org/abs/1605.04711
    """

    @tf.custom_gradient
    def _call(w):
        magnitude = tf.abs(w)
        delta = 0.7 * tf.reduce_mean(magnitude)
        above = tf.cast(magnitude > delta, w.dtype)
        alpha = tf.math.divide_no_nan(tf.reduce_sum(magnitude * above), tf.reduce_sum(above))
        return alpha * tf.sign(w) * above, lambda dy: _clipped_gradient(w, dy, clip_value)

    return _call(w)


@register("twn_ternary")
class TwnTernary(_BaseQuantizer):
    """Serializable :func:`twn_ternary` (TWN: ``α · {-1, 0, +1}`` with Δ = 0.7·mean|W|).

    Args:
        clip_value: restrict the STE to ``|W| <= clip_value``; None (default) passes all.
    """

    precision = 2

    def __init__(self, clip_value: float | None = None, **kwargs):
        self.clip_value = check_optional_positive("clip_value", clip_value)
        super().__init__(**kwargs)

    def call(self, inputs):
        return super().call(twn_ternary(inputs, clip_value=self.clip_value))

    def get_config(self):
        return {**super().get_config(), "clip_value": self.clip_value}


def ttq(w: tf.Tensor, w_p: tf.Tensor, w_n: tf.Tensor, threshold: float = 0.05) -> tf.Tensor:
    r"""Trained Ternary Quantization (Zhu, Han, Mao & Dally 2017, eqs. 6-8).

    .. math:: \Delta = t \cdot \max_i |W_i|, \qquad
              W^t_i = \begin{cases} W_p & W_i > \Delta \\ 0 & |W_i| \le \Delta \\
                                   -W_n & W_i < -\Delta \end{cases}

    with trainable positive scales ``W_p, W_n``. Gradients (the paper's, with ``W_n`` stored as
    a positive number so that its sign appears explicitly):

    .. math:: \frac{\partial L}{\partial W_p} = \sum_{i \in I_p} \frac{\partial L}{\partial W^t_i},
              \qquad
              \frac{\partial L}{\partial W_n} = -\sum_{i \in I_n} \frac{\partial L}{\partial W^t_i}

    .. math:: \frac{\partial L}{\partial W_i} = \frac{\partial L}{\partial W^t_i} \cdot
              \begin{cases} W_p & W_i > \Delta \\ 1 & |W_i| \le \Delta \\
                            W_n & W_i < -\Delta \end{cases}

    Paper: "Trained Ternary Quantization", https://arxiv.org/abs/1612.01064
    """

    @tf.custom_gradient
    def _call(w, w_p, w_n):
        delta = threshold * tf.reduce_max(tf.abs(w))
        positive = tf.cast(w > delta, w.dtype)
        negative = tf.cast(w < -delta, w.dtype)
        middle = 1.0 - positive - negative

        def grad(dy):
            grad_w = dy * (w_p * positive + middle + w_n * negative)
            return grad_w, tf.reduce_sum(dy * positive), -tf.reduce_sum(dy * negative)

        return w_p * positive - w_n * negative, grad

    return _call(w, tf.convert_to_tensor(w_p), tf.convert_to_tensor(w_n))


@register("ttq")
class TTQ(_BaseQuantizer):
    """Serializable :func:`ttq` with trainable scales ``w_p`` and ``w_n`` (one each per layer).

    Use as a kernel quantizer; the scales become trainable weights of the layer.

    Args:
        threshold: the factor ``t`` of ``Δ = t · max|W|`` (the paper uses 0.05), in [0, 1).
        initial_scale: starting value of both scales, > 0.
    """

    precision = 2

    def __init__(self, threshold: float = 0.05, initial_scale: float = 1.0, **kwargs):
        self.threshold = check_non_negative("threshold", threshold)
        if self.threshold >= 1.0:
            raise ValueError(f"`threshold` must be in [0, 1), got {threshold!r}.")
        self.initial_scale = check_positive("initial_scale", initial_scale)
        super().__init__(**kwargs)

    def build(self, input_shape):
        initializer = tf.keras.initializers.Constant(self.initial_scale)
        self.w_p = self.add_weight(name="w_p", shape=(), initializer=initializer)
        self.w_n = self.add_weight(name="w_n", shape=(), initializer=initializer)
        super().build(input_shape)

    def call(self, inputs):
        return super().call(ttq(inputs, self.w_p, self.w_n, threshold=self.threshold))

    def get_config(self):
        return {
            **super().get_config(),
            "threshold": self.threshold,
            "initial_scale": self.initial_scale,
        }


# --------------------------------------------------------------------------------------------
# Ternary activations (TNN / GXNOR)
# --------------------------------------------------------------------------------------------

_TERNARY_GRADIENTS = ("ste", "gxnor")


def ternary_activation(
    x: tf.Tensor,
    threshold: float = 0.5,
    gradient: str = "ste",
    clip_value: float = 1.0,
    window: float = 0.5,
) -> tf.Tensor:
    r"""Ternary activation with thresholds ±Δ (TNN, Alemdar et al. 2017; GXNOR, Deng et al. 2018).

    .. math:: q(x) = \begin{cases} +1 & x > \Delta \\ 0 & |x| \le \Delta \\
                                  -1 & x < -\Delta \end{cases}

    Pseudo-gradients:

    - ``"ste"``: ``∂q/∂x = 1{|x| <= clip_value}`` (TNN's straight-through estimator);
    - ``"gxnor"``: GXNOR's rectangular window around each threshold,
      ``∂q/∂x = 1/(2a) · 1{Δ - a <= |x| <= Δ + a}`` with ``a = window``.

    The forward pass is written as ``1{x > Δ} - 1{x < -Δ}`` rather than larq's
    ``sign(sign(x+Δ) + sign(x-Δ))``, a pattern larq-compute-engine 0.16 mistakes for a binary
    sign and converts wrongly.

    Papers: "Ternary Neural Networks for Resource-Efficient AI Applications",
    https://arxiv.org/abs/1609.00222; "GXNOR-Net: Training deep neural networks with ternary
    weights and activations without full-precision memory under a unified discretization
    framework", https://arxiv.org/abs/1705.09283
    """
    check_choice("gradient", gradient, _TERNARY_GRADIENTS)

    @tf.custom_gradient
    def _call(x):
        outputs = tf.cast(x > threshold, x.dtype) - tf.cast(x < -threshold, x.dtype)

        def grad(dy):
            if gradient == "ste":
                return _clipped_gradient(x, dy, clip_value)
            near_threshold = tf.abs(tf.abs(x) - threshold) <= window
            return tf.where(near_threshold, dy / (2.0 * window), tf.zeros_like(dy))

        return outputs, grad

    return _call(x)


@register("ternary_activation")
class TernaryActivation(_BaseQuantizer):
    """Serializable :func:`ternary_activation` (outputs in {-1, 0, +1}).

    Args:
        threshold: Δ >= 0; inputs with ``|x| <= Δ`` become 0.
        gradient: ``"ste"`` or ``"gxnor"``.
        clip_value: STE window ``|x| <= clip_value`` (``"ste"`` only), > 0.
        window: half-width ``a`` of GXNOR's gradient window (``"gxnor"`` only), > 0.
    """

    precision = 2

    def __init__(
        self,
        threshold: float = 0.5,
        gradient: str = "ste",
        clip_value: float = 1.0,
        window: float = 0.5,
        **kwargs,
    ):
        self.threshold = check_non_negative("threshold", threshold)
        self.gradient = check_choice("gradient", gradient, _TERNARY_GRADIENTS)
        self.clip_value = check_positive("clip_value", clip_value)
        self.window = check_positive("window", window)
        super().__init__(**kwargs)

    def call(self, inputs):
        outputs = ternary_activation(
            inputs,
            threshold=self.threshold,
            gradient=self.gradient,
            clip_value=self.clip_value,
            window=self.window,
        )
        return super().call(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "threshold": self.threshold,
            "gradient": self.gradient,
            "clip_value": self.clip_value,
            "window": self.window,
        }


# --------------------------------------------------------------------------------------------
# k-bit: DoReFa and QNN
# --------------------------------------------------------------------------------------------


@register("dorefa")
class DoReFa(lq.quantizers.DoReFa):
    r"""larq's DoReFa k-bit quantizer, with its arguments checked (Zhou et al. 2016, Sec. 2.3).

    .. math:: \mathrm{quantize}_k(r) = \frac{1}{2^k - 1}\,\mathrm{round}\big((2^k - 1)\, r\big)

    Activations (``mode="activations"``): ``q(x) = quantize_k(clip(x, 0, 1))``.
    Weights (``mode="weights"``):

    .. math:: q(w) = 2\,\mathrm{quantize}_k\!\left(\frac{\tanh w}{2 \max|\tanh w|}
              + \frac{1}{2}\right) - 1

    Gradient: straight-through (identity) through ``quantize_k``.

    Paper: "DoReFa-Net: Training Low Bitwidth Convolutional Neural Networks with Low Bitwidth
    Gradients", https://arxiv.org/abs/1606.06160
    """

    def __init__(self, k_bit: int = 2, mode: str = "activations", **kwargs):
        check_int_at_least("k_bit", k_bit, 1)
        check_choice("mode", mode, ("activations", "weights"))
        super().__init__(k_bit=k_bit, mode=mode, **kwargs)


def qnn_linear(x: tf.Tensor, k_bit: int = 2) -> tf.Tensor:
    r"""QNN's linear k-bit quantization (Hubara et al. 2016, eq. 6) on the range [-1, 1).

    .. math:: \mathrm{LinearQuant}(x, k) = \mathrm{clip}\big(\mathrm{round}(x / s)\cdot s,\;
              -1,\; 1 - s\big), \qquad s = 2^{1-k}

    i.e. k-bit two's-complement fixed point with k-1 fractional bits (k=2: {-1, -0.5, 0, 0.5}).
    The gradient is the straight-through estimator ``1{|x| <= 1}``.

    Paper: "Quantized Neural Networks: Training Neural Networks with Low Precision Weights and
    Activations", https://arxiv.org/abs/1609.07061
    """
    step = 2.0 ** (1 - k_bit)

    @tf.custom_gradient
    def _call(x):
        outputs = tf.clip_by_value(tf.round(x / step) * step, -1.0, 1.0 - step)
        return outputs, lambda dy: _clipped_gradient(x, dy, 1.0)

    return _call(x)


@register("qnn_linear")
class QnnLinear(_BaseQuantizer):
    """Serializable :func:`qnn_linear` (k-bit fixed point on [-1, 1), k_bit >= 2)."""

    def __init__(self, k_bit: int = 2, **kwargs):
        self.precision = check_int_at_least("k_bit", k_bit, 2)
        super().__init__(**kwargs)

    def call(self, inputs):
        return super().call(qnn_linear(inputs, k_bit=self.precision))

    def get_config(self):
        return {**super().get_config(), "k_bit": self.precision}


# --------------------------------------------------------------------------------------------
# Lookup
# --------------------------------------------------------------------------------------------


def available_quantizers() -> list[str]:
    """The string aliases accepted as ``*_quantizer=`` (ours and larq's), sorted."""
    return sorted(
        name
        for name, obj in tf.keras.utils.get_custom_objects().items()
        if name.islower() and isinstance(obj, type) and issubclass(obj, Quantizer)
    )


def validate(identifier, parameter: str = "quantizer") -> None:
    """Raise a ValueError naming ``parameter`` and the allowed aliases if ``identifier`` is not
    a quantizer alias, a config dict, a callable (Quantizer instances are callables) or None."""
    if isinstance(identifier, str) and identifier not in available_quantizers():
        raise ValueError(
            f"Unknown quantizer {identifier!r} for `{parameter}`. "
            f"Allowed names: {', '.join(available_quantizers())}; or pass a Quantizer instance."
        )
    if (
        identifier is not None
        and not isinstance(identifier, (str, dict))
        and not callable(identifier)
    ):
        raise ValueError(
            f"`{parameter}` must be a quantizer name, a Quantizer, a callable or None; "
            f"got {identifier!r}."
        )


def get(identifier, parameter: str = "quantizer"):
    """Resolve a quantizer from an alias, a config dict, a Quantizer, a callable or None.

    Raises:
        ValueError: see :func:`validate`.
    """
    validate(identifier, parameter)
    return lq.quantizers.get(identifier)
