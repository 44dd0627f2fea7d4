"""Bind ``tf.keras`` to Keras 2 (tf-keras) before larq or TensorFlow's Keras is touched.

larq, and therefore everything in bitnets_tf, is written against Keras 2. TensorFlow >= 2.16
routes ``tf.keras`` to Keras 3 unless ``TF_USE_LEGACY_KERAS`` is set when ``tf.keras`` is first
resolved, so this module sets it when the user has not, and fails with instructions when the
process already bound ``tf.keras`` to Keras 3.
"""

from __future__ import annotations

import importlib.util
import os
import sys

_TRUE_VALUES = ("1", "true", "True")
_HOW_TO_FIX = (
    "Set the environment variable TF_USE_LEGACY_KERAS=1 before TensorFlow first uses "
    "tf.keras (`export TF_USE_LEGACY_KERAS=1` in the shell, or "
    '`os.environ["TF_USE_LEGACY_KERAS"] = "1"` as the first line of the program), or '
    "`import bitnets_tf` before anything touches tf.keras; then restart the Python process "
    "(in Colab/Jupyter: restart the runtime)."
)


def select_legacy_keras() -> None:
    """Make ``tf.keras`` resolve to tf-keras, or raise ImportError saying how to get there."""
    if importlib.util.find_spec("tf_keras") is None:
        raise ImportError(
            "bitnets_tf needs tf-keras (Keras 2), which larq is built on, but it is not "
            "installed. Install the version matching TensorFlow, e.g. "
            "`pip install 'tf-keras>=2.16,<2.22'`."
        )
    requested = os.environ.get("TF_USE_LEGACY_KERAS")
    if requested is None:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
    elif requested not in _TRUE_VALUES:
        raise ImportError(
            f"TF_USE_LEGACY_KERAS={requested!r} asks TensorFlow for Keras 3, but bitnets_tf "
            "and larq need Keras 2 (tf-keras). " + _HOW_TO_FIX
        )

    import tensorflow as tf

    bound_module = tf.keras.Model.__module__
    if not bound_module.startswith("tf_keras"):
        _raise_bound_to_keras3(bound_module)
    _route_module_imports_to_tf_keras(tf)


def _raise_bound_to_keras3(what: str) -> None:
    raise ImportError(
        "bitnets_tf needs Keras 2 (tf-keras) because larq does, but tf.keras is already "
        f"bound to Keras 3 ({what}) in this process: something used tf.keras "
        "before TF_USE_LEGACY_KERAS was set. " + _HOW_TO_FIX
    )


def _route_module_imports_to_tf_keras(tf) -> None:
    """Make ``from tensorflow.keras.x import y`` (as larq does) load tf-keras too.

    The ``tf.keras`` attribute is resolved lazily, but module-path imports go through
    ``tensorflow.__path__``, which TensorFlow fixes when it is first imported. When it was
    imported before TF_USE_LEGACY_KERAS was set, swap Keras 3's directory for tf-keras's, as
    TensorFlow itself would have done.
    """
    if getattr(tf, "_tf_uses_legacy_keras", True):
        return
    imported = [name for name in sys.modules if name.startswith("tensorflow.keras")]
    if imported:
        _raise_bound_to_keras3(f"module {imported[0]} is imported")
    from tensorflow.python.tools import module_util

    keras3_dir = module_util.get_parent_dir_for_name("keras.api._v2.keras")
    legacy_dir = module_util.get_parent_dir_for_name("tf_keras.api._v2.keras")
    tf.__path__[:] = [legacy_dir if entry == keras3_dir else entry for entry in tf.__path__]
    tf._tf_uses_legacy_keras = True
