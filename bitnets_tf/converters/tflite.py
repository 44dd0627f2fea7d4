"""Stock TFLite: SavedModel export, the ``float`` target and the stock interpreter."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow as tf

from bitnets_tf.converters.flatbuffer import keras_order
from bitnets_tf.converters.stock_runtime import stock_interpreter


def save_model(model: tf.keras.Model, directory: str) -> None:
    """Write ``model`` as a SavedModel (the format both converters read). Our binary
    ``QuantDense`` exports as a 1×1 convolution while this runs."""
    model.save(directory, save_format="tf", include_optimizer=False)


def convert_float(saved_model_dir: str) -> bytes:
    """Float32 flatbuffer with TFLite builtin operators only."""
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


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


def in_keras_order(outputs: list[np.ndarray], order: list[int]) -> list[np.ndarray]:
    """``outputs`` (interpreter order) rearranged so that Keras output ``order[j]`` is
    ``outputs[j]``."""
    arranged = [outputs[0]] * len(outputs)
    for output, position in zip(outputs, order, strict=True):
        arranged[position] = output
    return arranged


def keyed_samples(samples: Sequence[list[np.ndarray]]) -> Iterator[list | dict]:
    """Calibration samples for a converter of a ``tf.function(*inputs)``: with several inputs,
    dicts keyed by the signature's names ``inputs_0``, ``inputs_1``, ... so that the
    calibrator matches them by name, not in the order the converter chose for its tensors."""
    for sample in samples:
        yield sample if len(sample) == 1 else {f"inputs_{i}": a for i, a in enumerate(sample)}
