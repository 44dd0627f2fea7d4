"""Per-dataset image preprocessing and training augmentation, as tf.data map functions.

Every image goes through a geometry step and then the normalisation
``x = (pixel - mean[c]) / std[c]`` (pixel units, from ``bitnets_tf.data.info(name)``).

Geometry per recipe (evaluation / training with ``augment``):

- ``mnist`` (MNIST, Fashion-MNIST): unchanged / random shift by up to 2 pixels (zero-pad 2,
  random 28x28 crop); no flips, which would change what a digit is.
- ``cifar`` (CIFAR-10/100): unchanged / zero-pad 4, random 32x32 crop, random horizontal flip
  (He et al. 2016, "Deep Residual Learning for Image Recognition", sec. 4.2).
- ``imagenet``: resize the shorter side to 256 and take the central 224x224 / random-resized
  crop (area 8%-100% of the image, aspect ratio 3/4-4/3, as in Szegedy et al. 2015, "Going
  Deeper with Convolutions") resized to 224x224, random horizontal flip.

Randomness is stateless: augmentation takes a ``seed`` tensor of shape [2] (per batch for
MNIST/CIFAR, whose fixed-size images are preprocessed a whole batch at a time; per image for
ImageNet), so a pipeline is reproducible from one integer seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from bitnets_tf.data import catalog

IMAGENET_RESIZE = 256
IMAGENET_CROP = 224
MNIST_SHIFT = 2
CIFAR_PAD = 4
CROP_AREA_RANGE = (0.08, 1.0)
CROP_ASPECT_RANGE = (3.0 / 4.0, 4.0 / 3.0)


@dataclass(frozen=True)
class Recipe:
    """The geometry of one preprocessing recipe.

    ``evaluate(images)`` and ``augment(images, seed)`` map uint8 images to images of the
    model's input shape, in pixel units; normalisation comes after. With ``batched`` they take
    and return whole batches ``(B, H, W, C)`` (images of one fixed size, each with its own
    random draw); otherwise single ``(H, W, C)`` images of any size.
    """

    evaluate: Callable[[tf.Tensor], tf.Tensor]
    augment: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
    batched: bool


def preprocess(image: tf.Tensor, name: str, seed: tf.Tensor | None = None) -> tf.Tensor:
    """Float32 model input from one uint8 ``(H, W, C)`` image of dataset ``name``.

    With ``seed`` (an int tensor of shape [2]) the training augmentation is applied; without
    it, the deterministic evaluation preprocessing (also the one to use at inference).
    """
    if is_batched(name):
        return preprocess_batch(image[tf.newaxis], name, seed)[0]
    return _apply(image, name, seed)


def preprocess_batch(images: tf.Tensor, name: str, seed: tf.Tensor | None = None) -> tf.Tensor:
    """``preprocess`` for a whole batch ``(B, H, W, C)`` of a dataset with ``is_batched(name)``;
    each image gets its own random draw from the one ``seed``."""
    if not is_batched(name):
        raise ValueError(f"{name} images differ in size: preprocess them one by one.")
    return _apply(images, name, seed)


def is_batched(name: str) -> bool:
    """Whether the images of ``name`` have one fixed size, so a batch is preprocessed at once."""
    return RECIPES[catalog.entry(name).recipe].batched


def _apply(images: tf.Tensor, name: str, seed: tf.Tensor | None) -> tf.Tensor:
    dataset = catalog.entry(name)
    recipe = RECIPES[dataset.recipe]
    images = recipe.evaluate(images) if seed is None else recipe.augment(images, seed)
    return normalize(images, dataset.info.mean, dataset.info.std)


def normalize(image: tf.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> tf.Tensor:
    """``(image - mean[c]) / std[c]`` as float32; mean and std are in pixel units."""
    image = tf.cast(image, tf.float32)
    return (image - tf.constant(mean, tf.float32)) / tf.constant(std, tf.float32)


def random_shift(images: tf.Tensor, pad: int, seed: tf.Tensor) -> tf.Tensor:
    """Zero-pad a batch ``(B, H, W, C)`` by ``pad`` pixels on each side, then crop every image
    back to ``H x W`` at its own random offset (a translation by up to ``pad`` pixels)."""
    height, width = images.shape[1], images.shape[2]
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    offsets = tf.random.stateless_uniform(
        [tf.shape(images)[0], 2], seed, minval=0, maxval=2 * pad + 1, dtype=tf.int32
    )
    rows = offsets[:, :1] + tf.range(height)[tf.newaxis]
    columns = offsets[:, 1:] + tf.range(width)[tf.newaxis]
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, columns, axis=2, batch_dims=1)


def random_resized_crop(image: tf.Tensor, size: int, seed: tf.Tensor) -> tf.Tensor:
    """A random crop covering CROP_AREA_RANGE of the image with an aspect ratio in
    CROP_ASPECT_RANGE, resized (bilinear) to ``size`` x ``size``; the whole image when no such
    crop is found in 10 attempts."""
    begin, crop_size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
        seed=seed,
        min_object_covered=0.0,
        aspect_ratio_range=CROP_ASPECT_RANGE,
        area_range=CROP_AREA_RANGE,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    crop = tf.slice(image, begin, crop_size)
    return tf.image.resize(crop, [size, size], method="bilinear")


def resize_shorter_side(image: tf.Tensor, size: int) -> tf.Tensor:
    """Resize (bilinear, antialiased) so the shorter side is ``size``, keeping the aspect."""
    height_width = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = size / tf.reduce_min(height_width)
    new_size = tf.cast(tf.round(height_width * scale), tf.int32)
    return tf.image.resize(image, new_size, method="bilinear", antialias=True)


def central_crop(image: tf.Tensor, size: int) -> tf.Tensor:
    """The central ``size`` x ``size`` window of an image at least that large."""
    shape = tf.shape(image)
    top = (shape[0] - size) // 2
    left = (shape[1] - size) // 2
    return tf.image.crop_to_bounding_box(image, top, left, size, size)


def _mnist_augment(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    return random_shift(images, MNIST_SHIFT, seed)


def _cifar_augment(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    shift_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    images = random_shift(images, CIFAR_PAD, shift_seed)
    return tf.image.stateless_random_flip_left_right(images, seed=flip_seed)


def _imagenet_evaluate(image: tf.Tensor) -> tf.Tensor:
    resized = resize_shorter_side(image, IMAGENET_RESIZE)
    return tf.ensure_shape(central_crop(resized, IMAGENET_CROP), [IMAGENET_CROP, IMAGENET_CROP, 3])


def _imagenet_augment(image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    image = random_resized_crop(image, IMAGENET_CROP, crop_seed)
    image = tf.ensure_shape(image, [IMAGENET_CROP, IMAGENET_CROP, 3])
    return tf.image.stateless_random_flip_left_right(image, seed=flip_seed)


def _unchanged(images: tf.Tensor) -> tf.Tensor:
    return images


RECIPES = {
    "mnist": Recipe(evaluate=_unchanged, augment=_mnist_augment, batched=True),
    "cifar": Recipe(evaluate=_unchanged, augment=_cifar_augment, batched=True),
    "imagenet": Recipe(evaluate=_imagenet_evaluate, augment=_imagenet_augment, batched=False),
}
