"""Small binary and ternary models shared by the converter tests (random weights and batch
norms with both gamma signs, so thresholds are not trivial)."""

from __future__ import annotations

import larq as lq
import numpy as np
import tensorflow as tf

from bitnets_tf import layers

L = tf.keras.layers
BINARY = dict(
    input_quantizer="ste_sign",
    kernel_quantizer="ste_sign",
    kernel_constraint="weight_clip",
    use_bias=False,
)


def randomize(model: tf.keras.Model, seed: int = 0) -> tf.keras.Model:
    """Random batch-norm statistics (gamma of both signs) and perturbed weights."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if isinstance(layer, L.BatchNormalization):
            gamma, beta, mean, variance = weights
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape) * rng.choice([-1, 1], gamma.shape),
                    rng.normal(0, 1, beta.shape),
                    rng.normal(0, 3, mean.shape),
                    rng.uniform(5, 30, variance.shape),
                ]
            )
        elif weights:
            layer.set_weights([w + rng.normal(0, 0.3, w.shape).astype(w.dtype) for w in weights])
    return model


def plus_minus_one(shape, samples: int, seed: int = 0) -> np.ndarray:
    """±1 inputs: a pure ±1 network is exact in int8 on them."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random((samples, *shape)) < 0.5, -1.0, 1.0).astype(np.float32)


def binary_cnn() -> tf.keras.Model:
    """Pure ±1 CNN: sign of the input, bitpackable convolutions (both paddings), max-pool,
    larq's binary QuantDense (rewritten for LCE)."""
    return randomize(
        tf.keras.Sequential(
            [
                tf.keras.Input((10, 10, 3)),
                layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, **BINARY),
                L.BatchNormalization(),
                layers.QuantConv2D(32, 3, padding="same", **BINARY),
                L.BatchNormalization(),
                L.MaxPool2D(),
                layers.QuantConv2D(40, 3, **BINARY),
                L.BatchNormalization(),
                L.Flatten(),
                lq.layers.QuantDense(10, **BINARY),
                L.BatchNormalization(),
            ]
        )
    )


def binary_mlp() -> tf.keras.Model:
    """Pure ±1 MLP (BinaryNet-style), our QuantDense."""
    return randomize(
        tf.keras.Sequential(
            [
                tf.keras.Input((48,)),
                layers.QuantDense(64, **BINARY),
                L.BatchNormalization(),
                layers.QuantDense(64, **BINARY),
                L.BatchNormalization(),
                layers.QuantDense(10, **BINARY),
                L.BatchNormalization(),
            ]
        )
    )


def reactnet_block() -> tf.keras.Model:
    """Float stem, then a ReActNet block: RSign → binary 3×3 conv → BN → + shortcut → RPReLU
    → RSign → binary 1×1 conv (XNOR weight scale) → BN → + shortcut, then a float head."""
    inputs = tf.keras.Input((8, 8, 3))
    x = layers.QuantConv2D(16, 3, kernel_quantizer="ste_sign", kernel_constraint="weight_clip")(
        inputs
    )
    x = L.BatchNormalization()(x)
    shortcut = x
    x = layers.QuantConv2D(
        16,
        3,
        padding="same",
        pad_values=1.0,
        input_quantizer="rsign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(x)
    x = L.BatchNormalization()(x)
    x = L.Add()([x, shortcut])
    x = layers.RPReLU()(x)
    shortcut = x
    x = layers.QuantConv2D(
        16,
        1,
        input_quantizer="rsign",
        kernel_quantizer="xnor_weight_scale",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(x)
    x = L.BatchNormalization()(x)
    x = L.Add()([x, shortcut])
    x = L.GlobalAveragePooling2D()(x)
    outputs = L.Dense(10)(x)
    return randomize(tf.keras.Model(inputs, outputs))


def ternary_net() -> tf.keras.Model:
    """Ternary activations (larq's ste_tern and ours) with ternary weights; LCE 0.16 would
    silently binarize the ste_tern ones."""
    tern_weights = lambda: lq.quantizers.SteTern(threshold_value=0.1)  # noqa: E731
    return randomize(
        tf.keras.Sequential(
            [
                tf.keras.Input((8, 8, 4)),
                layers.QuantConv2D(
                    16,
                    3,
                    padding="same",
                    input_quantizer=lq.quantizers.SteTern(0.5),
                    kernel_quantizer=tern_weights(),
                    use_bias=False,
                ),
                L.BatchNormalization(),
                L.MaxPool2D(),
                layers.QuantConv2D(
                    16,
                    3,
                    padding="same",
                    pad_values=1.0,
                    input_quantizer="ternary_activation",
                    kernel_quantizer=tern_weights(),
                    use_bias=False,
                ),
                L.BatchNormalization(),
                L.Flatten(),
                layers.QuantDense(
                    10, input_quantizer="ste_tern", kernel_quantizer=tern_weights(), use_bias=False
                ),
                L.BatchNormalization(),
            ]
        )
    )


def ternary_inputs(shape, samples: int, seed: int = 0) -> np.ndarray:
    """Inputs in {-1, 0, 1} (away from the thresholds): exact for the int8 target."""
    rng = np.random.default_rng(seed)
    return rng.integers(-1, 2, size=(samples, *shape)).astype(np.float32)
