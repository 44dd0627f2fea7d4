"""Registration of bitnets_tf objects with Keras, so saved models load without custom_objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import tensorflow as tf

PACKAGE = "bitnets_tf"

T = TypeVar("T", bound=type)


def register(alias: str | None = None) -> Callable[[T], T]:
    """Register ``cls`` as ``bitnets_tf>ClassName`` and, optionally, under a string alias.

    The alias is what users pass as ``kernel_quantizer="alias"`` to larq layers; the
    package-qualified name is what ``model.save(...)`` writes and ``load_model`` resolves.
    """

    def decorator(cls: T) -> T:
        cls = tf.keras.utils.register_keras_serializable(package=PACKAGE)(cls)
        if alias is not None:
            tf.keras.utils.get_custom_objects()[alias] = cls
        return cls

    return decorator
