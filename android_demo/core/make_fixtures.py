"""Regenerate the JVM tests' fixtures from the Python side (run from the repository root):

    .venv/bin/python android_demo/core/make_fixtures.py

Writes into android_demo/core/src/test/resources/:

- ``fashion_lce.tflite`` / ``cifar_lce.tflite``: tiny binary models converted by
  ``bitnets_tf.converters.convert(target="lce")`` with ``deployment_metadata`` for
  Fashion-MNIST (28x28x1) and CIFAR-10 (32x32x3), so the JVM reads real converter output;
- ``photo_large.png`` (45x37 RGB) and ``photo_small.png`` (20x24 RGB);
- ``expected_<model>_<photo>.f32``: the model input ``bitnets-tf run`` computes for each pair,
  raw little-endian float32, height x width x channels (channels last).

tests/deploy/test_deploy_android.py checks that the committed files still match the Python side;
the JVM tests check that ``org.bitnets.core`` reads and preprocesses them identically.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

import bitnets_tf  # noqa: F401  (binds tf.keras to tf-keras)

RESOURCES = Path(__file__).parent / "src" / "test" / "resources"
MODELS = {"fashion": ("fashion_mnist", (28, 28, 1)), "cifar": ("cifar10", (32, 32, 3))}
PHOTOS = {"photo_large": (37, 45), "photo_small": (24, 20)}  # (height, width)


def tiny_binary_model(input_shape: tuple[int, int, int]) -> tf.keras.Model:
    """A float-input binary-weight conv, a fully binary conv, pooling and a dense head."""
    from bitnets_tf import layers

    tf.keras.utils.set_random_seed(0)
    return tf.keras.Sequential(
        [
            tf.keras.Input(input_shape),
            layers.QuantConv2D(
                8, 3, kernel_quantizer="ste_sign", kernel_constraint="weight_clip", use_bias=False
            ),
            tf.keras.layers.BatchNormalization(),
            layers.QuantConv2D(
                8,
                3,
                padding="same",
                pad_values=1.0,
                input_quantizer="ste_sign",
                kernel_quantizer="ste_sign",
                kernel_constraint="weight_clip",
                use_bias=False,
            ),
            tf.keras.layers.BatchNormalization(),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense(10),
        ]
    )


def photo(height: int, width: int) -> np.ndarray:
    """A smooth colour gradient with a sharp square and seeded noise (tests resampling)."""
    rng = np.random.default_rng(height * 100 + width)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([255 * x / (width - 1), 255 * y / (height - 1), 128 + 0 * x], axis=-1)
    image[height // 4 : height // 2, width // 4 : width // 2] = (250, 20, 90)
    image += rng.normal(0, 12, image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def main() -> None:
    from PIL import Image

    from bitnets_tf.converters import convert
    from bitnets_tf.deploy.images import load_image, normalise, to_model_pixels
    from bitnets_tf.deploy.metadata import ModelMetadata, deployment_metadata

    RESOURCES.mkdir(parents=True, exist_ok=True)
    for name, (height, width) in PHOTOS.items():
        Image.fromarray(photo(height, width)).save(RESOURCES / f"{name}.png")
    for model_name, (dataset, shape) in MODELS.items():
        metadata = deployment_metadata(dataset, "lce")
        model_path = RESOURCES / f"{model_name}_lce.tflite"
        convert(tiny_binary_model(shape), str(model_path), target="lce", metadata=metadata)
        model_path.chmod(0o644)
        meta = ModelMetadata.from_dict(metadata)
        for photo_name in PHOTOS:
            image = load_image(RESOURCES / f"{photo_name}.png")
            pixels, _ = to_model_pixels(image, meta.input_shape)
            values = normalise(pixels, meta.input_mean, meta.input_std)
            path = RESOURCES / f"expected_{model_name}_{photo_name}.f32"
            path.write_bytes(values.astype("<f4").tobytes())


if __name__ == "__main__":
    main()
