"""The blocks a gradient-free ConvNet is made of, and their code-decoding auxiliary heads."""

from __future__ import annotations

import larq as lq
import numpy as np
import tensorflow as tf

from bitnets_tf import layers
from bitnets_tf.training.gradient_free.bit_state import hadamard_codes

__all__ = ["binary_conv_block", "code_head_factory"]


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
