"""Writing files atomically (temp file + ``os.replace``, synced, nothing left behind on
failure) with the permissions a normal ``open()`` would give, and checking beforehand that an
output file can be created."""

from __future__ import annotations

import contextlib
import os
import tempfile


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
