"""The ``lce`` target: larq-compute-engine's bitpacked operators for its ARM runtime.

Conversion goes through a SavedModel that we write ourselves, so LCE's own fallback
(``convert_keras_model`` warns "Saved-model conversion failed, falling back to graphdef-based
conversion" and carries on with a different converter) can never happen: a failed export is an
error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bitnets_tf.converters.flatbuffer import keras_order
from bitnets_tf.converters.tflite import in_keras_order


def convert_saved_model(saved_model_dir: str) -> bytes:
    """LCE flatbuffer of a SavedModel (float32 inputs and outputs); any failure raises."""
    import larq_compute_engine as lce

    return lce.convert_saved_model(saved_model_dir)


def lce_interpreter(flatbuffer: bytes):
    """LCE's interpreter, single-threaded, with the indirect BGEMM kernels (about 4× faster
    than the default on x86 and bit-identical)."""
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    return Interpreter(flatbuffer, num_threads=1, use_indirect_bgemm=True)


def run_lce(
    flatbuffer: bytes,
    inputs: list[np.ndarray],
    input_names: Sequence[str] = (),
    output_names: Sequence[str] = (),
) -> list[np.ndarray]:
    """Outputs of the LCE interpreter for a batch, in the Keras model's order (one list entry
    per model input/output; names as for :func:`~bitnets_tf.converters.tflite.run_tflite`)."""
    input_order, output_order = keras_order(flatbuffer, input_names, output_names)
    ordered = [inputs[position] for position in input_order]
    outputs = lce_interpreter(flatbuffer).predict(ordered if len(ordered) > 1 else ordered[0])
    return in_keras_order(list(outputs) if isinstance(outputs, list) else [outputs], output_order)
