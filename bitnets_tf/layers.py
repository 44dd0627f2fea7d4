"""Binary and ternary layers: larq's Quant* layers with checked arguments, plus the layers the
literature adds (XNOR-Net activation scaling, ReActNet's RSign and RPReLU).

``QuantConv2D``, ``QuantDense`` and ``QuantDepthwiseConv2D`` are larq's layers with one mixin
that rejects unknown quantizer names up front (naming the parameter and the allowed names);
``QuantConv2D`` also takes XNOR-Net's ``activation_scaling``. Use larq's layers directly if you
prefer: every quantizer here works with them too.
"""

from __future__ import annotations

import contextlib

import larq as lq
import tensorflow as tf
from tensorflow.python.saved_model import save_context

from bitnets_tf import quantizers
from bitnets_tf._validation import check_input_quantizer
from bitnets_tf.fused_quantizers import fused_twin
from bitnets_tf.introspect import has_binary_inputs_and_kernel
from bitnets_tf.quantizers import RSign
from bitnets_tf.serialization import register

__all__ = ["QuantConv2D", "QuantDense", "QuantDepthwiseConv2D", "RPReLU", "RSign"]

_QUANTIZER_ARGUMENTS = (
    "input_quantizer",
    "kernel_quantizer",
    "depthwise_quantizer",
    "pointwise_quantizer",
)


def with_bias_and_activation(layer: tf.keras.layers.Layer, outputs: tf.Tensor) -> tf.Tensor:
    """``outputs`` with ``layer``'s bias and activation applied, for calls that computed the
    convolution with both patched out."""
    if layer.use_bias:
        outputs = tf.nn.bias_add(outputs, layer.bias)
    if layer.activation is not None:
        outputs = layer.activation(outputs)
    return outputs


class CheckedQuantizersMixin:
    """Validate every ``*_quantizer`` argument before larq resolves it, refuse a weight
    quantizer as ``input_quantizer`` (:func:`~bitnets_tf._validation.check_input_quantizer`),
    and compute larq's ``SteSign`` and ``WeightClip`` with their XLA-fused twins (same values
    and gradients, see :mod:`bitnets_tf.fused_quantizers`); the config keeps the quantizers and
    constraints as given."""

    def __init__(self, *args, **kwargs):
        for parameter in _QUANTIZER_ARGUMENTS:
            if parameter in kwargs:
                quantizers.validate(kwargs[parameter], parameter=parameter)
        super().__init__(*args, **kwargs)
        check_input_quantizer(getattr(self, "input_quantizer", None))

    def _get_quantizer(self, name):
        return fused_twin(super()._get_quantizer(name), latent_weights=True)

    def add_weight(self, *args, constraint=None, **kwargs):
        return super().add_weight(*args, constraint=fused_twin(constraint), **kwargs)

    def _fused_input_quantizer(self):
        """The twin of the current ``input_quantizer`` (which converters may replace)."""
        source, twin = self.__dict__.get("_input_quantizer_twin", (None, None))
        if source is not self.input_quantizer:
            source, twin = self.input_quantizer, fused_twin(self.input_quantizer)
            # Past Keras's attribute tracking: the twin is no sublayer and never saved.
            object.__setattr__(self, "_input_quantizer_twin", (source, twin))
        return twin

    def call(self, inputs):
        with _untracked(self, input_quantizer=self._fused_input_quantizer()):
            return super().call(inputs)


