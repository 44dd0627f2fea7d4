"""Loading models given by path (safely); the output file checks and the atomic writer
(:mod:`bitnets_tf._files`) are re-exported for the converter."""

from __future__ import annotations

import os
import zipfile

import tensorflow as tf

from bitnets_tf._files import check_writable, write_atomically

__all__ = [
    "UnsafeModelFileError",
    "check_writable",
    "load_keras_model",
    "write_atomically",
]

_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
_UNSAFE_HELP = (
    "Loading it can run Python code stored in the file (a Lambda layer's function), so it is "
    "refused by default. If you trust the file, pass allow_unsafe=True (CLI: --allow-unsafe); "
    "better, load it once in a trusted session and re-save it with model.save('model.keras')."
)


class UnsafeModelFileError(ValueError):
    """A model file whose loading could run code from the file, without the caller's opt-in."""


def load_keras_model(source, allow_unsafe: bool = False) -> tf.keras.Model:
    """``source`` itself if it is a Keras model, else the model saved at that path.

    ``.keras`` files load in Keras's safe mode (a Lambda layer with Python code is refused).
    Legacy ``.h5`` files and SavedModel directories cannot be loaded without running such code,
    so they load only with ``allow_unsafe=True``; that also turns safe mode off for ``.keras``.

    Raises:
        TypeError: ``source`` is neither a tf.keras model nor a path.
        FileNotFoundError: the path does not exist.
        UnsafeModelFileError: an ``.h5`` file or SavedModel without ``allow_unsafe=True``, or a
            ``.keras`` file with a Lambda layer (its message says what to do).
        ValueError: the file is not a loadable Keras model.
    """
    if isinstance(source, tf.keras.Model):
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "Expected a tf.keras.Model (tf-keras, i.e. after `import bitnets_tf`) or the path "
            f"of a .keras/.h5 file, got {type(source).__module__}.{type(source).__name__}."
        )
    path = os.fspath(source)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such model file: {path!r}.")
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path!r} is not a valid .keras file (not a zip archive): it is corrupt or "
            "truncated. Save the model again with model.save('model.keras')."
        )
    is_saved_model = os.path.isdir(path)
    if not path.endswith(_MODEL_SUFFIXES) and not is_saved_model:
        raise ValueError(f"{path!r}: expected a .keras or .h5 file, or a SavedModel directory.")
    if not path.endswith(".keras") and not allow_unsafe:
        kind = "a SavedModel directory" if is_saved_model else "a legacy .h5 file"
        raise UnsafeModelFileError(f"{path!r} is {kind}. {_UNSAFE_HELP}")
    try:
        return tf.keras.models.load_model(path, compile=False, safe_mode=not allow_unsafe)
    except Exception as error:  # Keras raises many types for damaged files
        text = str(error)
        if "Lambda" in text and "safe_mode" in text:
            raise UnsafeModelFileError(
                f"{path!r} contains a Lambda layer with Python code. {_UNSAFE_HELP}"
            ) from None
        raise ValueError(
            f"Could not load a Keras model from {path!r}: {type(error).__name__}: "
            f"{text.splitlines()[0] if text else ''}. The file is corrupt, or it "
            "uses custom layers that are not registered (import their module first)."
        ) from None
