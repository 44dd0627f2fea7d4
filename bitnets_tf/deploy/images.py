"""Image files → model input: decode (Pillow), match the channels and size, normalise.

``x = (pixel - mean[c]) / std[c]`` with pixels in 0..255, mean and std from the model's
metadata. Colour to grayscale uses Pillow's ITU-R 601-2 luma (``L = 0.299 R + 0.587 G +
0.114 B``); a grayscale image fed to an RGB model is replicated into the three channels; an
image of another size is resized with bilinear filtering. Every such change is reported as a
note so that a silent mismatch cannot happen.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bitnets_tf.deploy import edge
from bitnets_tf.deploy.edge import normalise
from bitnets_tf.deploy.errors import DeploymentError

__all__ = ["EXAMPLE_IMAGES", "example_image", "load_image", "normalise", "to_model_pixels"]

# Images shipped with the package, found by file name when no such file exists (so the
# documented ``bitnets-tf run MODEL --input boot.png`` works from any directory):
# boot.png is Fashion-MNIST's first test image (an ankle boot, class 9), 28×28 grayscale.
EXAMPLE_IMAGES_DIR = Path(__file__).parent / "example_images"
EXAMPLE_IMAGES = ("boot.png",)


def example_image(name: str | os.PathLike) -> Path | None:
    """The shipped example image called ``name`` (a bare file name, e.g. ``"boot.png"``),
    or None."""
    name = os.fspath(name)
    return EXAMPLE_IMAGES_DIR / name if name in EXAMPLE_IMAGES else None


def load_image(path: str | os.PathLike):
    """The decoded image (a ``PIL.Image``), fully read.

    Raises:
        FileNotFoundError: no such file.
        DeploymentError: the file is not an image Pillow can decode (corrupt, truncated or
            another format).
    """
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No such image file: {path!r}. Pass a PNG or JPEG file, or one of the example "
            f"images shipped with bitnets-tf by name: {', '.join(EXAMPLE_IMAGES)}."
        )
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DeploymentError(
            f"{path!r} is not a readable image ({type(error).__name__}: {error}). Pass a PNG or "
            "JPEG file; re-export it if it is truncated."
        ) from None


def to_model_pixels(image, input_shape: Sequence[int]) -> tuple[np.ndarray, list[str]]:
    """``image`` as a float32 ``(height, width, channels)`` array of 0..255 pixels for a model
    input of ``input_shape``, and notes on what was changed
    (:func:`bitnets_tf.deploy.edge.pixels_for_model`).

    Raises:
        DeploymentError: the model takes a channel count other than 1 or 3.
    """
    try:
        return edge.pixels_for_model(image, input_shape)
    except ValueError as error:
        raise DeploymentError(str(error)) from None
