"""Classify an image with a bitnets-tf ``.tflite`` on a device without TensorFlow.

This file is standalone on purpose: it needs only numpy, Pillow and one TFLite runtime
(``ai-edge-litert``, ``tflite-runtime`` or ``tensorflow``), so it can be copied to a
Raspberry Pi and run there::

    python3 edge.py fashion_mnist_int8.tflite --input shoe.png --top 3

It reads the ``"bitnets_tf"`` metadata from the flatbuffer (labels, normalisation), converts
the image like ``bitnets-tf run`` does (Pillow: ITU-R 601-2 luma for 1-channel models, RGB for
3-channel ones, bilinear resize, ``x = (pixel - mean[c]) / std[c]``) and prints the top
classes and the median latency. bitnets_tf.deploy uses the same functions on the host.
Models with larq-compute-engine operators (``lce`` target) run where bitnets-tf is installed
with its kernels built (:mod:`bitnets_tf.runtime`, registered into ``tf.lite``'s interpreter).
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
import warnings

import numpy as np

METADATA_NAME = "bitnets_tf"
IMAGE_MODES = {1: "L", 3: "RGB"}


def _u32(data: bytes, at: int) -> int:
    return struct.unpack_from("<I", data, at)[0]


def _field(data: bytes, table: int, index: int) -> int:
    """Absolute position of field ``index`` of the FlatBuffer table at ``table`` (0: absent).
    A table starts with an int32 offset back to its vtable of uint16 [vtable size, table size,
    field offsets...]."""
    vtable = table - struct.unpack_from("<i", data, table)[0]
    slot = 4 + 2 * index
    if slot >= struct.unpack_from("<H", data, vtable)[0]:
        return 0
    offset = struct.unpack_from("<H", data, vtable + slot)[0]
    return table + offset if offset else 0


def _vector(data: bytes, field: int) -> tuple[int, int]:
    """(start of the elements, length) of the vector a reference field points to."""
    vector = field + _u32(data, field)
    return vector + 4, _u32(data, vector)


def read_metadata(model: bytes) -> dict | None:
    """The JSON stored under ``"bitnets_tf"`` in a .tflite file's metadata table, or None.

    Schema (tensorflow/lite/schema/schema.fbs): the root ``Model`` has ``buffers`` (field 4)
    and ``metadata`` (field 6, ``[Metadata{name: string, buffer: uint}]``); a ``Buffer``
    keeps its bytes in ``data`` (field 0).

    Raises:
        ValueError: not a TFLite flatbuffer, or a corrupt one.
    """
    if len(model) < 8 or model[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (no 'TFL3' identifier)")
    try:
        root = _u32(model, 0)
        metadata = _field(model, root, 6)
        if not metadata:
            return None
        start, count = _vector(model, metadata)
        for i in range(count):
            entry = start + 4 * i + _u32(model, start + 4 * i)
            name_field = _field(model, entry, 0)
            name_start, name_length = _vector(model, name_field) if name_field else (0, 0)
            if model[name_start : name_start + name_length] != METADATA_NAME.encode():
                continue
            buffer_field = _field(model, entry, 1)
            index = _u32(model, buffer_field) if buffer_field else 0
            buffers, buffer_count = _vector(model, _field(model, root, 4))
            if index >= buffer_count:
                raise ValueError(f"metadata buffer index {index} out of range")
            buffer = buffers + 4 * index + _u32(model, buffers + 4 * index)
            data_start, data_length = _vector(model, _field(model, buffer, 0))
            if data_start + data_length > len(model):
                raise ValueError("metadata runs past the end of the file")
            return json.loads(model[data_start : data_start + data_length].decode())
    except (struct.error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"corrupt TFLite flatbuffer ({error})") from None
    return None


def pixels_for_model(image, input_shape) -> tuple[np.ndarray, list[str]]:
    """A ``PIL.Image`` as float32 0..255 pixels of shape ``input_shape`` (h, w, c), and notes on
    what was changed (colour conversion, dropped alpha, bilinear resize).

    Raises:
        ValueError: the model takes neither 1 nor 3 channels.
    """
    from PIL import Image

    height, width, channels = (int(v) for v in input_shape)
    if channels not in IMAGE_MODES:
        raise ValueError(
            f"The model takes {channels}-channel input; image files can only feed 1-channel "
            "(grayscale) or 3-channel (RGB) models. Feed such a model arrays through the "
            "Python API instead."
        )
    notes = []
    mode = IMAGE_MODES[channels]
    if "A" in image.getbands():
        notes.append("dropped the alpha channel")
    if image.mode != mode:
        notes.append(f"converted the {image.mode} image to {mode}")
        image = image.convert(mode)
    if image.size != (width, height):
        notes.append(
            f"resized the image from {image.size[0]}x{image.size[1]} to {width}x{height} (bilinear)"
        )
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32).reshape(height, width, channels), notes


def normalise(pixels: np.ndarray, mean, std) -> np.ndarray:
    """``(pixels - mean[c]) / std[c]`` in float32 (a single mean/std applies to all channels)."""
    mean_array = np.asarray(mean, np.float32)
    std_array = np.asarray(std, np.float32)
    return ((pixels.astype(np.float32) - mean_array) / std_array).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    """``exp(z_i - max z) / sum_j exp(z_j - max z)`` (numerically stable)."""
    shifted = np.exp(logits - np.max(logits))
    return shifted / shifted.sum()


def ranked(
    scores, k: int, labels=(), output: str = "logits"
) -> list[tuple[int, str, float, float]]:
    """The ``k`` best ``(index, label, probability, score)``, best first, ties by index.
    Probabilities are the softmax of the scores for ``output="logits"``, else the scores."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"top_k must be an integer >= 1, got {k!r}.")
    scores = np.asarray(scores, np.float64).reshape(-1)
    probabilities = softmax(scores) if output == "logits" else scores
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    return [
        (
            i,
            labels[i] if i < len(labels) else f"class {i}",
            float(probabilities[i]),
            float(scores[i]),
        )
        for i in order
    ]


