"""Deployment metadata (labels, input normalisation, ...) stored inside the ``.tflite`` file,
as JSON in the flatbuffer's metadata table under the name ``"bitnets_tf"``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from bitnets_tf.tflite import flatbuffer

METADATA_NAME = "bitnets_tf"


def encode_metadata(metadata: Mapping) -> bytes:
    """UTF-8 JSON of ``metadata``.

    Raises:
        TypeError: ``metadata`` is not a mapping with string keys, or holds values JSON cannot
            represent (convert numpy arrays with ``.tolist()``).
    """
    if not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata):
        raise TypeError(f"metadata must be a dict with string keys, got {type(metadata).__name__}.")
    try:
        return json.dumps(dict(metadata), sort_keys=True).encode()
    except TypeError as error:
        raise TypeError(
            f"metadata must be JSON-serializable ({error}); convert numpy values with "
            ".tolist() or float()."
        ) from None


def attach_metadata(model: bytes, metadata: Mapping) -> bytes:
    """``model`` with ``metadata`` stored under ``"bitnets_tf"`` (replacing an earlier one)."""
    return flatbuffer.write_metadata(model, METADATA_NAME, encode_metadata(metadata))


def read_metadata(flatbuffer_or_path: bytes | str | os.PathLike) -> dict | None:
    """The metadata dict attached by ``convert(..., metadata=...)``, or None if there is none.

    Raises:
        FileNotFoundError / ValueError: the file does not exist or is not a TFLite flatbuffer.
    """
    model = flatbuffer.load_flatbuffer(flatbuffer_or_path)
    data = flatbuffer.read_metadata_entry(model, METADATA_NAME)
    if data is None:
        return None
    try:
        return json.loads(data.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"The {METADATA_NAME!r} metadata entry is not valid JSON: {error}."
        ) from None
