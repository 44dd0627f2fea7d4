"""Loading models given by path, and writing files atomically (temp file + ``os.replace``)."""

from __future__ import annotations

import os
import tempfile
import zipfile

import tensorflow as tf

_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


def load_keras_model(source) -> tf.keras.Model:
    """``source`` itself if it is a Keras model, else the model saved at that path.

    Raises:
        TypeError: ``source`` is neither a tf.keras model nor a path.
        FileNotFoundError: the path does not exist.
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
    if not path.endswith(_MODEL_SUFFIXES) and not os.path.isdir(path):
        raise ValueError(f"{path!r}: expected a .keras or .h5 file, or a SavedModel directory.")
    try:
        return tf.keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for damaged files
        raise ValueError(
            f"Could not load a Keras model from {path!r}: {type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}. The file is corrupt, or it "
            "uses custom layers that are not registered (import their module first)."
        ) from None


def check_writable(path: str) -> str:
    """The absolute ``path`` if a file can be created there.

    Raises:
        FileNotFoundError: the directory does not exist.
        PermissionError: the directory is not writable.
        IsADirectoryError: ``path`` is a directory.
    """
    path = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"Output path {path!r} is a directory; give a file name.")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Output directory {directory!r} does not exist; create it first.")
    if not os.access(directory, os.W_OK):
        raise PermissionError(f"Output directory {directory!r} is not writable.")
    return path


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the complete new one,
    never a partial file; nothing is left behind if writing fails."""
    path = check_writable(path)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
