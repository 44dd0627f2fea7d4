"""Loading models given by path (safely), and writing files atomically (temp file +
``os.replace``) with the permissions a normal ``open()`` would give."""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile

import tensorflow as tf

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


def check_writable(path: str | os.PathLike) -> str:
    """The absolute ``path`` if a file can be created there, proven by creating (and removing)
    a temporary file beside it; permission bits alone mislead (root, read-only mounts,
    ``/proc``).

    Raises:
        FileNotFoundError: the directory does not exist.
        PermissionError: no file can be created there (permissions, a read-only or full
            file system, a pseudo file system such as ``/proc``).
        IsADirectoryError: ``path`` is a directory.
    """
    path = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"Output path {path!r} is a directory; give a file name.")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Output directory {directory!r} does not exist; create it first.")
    try:
        handle, probe = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".probe")
    except OSError as error:
        raise PermissionError(
            f"Cannot write {path!r}: creating a file in {directory!r} failed "
            f"({error.strerror or error}). Choose a writable directory."
        ) from None
    os.close(handle)
    os.remove(probe)
    return path


def created_file_mode() -> int:
    """The permission bits ``open(path, "w")`` gives a new file: 0o666 minus the umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the complete new one,
    never a partial file; nothing is left behind if writing fails. The file gets the usual
    permissions (0644 under the common umask 022), not the 0600 of a temporary file."""
    path = check_writable(path)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            os.fchmod(file.fileno(), created_file_mode())
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
