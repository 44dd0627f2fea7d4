"""Registration of bitnets_tf objects with Keras, so saved models load without custom_objects.

Every class is registered as ``bitnets_tf>ClassName`` (what ``.keras`` files and layer configs
store) and also under its bare class name when no other object owns that name: the legacy
``.h5`` loader resolves objects nested in a layer's config (quantizers) by their bare
``class_name``. Where larq already owns the bare name (``DoReFa``, the ``Quant*`` layers) the
bare name stays larq's; larq's class computes the same function.
"""

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
        custom_objects = tf.keras.utils.get_custom_objects()
        custom_objects.setdefault(cls.__name__, cls)
        if alias is not None:
            custom_objects[alias] = cls
        return cls

    return decorator
