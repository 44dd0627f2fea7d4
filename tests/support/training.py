"""Small generated data and tiny binary models shared by the tests of bitnets_tf.training."""

import numpy as np
import tensorflow as tf

from bitnets_tf import layers

IMAGE_SHAPE = (8, 8, 1)
CLASSES = 2


def toy_images(n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy 8x8 images; the label says whether the left half is brighter than the right."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n).astype("int32")
    x = rng.normal(0.0, 1.0, (n, *IMAGE_SHAPE)).astype("float32")
    x[:, :, :4, 0] += np.where(y == 1, 1.0, -1.0)[:, None, None]
    return x, y


def toy_dataset(n: int = 256, batch_size: int = 32, seed: int = 0) -> tf.data.Dataset:
    """:func:`toy_images` as a batched dataset in a fixed order."""
    return tf.data.Dataset.from_tensor_slices(toy_images(n, seed)).batch(batch_size)


def binary_net(
    kernel_quantizer="ste_sign", kernel_constraint="weight_clip", name: str = "binary_net"
) -> tf.keras.Model:
    """Real first conv, binary conv and binary dense (binary activations), 2 logits."""
    binary = {
        "input_quantizer": "ste_sign",
        "kernel_quantizer": kernel_quantizer,
        "kernel_constraint": kernel_constraint,
        "use_bias": False,
    }
    return tf.keras.Sequential(
        [
            tf.keras.Input(IMAGE_SHAPE),
            tf.keras.layers.Conv2D(8, 3, use_bias=False),
            tf.keras.layers.BatchNormalization(),
            layers.QuantConv2D(16, 3, **binary),
            tf.keras.layers.BatchNormalization(),
            tf.keras.layers.GlobalAveragePooling2D(),
            layers.QuantDense(CLASSES, **binary),
        ],
        name=name,
    )


def float_net(name: str = "teacher") -> tf.keras.Model:
    """A small real-valued classifier of the toy images (a teacher for distillation)."""
    return tf.keras.Sequential(
        [
            tf.keras.Input(IMAGE_SHAPE),
            tf.keras.layers.Conv2D(8, 3, activation="relu"),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense(CLASSES),
        ],
        name=name,
    )


def compile_classifier(model: tf.keras.Model, optimizer="adam") -> tf.keras.Model:
    model.compile(
        optimizer,
        tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model
