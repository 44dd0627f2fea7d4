"""Stock TFLite conversion: SavedModel export, the ``float`` target and calibration samples."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow as tf
from tensorflow.python.saved_model import save_context
from tf_keras.src.saving.legacy import saving_utils

__all__ = ["convert_float", "keyed_samples", "save_model"]


# The converters read the forward graph only: no gradients of custom-gradient ops (the
# quantizers' straight-through estimators) are traced.
_SAVE_OPTIONS = tf.saved_model.SaveOptions(experimental_custom_gradients=False)


def save_model(model: tf.keras.Model, directory: str) -> None:
    """Write ``model`` as a SavedModel with its serving signature only (the format both
    converters read): no traced function per layer, which only Keras's own loader uses."""
    model.save(
        directory,
        save_format="tf",
        include_optimizer=False,
        save_traces=False,
        signatures=_serving_signature(model),
        options=_SAVE_OPTIONS,
    )


def _serving_signature(model: tf.keras.Model):
    """Keras's default serving function of ``model``, traced as during an export (our binary
    ``QuantDense`` exports as a 1×1 convolution, border corrections become padding)."""
    with save_context.save_context(_SAVE_OPTIONS):
        return saving_utils.trace_model_call(model)


def convert_float(saved_model_dir: str) -> bytes:
    """Float32 flatbuffer with TFLite builtin operators only."""
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def keyed_samples(samples: Sequence[list[np.ndarray]]) -> Iterator[list | dict]:
    """Calibration samples for a converter of a ``tf.function(*inputs)``: with several inputs,
    dicts keyed by the signature's names ``inputs_0``, ``inputs_1``, ... so that the
    calibrator matches them by name, not in the order the converter chose for its tensors."""
    for sample in samples:
        yield sample if len(sample) == 1 else {f"inputs_{i}": a for i, a in enumerate(sample)}
