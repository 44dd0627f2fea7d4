"""The demo's small binary ConvNet for 28x28 grayscale images (BinaryNet-style).

- stem: 32 3x3 filters with binary weights on the real-valued image (binarizing the image
  itself would destroy it), BN, 2x2 max-pool;
- two binary blocks: ``sign`` activations and binary weights, 3x3 "same" convolutions padded
  with +1 (so larq-compute-engine keeps the activations bitpacked between them), BN, 2x2
  max-pool (32 and 64 filters);
- head: flatten (3x3x64 signs once the next layer binarizes them), binary dense to the classes,
  BN (the logits). A hidden binary dense layer of 128 did not help (measured on Fashion-MNIST).

Binary layers use larq's ``ste_sign`` (forward ``sign``, gradient ``1{|x| <= 1}``; Courbariaux
et al. 2016, "Binarized Neural Networks") with latent weights clipped to [-1, 1]. BN momentum
0.9 so the moving statistics settle within a few epochs.
"""

from __future__ import annotations

import tensorflow as tf

from bitnets_tf import layers

BN_MOMENTUM = 0.9


def _batch_norm() -> tf.keras.layers.Layer:
    return tf.keras.layers.BatchNormalization(momentum=BN_MOMENTUM, scale=False)


def demo_model(
    input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10
) -> tf.keras.Model:
    """The demo network (logits output): 34 k binary weights and 2.9 M multiply-adds (92 %
    binary) at 28x28x1 and 10 classes."""
    binary = {
        "input_quantizer": "ste_sign",
        "kernel_quantizer": "ste_sign",
        "kernel_constraint": "weight_clip",
        "use_bias": False,
    }
    inputs = tf.keras.Input(input_shape)
    x = layers.QuantConv2D(
        32,
        3,
        padding="same",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(inputs)
    x = tf.keras.layers.MaxPool2D()(_batch_norm()(x))
    for filters in (32, 64):
        x = layers.QuantConv2D(filters, 3, padding="same", pad_values=1.0, **binary)(x)
        x = tf.keras.layers.MaxPool2D()(_batch_norm()(x))
    x = tf.keras.layers.Flatten()(x)
    outputs = tf.keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(
        layers.QuantDense(num_classes, **binary)(x)
    )
    return tf.keras.Model(inputs, outputs, name="binary_convnet")
