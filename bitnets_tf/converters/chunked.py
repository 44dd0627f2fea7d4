"""Binary dense and convolution layers too large for larq-compute-engine, exported in pieces.

LCE 0.16 fails on binary weight tensors of 2^25 elements or more (measured: a 12544×3072 binary
dense crashes its converter with "cannot create std::vector larger than max_size()", an
8192×4096 one comes out as a float op), which XNOR-Net's AlexNet fc6 (12544×4096) reaches.
:class:`ChunkedBinaryDense` computes the same layer as several 1×1 binary convolutions over
groups of output units, each below :data:`LCE_MAX_KERNEL_ELEMENTS`, concatenated:

.. math:: y = \\big[\\mathrm{sign}(x) \\circledast W_{:, U_1} \\,\\|\\, \\dots \\,\\|\\,
          \\mathrm{sign}(x) \\circledast W_{:, U_k}\\big] + b

A binary convolution with such a kernel (XNOR-Net's fc6 written as a 6×6 convolution) is kept
as it is but split the same way over its output channels (:class:`ChunkedBinaryConv2D`): with a
per-channel scaled kernel (``xnor_weight_scale``) LCE otherwise leaves the kernel's
quantization ops unfolded and computes the layer as a float convolution.
"""

from __future__ import annotations

import itertools

import numpy as np
import tensorflow as tf

from bitnets_tf.converters.semantics import quantized_kernel

LCE_MAX_KERNEL_ELEMENTS = 1 << 24  # half the measured failure size, as a margin


def chunk_units(fan_in: int, units: int) -> list[int]:
    """Output units per piece: as few equal pieces as keep each below the limit."""
    pieces = -(-fan_in * units // LCE_MAX_KERNEL_ELEMENTS)
    base, extra = divmod(units, pieces)
    return [base + 1] * extra + [base] * (pieces - extra)


class ChunkedBinaryDense(tf.keras.layers.Layer):
    """A binary dense layer (on flat inputs) as 1×1 binary convolutions over unit groups.

    Made by :func:`bitnets_tf.converters.rewrite.rewrite_for_lce` only; the weights are the
    original layer's *quantized* kernel (copied with :meth:`copy_weights_from`), so the export
    needs no constant folding of a huge sign.
    """

    def __init__(
        self, units: int, pieces: list[int], input_quantizer, use_bias, activation, **kwargs
    ):
        super().__init__(**kwargs)
        self.units = units
        self.pieces = list(pieces)
        self.input_quantizer = input_quantizer
        self.use_bias = use_bias
        self.activation = tf.keras.activations.get(activation)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.kernels = [
            self.add_weight(f"kernel_{i}", shape=(1, 1, fan_in, n), trainable=False)
            for i, n in enumerate(self.pieces)
        ]
        self.bias = (
            self.add_weight("bias", shape=(self.units,), trainable=False) if self.use_bias else None
        )
        super().build(input_shape)

    def copy_weights_from(self, original) -> None:
        """Take the quantized kernel (and bias) of the layer this one replaces."""
        kernel = quantized_kernel(original)
        splits = np.split(kernel, np.cumsum(self.pieces)[:-1], axis=1)
        for variable, piece in zip(self.kernels, splits, strict=True):
            variable.assign(piece.reshape(variable.shape))
        if self.bias is not None:
            self.bias.assign(tf.keras.backend.get_value(original.bias))

    def call(self, inputs):
        signs = self.input_quantizer(tf.reshape(inputs, [-1, 1, 1, inputs.shape[-1]]))
        pieces = [tf.nn.conv2d(signs, kernel, 1, "VALID") for kernel in self.kernels]
        outputs = tf.reshape(tf.concat(pieces, axis=-1), [-1, self.units])
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def get_config(self):
        raise NotImplementedError("ChunkedBinaryDense exists only inside a conversion.")


class ChunkedBinaryConv2D(tf.keras.layers.Layer):
    """A binary convolution as copies of it over groups of output channels, concatenated.

    Each piece is the original layer class with the same configuration, fewer filters and its
    slice of the latent kernel, so LCE sees the same quantizer ops on a kernel below the
    limit. Exact when the kernel quantizer acts per output channel (sign, XNOR-Net's and
    Bi-Real's per-channel scale), which :func:`conv_pieces_are_exact` checks on the weights.
    """

    def __init__(self, pieces: list[tf.keras.layers.Layer], **kwargs):
        super().__init__(**kwargs)
        self.pieces = pieces

    def call(self, inputs):
        return tf.concat([piece(inputs) for piece in self.pieces], axis=-1)

    def copy_weights_from(self, original) -> None:
        """Each piece takes its output channels' slice of every weight of ``original``."""
        start = 0
        for piece in self.pieces:
            channels = slice(start, start + piece.filters)
            piece.set_weights([w[..., channels] for w in original.get_weights()])
            start += piece.filters

    def get_config(self):
        raise NotImplementedError("ChunkedBinaryConv2D exists only inside a conversion.")


def conv_pieces(layer) -> list[int]:
    """Output channels per piece of a binary convolution's kernel."""
    kernel = layer.kernel.shape
    return chunk_units(int(np.prod(kernel[:-1])), int(kernel[-1]))


def conv_pieces_are_exact(layer) -> bool:
    """Whether quantizing each output-channel group of ``layer``'s kernel on its own gives the
    layer's quantized kernel (a per-channel or element-wise kernel quantizer), up to float32
    rounding: a per-channel mean is summed in another order over fewer columns (measured
    3e-6 relative for 9216 terms); a quantizer with statistics across channels differs by far
    more."""
    whole = quantized_kernel(layer)
    bounds = np.cumsum([0, *conv_pieces(layer)])
    latent = tf.keras.backend.get_value(layer.kernel)
    for start, stop in itertools.pairwise(bounds):
        piece = np.asarray(layer.kernel_quantizer(tf.constant(latent[..., start:stop])))
        if not np.allclose(piece, whole[..., start:stop], rtol=1e-4, atol=0.0):
            return False
    return True


def chunked_conv(layer) -> ChunkedBinaryConv2D:
    """``layer`` (a built binary 2-D convolution) split over its output channels."""
    config = layer.get_config()
    pieces = [
        layer.__class__.from_config({**config, "filters": n, "name": f"{layer.name}_part{i}"})
        for i, n in enumerate(conv_pieces(layer))
    ]
    return ChunkedBinaryConv2D(pieces, name=layer.name)
