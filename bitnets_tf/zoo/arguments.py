"""The ``keras.applications``-style arguments every zoo builder shares, checked up front, and
the build flow around a family's body.

- the input: ``input_shape`` ``(height, width, channels)`` or ``input_tensor``;
- the top: ``include_top``, ``num_classes``, ``pooling`` and ``classifier_activation``;
- the stem: ``"imagenet"`` (the paper's), ``"cifar"`` (the small-input one) or ``"auto"``;
- ``weights``: ``None`` or the path of a ``.weights.h5`` / ``.h5`` / ``.keras`` file.

Every bad value raises a ValueError (FileNotFoundError for a missing weights file) naming the
argument and what it accepts.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import tensorflow as tf

from bitnets_tf._validation import check_choice, check_int_at_least

__all__ = [
    "SMALL_INPUT_BELOW",
    "ModelInput",
    "Top",
    "build_model",
    "check_minimum_size",
    "check_weights",
    "choose_stem",
    "finish_model",
    "model_input",
    "top_arguments",
    "with_common_arguments_doc",
]

STEMS = ("auto", "cifar", "imagenet")
# stem="auto" picks the small-input ("cifar") stem when the shorter side is below this.
SMALL_INPUT_BELOW = 112
WEIGHT_SUFFIXES = (".weights.h5", ".h5", ".keras")
_POOLINGS = ("avg", "max")


@dataclass(frozen=True)
class ModelInput:
    """The Keras tensor a network starts from and its (known) spatial size."""

    tensor: tf.Tensor
    source: object  # what ``tf.keras.Model(inputs=...)`` receives
    height: int
    width: int
    channels: int


@dataclass(frozen=True)
class Top:
    """The checked classifier-top arguments."""

    include_top: bool
    num_classes: int | None
    pooling: str | None
    classifier_activation: str | Callable | None


def _check_shape(shape: object, where: str) -> tuple[int, int, int]:
    if (
        not isinstance(shape, (tuple, list, tf.TensorShape))
        or len(shape) != 3
        or not all(
            isinstance(size, Integral) and not isinstance(size, bool) and size >= 1
            for size in shape
        )
    ):
        raise ValueError(
            f"{where} must be (height, width, channels) with three known positive integers, "
            f"got {shape!r}."
        )
    return tuple(int(size) for size in shape)


def model_input(
    input_shape: tuple[int, int, int] | None,
    input_tensor: tf.Tensor | None,
    default_shape: tuple[int, int, int],
) -> ModelInput:
    """Resolve ``input_shape`` / ``input_tensor`` as ``keras.applications`` does.

    ``input_tensor`` (a Keras tensor or a plain tensor, which is wrapped in ``Input``) wins;
    ``input_shape`` must then be None or equal to its shape. Without either, ``default_shape``.
    """
    if input_tensor is None:
        shape = default_shape if input_shape is None else _check_shape(input_shape, "`input_shape`")
        tensor = tf.keras.Input(shape)
        return ModelInput(tensor, tensor, *shape)
    if not tf.is_tensor(input_tensor):
        raise ValueError(f"`input_tensor` must be a tensor, got {type(input_tensor).__name__}.")
    if not tf.keras.backend.is_keras_tensor(input_tensor):
        input_tensor = tf.keras.Input(tensor=input_tensor)
    shape = _check_shape(
        tuple(input_tensor.shape[1:]), "The shape of `input_tensor` (without the batch axis)"
    )
    if input_shape is not None and _check_shape(input_shape, "`input_shape`") != shape:
        raise ValueError(
            f"`input_shape` {tuple(input_shape)} does not match the shape of `input_tensor` "
            f"{shape}; pass only one of them."
        )
    return ModelInput(input_tensor, tf.keras.utils.get_source_inputs(input_tensor), *shape)


def top_arguments(
    include_top: bool,
    num_classes: int | None,
    pooling: str | None,
    classifier_activation: str | Callable | None,
    default_num_classes: int,
) -> Top:
    """Check the top arguments.

    ``num_classes=None`` means ``default_num_classes`` with ``include_top=True``; with
    ``include_top=False`` any other value is an error (there is no classifier to size), as is a
    ``classifier_activation``. ``pooling`` (``None``, ``"avg"``, ``"max"``) applies only to
    ``include_top=False``.
    """
    if not isinstance(include_top, bool):
        raise ValueError(f"`include_top` must be True or False, got {include_top!r}.")
    if pooling is not None:
        check_choice("pooling", pooling, _POOLINGS)
    if include_top:
        if pooling is not None:
            raise ValueError(
                f"`pooling={pooling!r}` applies only with include_top=False (the top already "
                "pools); remove it or set include_top=False."
            )
        if num_classes is None:
            num_classes = default_num_classes
        num_classes = check_int_at_least("num_classes", num_classes, 1)
        if classifier_activation is not None:
            try:
                tf.keras.activations.get(classifier_activation)
            except ValueError as error:
                raise ValueError(
                    f"Unknown `classifier_activation` {classifier_activation!r}: use None "
                    "(logits), 'softmax', another Keras activation name or a callable."
                ) from error
        return Top(True, num_classes, None, classifier_activation)
    if num_classes is not None:
        raise ValueError(
            f"`num_classes={num_classes!r}` was given with include_top=False, which builds no "
            "classifier; remove num_classes or set include_top=True."
        )
    if classifier_activation is not None:
        raise ValueError(
            f"`classifier_activation={classifier_activation!r}` was given with "
            "include_top=False, which builds no classifier; remove it or set include_top=True."
        )
    return Top(False, None, pooling, None)


def choose_stem(stem: str, inputs: ModelInput) -> str:
    """``"auto"`` → ``"cifar"`` if the shorter input side is below :data:`SMALL_INPUT_BELOW`
    (112) pixels, else ``"imagenet"``; ``"cifar"`` and ``"imagenet"`` are taken as given."""
    check_choice("stem", stem, STEMS)
    if stem != "auto":
        return stem
    return "cifar" if min(inputs.height, inputs.width) < SMALL_INPUT_BELOW else "imagenet"


def check_minimum_size(model_name: str, inputs: ModelInput, minimum: int, why: str) -> None:
    """Raise a ValueError naming ``minimum`` when either input side is smaller."""
    if min(inputs.height, inputs.width) < minimum:
        raise ValueError(
            f"{model_name} needs inputs of at least {minimum}×{minimum} pixels ({why}), got "
            f"{inputs.height}×{inputs.width}. Use a larger `input_shape`."
        )


def check_weights(weights: str | os.PathLike | None) -> Path | None:
    """The weights file to load after building, or None.

    Raises:
        ValueError: ``"imagenet"`` (no pretrained weights are shipped) or anything that is not
            a path ending in ``.weights.h5``, ``.h5`` or ``.keras``.
        FileNotFoundError: the file does not exist.
    """
    if weights is None:
        return None
    if isinstance(weights, str) and weights.lower() == "imagenet":
        raise ValueError(
            "weights='imagenet': bitnets-tf ships no pretrained weights. Train the model "
            "(model.fit, or bitnets_tf.training.two_step.TwoStepTrainer for the papers' "
            "two-step recipe), save them with model.save_weights('model.weights.h5') or "
            "model.save('model.keras'), and pass that path as `weights`."
        )
    if not isinstance(weights, (str, os.PathLike)) or not str(weights).endswith(WEIGHT_SUFFIXES):
        raise ValueError(
            "`weights` must be None or the path of a weights file ending in "
            f"{', '.join(WEIGHT_SUFFIXES)}; got {weights!r}."
        )
    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"Weights file not found: {str(path)!r}.")
    return path


def _load_weights(model: tf.keras.Model, path: Path) -> None:
    try:
        model.load_weights(str(path))
    except (OSError, KeyError, zipfile.BadZipFile) as error:  # these do not name the file
        raise ValueError(
            f"Cannot read the weights file {str(path)!r}: {type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}. It is truncated or corrupt; "
            "save the weights again."
        ) from None
    except ValueError as error:
        raise ValueError(
            f"Cannot load the weights in {str(path)!r} into {model.name}: {error} Build the "
            "model with the same arguments (input_shape, num_classes, include_top, variant, "
            "...) as the model that saved them."
        ) from error


def finish_model(
    name: str,
    inputs: ModelInput,
    features: tf.Tensor,
    top: Top,
    classifier: Callable[[tf.Tensor, int], tf.Tensor],
    weights: Path | None,
) -> tf.keras.Model:
    """Add the top (``classifier(features, num_classes)`` → logits, then the optional
    ``classifier_activation`` as a layer named ``predictions``) or the optional pooling, make
    the model and load ``weights``."""
    if top.include_top:
        outputs = classifier(features, top.num_classes)
        if top.classifier_activation is not None:
            outputs = tf.keras.layers.Activation(top.classifier_activation, name="predictions")(
                outputs
            )
    elif top.pooling is not None and features.shape.rank != 4:
        raise ValueError(
            f"{name} has no spatial feature map to pool (its features are "
            f"{features.shape.rank}-D); use pooling=None."
        )
    elif top.pooling == "avg":
        outputs = tf.keras.layers.GlobalAveragePooling2D(name="avg_pool")(features)
    elif top.pooling == "max":
        outputs = tf.keras.layers.GlobalMaxPooling2D(name="max_pool")(features)
    else:
        outputs = features
    model = tf.keras.Model(inputs.source, outputs, name=name)
    if weights is not None:
        _load_weights(model, weights)
    return model


def build_model(
    name: str,
    body: Callable[[ModelInput], tf.Tensor],
    classifier: Callable[[tf.Tensor, int], tf.Tensor],
    *,
    input_shape: tuple[int, int, int] | None,
    input_tensor: tf.Tensor | None,
    include_top: bool,
    num_classes: int | None,
    pooling: str | None,
    classifier_activation: str | Callable | None,
    weights: str | os.PathLike | None,
    default_input_shape: tuple[int, int, int] = (224, 224, 3),
    default_num_classes: int = 1000,
) -> tf.keras.Model:
    """The flow every zoo builder shares: check the top and weights arguments, make the input,
    ``body(input)`` → features (the body checks its minimum input size first), then
    :func:`finish_model`."""
    top = top_arguments(
        include_top, num_classes, pooling, classifier_activation, default_num_classes
    )
    weights_path = check_weights(weights)
    inputs = model_input(input_shape, input_tensor, default_input_shape)
    return finish_model(name, inputs, body(inputs), top, classifier, weights_path)


COMMON_ARGUMENTS_DOC = """
    Common arguments (as in ``keras.applications``):
        input_shape: ``(height, width, channels)`` with known sizes; default the family's
            (224×224×3 for the ImageNet families). Ignored in favour of ``input_tensor``.
        num_classes: classes of the classifier; None means the family's default (1000, or 10
            for BinaryNet). Must stay None with ``include_top=False``.
        include_top: add the classifier. Without it the model ends at the last feature map.
        weights: None (random initialization) or the path of a ``.weights.h5``, ``.h5`` or
            ``.keras`` file to ``load_weights`` from. No pretrained weights are shipped.
        input_tensor: a tensor to build the model on (e.g. the output of a preprocessing
            model).
        pooling: with ``include_top=False``: None (the 4-D feature map), ``"avg"`` or
            ``"max"`` (global pooling to a vector).
        classifier_activation: None (default: the model outputs **logits**; train with
            ``from_logits=True`` losses), ``"softmax"`` or any Keras activation.

    Raises:
        ValueError: a bad argument (named in the message), or an input smaller than the
            network's minimum (named in the message).
        FileNotFoundError: ``weights`` names a file that does not exist.
"""


def with_common_arguments_doc(builder: Callable) -> Callable:
    """Append :data:`COMMON_ARGUMENTS_DOC` to a builder's docstring."""
    builder.__doc__ = (builder.__doc__ or "").rstrip() + "\n" + COMMON_ARGUMENTS_DOC
    return builder
