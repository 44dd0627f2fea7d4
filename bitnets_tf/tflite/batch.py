"""A batch through an interpreter, inputs and outputs in the Keras model's order: how the
converters verify a ``.tflite`` against the model it came from."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bitnets_tf.tflite.flatbuffer import keras_order
from bitnets_tf.tflite.interpreters import lce_interpreter, stock_interpreter


def _to_input(value: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] == np.float32:
        return value.astype(np.float32)
    scale, zero_point = detail["quantization"]
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(value / scale + zero_point), info.min, info.max).astype(detail["dtype"])


def _from_output(value: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] == np.float32:
        return value
    scale, zero_point = detail["quantization"]
    return (value.astype(np.float32) - zero_point) * scale


def run_tflite(
    flatbuffer: bytes,
    inputs: list[np.ndarray],
    input_names: Sequence[str] = (),
    output_names: Sequence[str] = (),
) -> list[np.ndarray]:
    """Outputs of the stock interpreter for a batch, one sample at a time (the converted
    models have batch size 1); int8 inputs and outputs are (de)quantized.

    ``inputs`` and the returned outputs are in the Keras model's order; with several of them,
    ``input_names`` / ``output_names`` (``model.input_names``, ``model.output_names``) match
    them to the interpreter's tensors by the file's signature (:func:`keras_order`)."""
    input_order, output_order = keras_order(flatbuffer, input_names, output_names)
    interpreter = stock_interpreter(flatbuffer)
    input_details = interpreter.get_input_details()
    output_details = interpreter.get_output_details()
    results: list[list[np.ndarray]] = [[] for _ in output_details]
    for index in range(len(inputs[0])):
        for detail, position in zip(input_details, input_order, strict=True):
            sample = inputs[position][index : index + 1]
            interpreter.set_tensor(detail["index"], _to_input(sample, detail))
        interpreter.invoke()
        for result, detail in zip(results, output_details, strict=True):
            result.append(_from_output(interpreter.get_tensor(detail["index"]), detail))
    # np.atleast_1d: a scalar tensor (kept as an extra output when verifying) per sample
    stacked = [np.concatenate([np.atleast_1d(v) for v in result]) for result in results]
    return in_keras_order(stacked, output_order)


def run_lce(
    flatbuffer: bytes,
    inputs: list[np.ndarray],
    input_names: Sequence[str] = (),
    output_names: Sequence[str] = (),
) -> list[np.ndarray]:
    """Outputs of the LCE interpreter (single-threaded) for a batch, in the Keras model's
    order (one list entry per model input/output; names as for :func:`run_tflite`)."""
    input_order, output_order = keras_order(flatbuffer, input_names, output_names)
    ordered = [inputs[position] for position in input_order]
    outputs = lce_interpreter(flatbuffer).predict(ordered if len(ordered) > 1 else ordered[0])
    return in_keras_order(list(outputs) if isinstance(outputs, list) else [outputs], output_order)


def in_keras_order(outputs: list[np.ndarray], order: list[int]) -> list[np.ndarray]:
    """``outputs`` (interpreter order) rearranged so that Keras output ``order[j]`` is
    ``outputs[j]``."""
    arranged = [outputs[0]] * len(outputs)
    for output, position in zip(outputs, order, strict=True):
        arranged[position] = output
    return arranged
