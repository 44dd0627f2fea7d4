"""Zoo models by name (timm-style): :func:`create_model` and :func:`list_models`."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from bitnets_tf.zoo.binarynet import BinaryNet
from bitnets_tf.zoo.birealnet import BiRealNet
from bitnets_tf.zoo.reactnet import ReActNet
from bitnets_tf.zoo.ternary_resnet import TernaryResNet18
from bitnets_tf.zoo.xnornet import XNORNet

__all__ = ["create_model", "list_models"]

# name -> (builder, the arguments the name fixes)
_MODELS: dict[str, tuple[Callable[..., tf.keras.Model], dict]] = {
    "binarynet_mlp": (BinaryNet, {"variant": "mlp"}),
    "binarynet_cnn": (BinaryNet, {"variant": "cnn"}),
    "xnornet_alexnet": (XNORNet, {}),
    "birealnet18": (BiRealNet, {"depth": 18}),
    "birealnet34": (BiRealNet, {"depth": 34}),
    "reactnet_a": (ReActNet, {"variant": "A"}),
    "reactnet_resnet18": (ReActNet, {"variant": "resnet18"}),
    "ternary_resnet18": (TernaryResNet18, {}),
}


def list_models() -> list[str]:
    """The names :func:`create_model` accepts, sorted."""
    return sorted(_MODELS)


def create_model(name: str, **kwargs) -> tf.keras.Model:
    """Build the zoo model ``name`` with the builder's keyword arguments.

    ``"xnornet_alexnet"`` takes ``variant="xnor"`` (default) or ``"bwn"``;
    ``"ternary_resnet18"`` takes ``variant="twn"`` (default) or ``"ttq"``. The other names fix
    their variant or depth.

    Example: ``create_model("reactnet_a", input_shape=(32, 32, 3), num_classes=10)``.

    Raises:
        ValueError: an unknown name (the message lists :func:`list_models`), an argument that
            contradicts the name (e.g. ``create_model("birealnet18", depth=34)``), or any
            error of the builder.
    """
    if name not in _MODELS:
        raise ValueError(f"Unknown model {name!r}. Available models: {', '.join(list_models())}.")
    builder, fixed = _MODELS[name]
    for key, value in fixed.items():
        if key in kwargs and kwargs[key] != value:
            raise ValueError(
                f"Model {name!r} is {builder.__name__} with {key}={value!r}; got "
                f"{key}={kwargs[key]!r}. Pick the model name for that {key} "
                f"(see list_models()) or call {builder.__name__} directly."
            )
    return builder(**{**kwargs, **fixed})
