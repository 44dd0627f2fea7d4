"""Reading the IDX files of MNIST-style datasets (plain or gzip), with checked headers.

IDX layout (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian uint32 magic
``0x0000TTDD`` (TT = element type, 0x08 = unsigned byte; DD = number of dimensions), one
big-endian uint32 per dimension, then ``prod(dims)`` elements. Images are ``0x00000803``
(count, rows, cols) and labels ``0x00000801`` (count).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

UNSIGNED_BYTE = 0x08
IMAGE_NDIM = 3
LABEL_NDIM = 1
GZIP_MAGIC = b"\x1f\x8b"
# The largest payload read_idx accepts: 1 GiB, 20x the MNIST training images.
MAX_IDX_BYTES = 1 << 30

# (images, labels) file names of each split, without the optional ".gz".
IDX_FILE_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class IdxFormatError(ValueError):
    """An IDX file is truncated, corrupt, or not the kind of IDX file expected."""


@dataclass(frozen=True)
class IdxSplitFiles:
    """The image and label files of one split, as found on disk."""

    images: Path
    labels: Path


def find_split_files(directory: Path, split: str) -> tuple[IdxSplitFiles | None, list[str]]:
    """The ``split`` files in ``directory`` (plain name preferred over ``.gz``).

    Returns ``(files, [])`` when both exist, else ``(None, names_of_missing_files)``.
    """
    found, missing = [], []
    for base in IDX_FILE_NAMES[split]:
        candidates = [directory / base, directory / f"{base}.gz"]
        present = [path for path in candidates if path.is_file()]
        if present:
            found.append(present[0])
        else:
            missing.append(f"{base}[.gz]")
    if missing:
        return None, missing
    return IdxSplitFiles(images=found[0], labels=found[1]), []


def read_split(
    files: IdxSplitFiles, image_shape: tuple[int, int], num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, rows, cols)`` uint8 and labels ``(n,)`` uint8, checked against each other.

    Raises IdxFormatError naming the file when the counts differ, the images are not
    ``image_shape`` or a label is outside ``[0, num_classes)``.
    """
    images = read_idx(files.images, IMAGE_NDIM)
    labels = read_idx(files.labels, LABEL_NDIM)
    if images.shape[1:] != tuple(image_shape):
        raise IdxFormatError(
            f"{files.images}: images are {images.shape[1]}x{images.shape[2]}, expected "
            f"{image_shape[0]}x{image_shape[1]}; is this the right dataset?"
        )
    if len(images) != len(labels):
        raise IdxFormatError(
            f"{files.images} has {len(images)} images but {files.labels} has {len(labels)} "
            "labels; the two files must come from the same split of the same dataset."
        )
    if labels.size and int(labels.max()) >= num_classes:
        raise IdxFormatError(
            f"{files.labels}: label {int(labels.max())} is outside [0, {num_classes}); "
            "is this the right dataset?"
        )
    return images, labels


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """The uint8 array stored in the IDX file ``path`` (gzip detected from its content).

    ``ndim`` is the number of dimensions expected (3 for images, 1 for labels). The header is
    read and checked first, and at most one byte more than it promises is ever read or
    decompressed, so a gzip bomb or a header promising absurd sizes fails early
    (:data:`MAX_IDX_BYTES`).
    """
    path = Path(path)
    try:
        with _open(path) as file:
            dims = _read_header(path, file, ndim)
            expected_bytes = int(np.prod(dims, dtype=np.int64))
            if expected_bytes > MAX_IDX_BYTES:
                raise IdxFormatError(
                    f"{path}: the header promises dimensions {dims} = {expected_bytes} bytes, "
                    f"more than the {MAX_IDX_BYTES} bytes an IDX dataset file may hold; the "
                    "file is corrupt or not a dataset file."
                )
            payload = file.read(expected_bytes + 1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise IdxFormatError(
            f"{path}: corrupt or truncated gzip data ({error}). Copy or download it again."
        ) from error
    if len(payload) != expected_bytes:
        problem = "it is truncated" if len(payload) < expected_bytes else "it is corrupt"
        held = len(payload) if len(payload) < expected_bytes else "more"
        raise IdxFormatError(
            f"{path}: the header promises dimensions {dims} = {expected_bytes} bytes of data, "
            f"but the file holds {held}; {problem}. Copy or download it again."
        )
    return np.frombuffer(payload, np.uint8).reshape(dims)


def _open(path: Path) -> BinaryIO:
    with path.open("rb") as file:
        compressed = file.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else path.open("rb")


def _read_header(path: Path, file: BinaryIO, ndim: int) -> tuple[int, ...]:
    """The dimensions in the header of an IDX file of unsigned bytes with ``ndim`` dims."""
    expected_magic = (UNSIGNED_BYTE << 8) | ndim
    raw = file.read(4)
    if len(raw) < 4:
        raise IdxFormatError(f"{path}: {len(raw)} bytes is too short for an IDX header.")
    (magic,) = struct.unpack(">I", raw)
    if magic != expected_magic:
        kind = "image" if ndim == IMAGE_NDIM else "label"
        raise IdxFormatError(
            f"{path}: magic number 0x{magic:08x}, expected 0x{expected_magic:08x} (an IDX "
            f"{kind} file of unsigned bytes with {ndim} dimension(s)); the file is corrupt, "
            "or images and labels are swapped."
        )
    raw = file.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise IdxFormatError(f"{path}: the file ends inside its header; it is truncated.")
    return struct.unpack(f">{ndim}I", raw)
