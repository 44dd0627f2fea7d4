"""IDX files (the MNIST format: big-endian header, then unsigned bytes) written by tests."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> None:
    """``array`` as an unsigned-byte IDX file at ``path``, gzip-compressed when ``gz``."""
    header = struct.pack(f">I{array.ndim}I", 0x0800 | array.ndim, *array.shape)
    payload = header + np.ascontiguousarray(array, np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)