def stock_interpreter(model: bytes, threads: int):
    """For a model with ``Lce*`` operators, bitnets-tf's runtime (``tf.lite`` with kernels for
    them) if installed; otherwise ai-edge-litert, tflite-runtime or tensorflow's tf.lite: the
    order of bitnets_tf.tflite.interpreters, repeated here so this file runs alone."""
    if b"Lce" in model:  # the custom operators' names are stored as plain strings
        try:
            from bitnets_tf import runtime

            if runtime.available():
                return runtime.make_interpreter(model, num_threads=threads)
        except ImportError:
            pass
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            import tensorflow as tf

            Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite's "deprecated, use ai_edge_litert"
        interpreter = Interpreter(model_content=model, num_threads=threads)
    interpreter.allocate_tensors()
    return interpreter


def quantize(value: np.ndarray, dtype, scale: float, zero_point: int) -> np.ndarray:
    """A float input for a tensor of ``dtype``: unchanged for float32, else
    ``clip(round(x / scale) + zero_point)`` to the integer range (round half to even)."""
    if np.dtype(dtype) == np.float32:
        return np.asarray(value, np.float32)
    info = np.iinfo(dtype)
    q = np.round(np.asarray(value, np.float32) / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(value: np.ndarray, dtype, scale: float, zero_point: int) -> np.ndarray:
    """``(q - zero_point) * scale`` for an integer tensor; float32 values pass through."""
    if np.dtype(dtype) == np.float32:
        return value
    return ((value.astype(np.float32) - zero_point) * scale).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a bitnets-tf .tflite (int8, float, or lce with bitnets-tf)")
    parser.add_argument("--input", required=True, help="image file")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=20, help="timed invocations")
    args = parser.parse_args(argv)
    from PIL import Image

    with open(args.model, "rb") as handle:
        model = handle.read()
    metadata = read_metadata(model)
    if metadata is None:
        parser.error(f"{args.model} has no bitnets_tf metadata (labels, normalisation)")
    interpreter = stock_interpreter(model, args.threads)
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    with Image.open(args.input) as image:
        pixels, notes = pixels_for_model(image, metadata["input_shape"])
    x = normalise(pixels, metadata["input_mean"], metadata["input_std"])[np.newaxis]
    interpreter.set_tensor(source["index"], quantize(x, source["dtype"], *source["quantization"]))
    seconds = []
    for _ in range(max(args.runs, 1)):
        start = time.perf_counter()
        interpreter.invoke()
        seconds.append(time.perf_counter() - start)
    raw = interpreter.get_tensor(target["index"])
    scores = dequantize(raw, target["dtype"], *target["quantization"])[0]
    for note in notes:
        print(f"note: {note}")
    labels, output = metadata.get("labels", []), metadata.get("output", "logits")
    best = ranked(scores, args.top, labels, output)
    for rank, (index, label, probability, _) in enumerate(best, 1):
        print(f"{rank}. {label}  {100 * probability:.2f} %  (class {index})")
    print(f"latency: median {1e3 * float(np.median(seconds)):.3f} ms over {len(seconds)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
