"""Stock TFLite: SavedModel export, the ``float`` target and the stock interpreter."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

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


def run_tflite(flatbuffer: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Outputs of the stock interpreter for a batch, one sample at a time (the converted
    models have batch size 1); int8 inputs and outputs are (de)quantized."""
    interpreter = stock_interpreter(flatbuffer)
    input_details = interpreter.get_input_details()
    output_details = interpreter.get_output_details()
    results: list[list[np.ndarray]] = [[] for _ in output_details]
    for index in range(len(inputs[0])):
        for detail, batch in zip(input_details, inputs, strict=True):
            interpreter.set_tensor(detail["index"], _to_input(batch[index : index + 1], detail))
        interpreter.invoke()
        for result, detail in zip(results, output_details, strict=True):
            result.append(_from_output(interpreter.get_tensor(detail["index"]), detail))
    return [np.concatenate(result) for result in results]