@contextlib.contextmanager
def _untracked(layer: tf.keras.layers.Layer, **attributes):
    """Set ``attributes`` on ``layer`` for the block, past Keras's attribute tracking."""
    previous = {name: getattr(layer, name) for name in attributes}
    for name, value in attributes.items():
        object.__setattr__(layer, name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            object.__setattr__(layer, name, value)


@register()
class QuantDense(CheckedQuantizersMixin, lq.layers.QuantDense):
    """larq's ``QuantDense`` with checked quantizer arguments, exported as a bitpackable op.

    larq-compute-engine bitpacks binary convolutions but converts a binary dense layer to a
    float ``FULLY_CONNECTED``. A dense layer is a 1×1 convolution over a 1×1 map, so when the
    layer is traced for export (inside ``tf.saved_model.save``, which both
    ``lce.convert_keras_model`` and ``tf.lite.TFLiteConverter.from_keras_model`` use) and its
    input and kernel quantizers are both binary, it computes exactly that:
    ``reshape(x, [-1, 1, 1, C]) ⊛ reshape(W, [1, 1, C, U])``, which LCE turns into
    ``LceQuantize → LceBconv2d``. Training and Keras inference keep the matmul (TensorFlow runs
    such 1×1 convolutions about 8× slower).
    """

    def _exports_as_convolution(self) -> bool:
        return save_context.in_save_context() and has_binary_inputs_and_kernel(self)

    def call(self, inputs):
        if not self._exports_as_convolution():
            return super().call(inputs)
        with lq.context.quantized_scope(True):
            kernel = tf.reshape(self.kernel, [1, 1, *self.kernel.shape])
        # Quantize after the reshape: LCE needs the sign directly in front of the convolution.
        as_map = self.input_quantizer(tf.reshape(inputs, [-1, 1, 1, kernel.shape[2]]))
        outputs = tf.nn.conv2d(as_map, kernel, strides=1, padding="VALID")
        if inputs.shape.rank == 2:
            outputs = tf.reshape(outputs, [-1, self.units])
        else:
            outputs = tf.reshape(outputs, tf.concat([tf.shape(inputs)[:-1], [self.units]], 0))
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


@register()
class QuantDepthwiseConv2D(CheckedQuantizersMixin, lq.layers.QuantDepthwiseConv2D):
    """larq's ``QuantDepthwiseConv2D`` with checked quantizer arguments."""


@register()
class QuantConv2D(CheckedQuantizersMixin, lq.layers.QuantConv2D):
    r"""larq's ``QuantConv2D`` with checked quantizer arguments and XNOR-Net activation scaling.

    With ``activation_scaling=True`` the binary convolution is rescaled by XNOR-Net's ``K``
    (Rastegari et al. 2016, Sec. 3.2):

    .. math:: A = \frac{1}{c}\sum_{i=1}^{c} |X_{:,:,i}|, \qquad K = A * k,
              \quad k_{ij} = \frac{1}{w \cdot h}

    .. math:: Y = \big(\mathrm{sign}(X) \circledast \tilde W\big) \odot K + b

    i.e. K is the mean absolute input over channels, averaged over each kernel window with the
    layer's own strides, dilation and padding (padded positions count as ``|pad_values|``).
    Combine with ``kernel_quantizer="xnor_weight_scale"`` for the full XNOR-Net layer.
    larq-compute-engine cannot fuse K, so such layers run as float convolutions after
    conversion; the converters' audit reports them.
    """

    def __init__(self, *args, activation_scaling: bool = False, **kwargs):
        self.activation_scaling = bool(activation_scaling)
        super().__init__(*args, **kwargs)
        if self.activation_scaling and self.data_format != "channels_last":
            raise ValueError(
                "`activation_scaling=True` supports data_format='channels_last' only, "
                f"got {self.data_format!r}."
            )

    def _activation_scale(self, inputs: tf.Tensor) -> tf.Tensor:
        mean_magnitude = tf.reduce_mean(tf.abs(inputs), axis=-1, keepdims=True)
        window = tf.ones((*self.kernel_size, 1, 1), inputs.dtype) / float(
            self.kernel_size[0] * self.kernel_size[1]
        )
        padding = self.padding.upper()
        if not self._is_native_padding:
            mean_magnitude = tf.pad(
                mean_magnitude,
                self._get_padding_same(inputs),
                constant_values=abs(float(tf.keras.backend.get_value(self.pad_values))),
            )
            padding = "VALID"
        return tf.nn.conv2d(
            mean_magnitude,
            window,
            strides=self.strides,
            padding=padding,
            dilations=self.dilation_rate,
        )

    def _border_paddings(self, inputs: tf.Tensor) -> tuple | None:
        """The ``tf.pad`` paddings larq would apply for a constant non-zero ``pad_values``, when
        the convolution can instead run with native zero padding plus a border correction."""
        if (
            self._is_native_padding
            or not isinstance(self.pad_values, int | float)
            or self.groups != 1
            or self.data_format != "channels_last"
            or not inputs.shape[1:].is_fully_defined()
            or save_context.in_save_context()
        ):
            return None
        return tuple(tuple(int(side) for side in axis) for axis in self._get_padding_same(inputs))

    def convolution_op(self, inputs, kernel):
        r"""With a border correction pending: ``conv(pad(x, v)) = conv_same(x) + v·conv(M, ΣW)``.

        ``conv_same`` pads with zeros. The ``v``-padded input is the zero-padded one plus ``v``
        times a mask ``M`` that is 1 on the padded border and 0 inside, the same for every
        example and every channel, so its convolution with ``W`` is the convolution of the
        one-channel ``M`` with ``ΣW``, the kernel summed over input channels: a map that
        depends on the kernel only, added to every example. Natively padded convolutions skip
        the copy into a padded tensor and, in the backward pass, the larger input gradient and
        the slice back; the correction costs a one-channel convolution of a single map. Binary
        inputs and weights give integer sums, exact in float32; real values agree up to float
        rounding. The kernel is read (and quantized) once for both terms.
        """
        if self._pending_border is None:
            return super().convolution_op(inputs, kernel)
        kernel = tf.convert_to_tensor(kernel)
        outputs = super().convolution_op(inputs, kernel)
        mask = tf.pad(
            tf.zeros((1, *inputs.shape[1:-1], 1), kernel.dtype),
            self._pending_border,
            constant_values=1.0,
        )
        summed_kernel = tf.reduce_sum(kernel, axis=2, keepdims=True) * float(self.pad_values)
        with lq.utils.patch_object(self, "padding", "valid"):
            return outputs + super().convolution_op(mask, summed_kernel)

    _pending_border = None

    def _call_with_border_correction(self, inputs):
        paddings = self._border_paddings(inputs)
        if paddings is None:
            return super().call(inputs)
        with _untracked(self, _is_native_padding=True, _pending_border=paddings):
            return super().call(inputs)

    def call(self, inputs):
        if not self.activation_scaling:
            return self._call_with_border_correction(inputs)
        scale = self._activation_scale(inputs)
        with (
            lq.utils.patch_object(self, "use_bias", False),
            lq.utils.patch_object(self, "activation", None),
        ):
            outputs = self._call_with_border_correction(inputs) * scale
        return with_bias_and_activation(self, outputs)

    def get_config(self):
        return {**super().get_config(), "activation_scaling": self.activation_scaling}


@register()
class RPReLU(tf.keras.layers.Layer):
    r"""ReActNet's RPReLU: a PReLU with learnable shifts before and after (Liu et al. 2020, eq. 4).

    .. math:: f(x_c) = \begin{cases} x_c - \gamma_c + \zeta_c & x_c > \gamma_c \\
                       \beta_c (x_c - \gamma_c) + \zeta_c & x_c \le \gamma_c \end{cases}

    ``γ``, ``β``, ``ζ`` have one entry per channel (the last axis); ``β`` starts at 0.25, the
    shifts at 0. Written as ``relu(x-γ) + (-β)·relu(-(x-γ)) + ζ`` with ``β`` shaped
    ``(1, ..., 1, C)``, the pattern TFLite fuses into ``SUB → PRELU → ADD``.

    Paper: "ReActNet: Towards Precise Binary Neural Network with Generalized Activation
    Functions", https://arxiv.org/abs/2003.03488
    """

    def __init__(self, slope_initializer: float = 0.25, **kwargs):
        super().__init__(**kwargs)
        self.slope_initializer = float(slope_initializer)

    def build(self, input_shape):
        channels = tf.TensorShape(input_shape)[-1]
        if channels is None:
            raise ValueError("RPReLU needs a known number of channels (the last input axis).")
        self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="zeros")
        self.beta = self.add_weight(
            name="beta",
            shape=(1,) * (len(input_shape) - 2) + (channels,),
            initializer=tf.keras.initializers.Constant(self.slope_initializer),
        )
        self.zeta = self.add_weight(name="zeta", shape=(channels,), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs):
        shifted = inputs - self.gamma
        return tf.nn.relu(shifted) + -self.beta * tf.nn.relu(-shifted) + self.zeta

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "slope_initializer": self.slope_initializer}
