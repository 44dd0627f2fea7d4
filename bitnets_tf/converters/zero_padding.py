r"""Zero-padded binary convolutions on small inputs, exported in a form LCE computes exactly.

larq-compute-engine 0.16 computes a ``"same"``-padded binary convolution with
``pad_values=0`` wrongly when the input is smaller than the kernel's extent along an axis
(``H < (k_h - 1) d_h + 1`` or the same for the width; measured for kernels 3 and 5, strides 1
and 2, dilations 1 and 2: larq-zoo's Bi-Real Net and Binary ResNet-E at 64×64, whose last stage
sees 2×2 maps, were off by up to 100 % of the layer's range). One-padding it computes
natively, and the padding's contribution is a constant, so such a layer is exported as

.. math:: \mathrm{conv}(\mathrm{pad}_0(s), W) = \mathrm{conv}(\mathrm{pad}_1(s), W)
          - \mathrm{conv}(\mathrm{pad}_1(0_{H \times W}), W)

— an ``LceBconv2d`` with one-padding followed by the subtraction of a constant
``(H_out, W_out, C_out)`` map (exact: both terms are sums of ``±scale_c``).
"""

from __future__ import annotations

import larq as lq
import numpy as np
import tensorflow as tf

from bitnets_tf.converters.planes import same_padding
from bitnets_tf.converters.semantics import describe_linear, padding_value, quantized_kernel
from bitnets_tf.layers import with_bias_and_activation


def lce_miscomputes_zero_padding(layer) -> bool:
    """A bitpackable, zero-padded ``"same"`` binary convolution on an input smaller than its
    kernel's extent."""
    if not isinstance(layer, lq.layers.QuantConv2D) or not layer.built:
        return False
    if str(layer.padding).lower() != "same" or padding_value(layer) != 0.0:
        return False
    if getattr(layer, "activation_scaling", False) or (getattr(layer, "groups", 1) or 1) != 1:
        return False
    described = describe_linear(layer, layer.output_shape)
    if described is None or not described.is_binary:
        return False
    height, width = layer.input_shape[1:3]
    (kh, kw), (dh, dw) = layer.kernel_size, layer.dilation_rate
    return height < (kh - 1) * dh + 1 or width < (kw - 1) * dw + 1


def padding_contribution(layer) -> np.ndarray:
    """``conv(pad_1(0), W_quantized)``: what one-padding adds to each output, shape
    ``(1, H_out, W_out, C_out)``."""
    height, width, channels = layer.input_shape[1:]
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation_rate
    rows = same_padding(height, kh, sh, dh)
    columns = same_padding(width, kw, sw, dw)
    mask = np.pad(
        np.zeros((1, height, width, channels), np.float32),
        [(0, 0), rows, columns, (0, 0)],
        constant_values=1.0,
    )
    kernel = tf.constant(quantized_kernel(layer), tf.float32)
    return tf.nn.conv2d(mask, kernel, (sh, sw), "VALID", dilations=(dh, dw)).numpy()


class _PaddingCorrected:
    """Mixin: the one-padded convolution of the base class minus :attr:`contribution`
    (set by :func:`corrected_clone`), before the bias and the activation."""

    contribution: np.ndarray

    def call(self, inputs):
        with (
            lq.utils.patch_object(self, "use_bias", False),
            lq.utils.patch_object(self, "activation", None),
        ):
            outputs = super().call(inputs)
        if self.contribution.shape[1:3] == (1, 1):  # per channel: LCE fuses it into the bias
            outputs = outputs - tf.constant(self.contribution.reshape(-1))
        else:
            # Subtracted on the flattened map: LCE 0.16 would otherwise fuse the (H, W, C)
            # constant into the bconv's per-channel bias, which its kernel then rejects.
            shape = tf.shape(outputs)
            contribution = tf.constant(self.contribution.reshape(1, -1))
            outputs = tf.reshape(tf.reshape(outputs, [shape[0], -1]) - contribution, shape)
        return with_bias_and_activation(self, outputs)

    def get_config(self):
        raise NotImplementedError(
            "A padding-corrected convolution exists only inside a conversion."
        )


def corrected_clone(layer) -> tf.keras.layers.Layer:
    """An unbuilt copy of ``layer`` (same class and weights layout) with one-padding and the
    padding's contribution subtracted."""
    cls = type(f"PaddingCorrected{type(layer).__name__}", (_PaddingCorrected, type(layer)), {})
    clone = cls.from_config({**layer.get_config(), "pad_values": 1.0})
    clone.contribution = padding_contribution(layer)
    return clone
