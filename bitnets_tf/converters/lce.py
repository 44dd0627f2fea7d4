"""The ``lce`` target: larq-compute-engine's bitpacked operators for its ARM runtime.

Conversion goes through a SavedModel that we write ourselves, so LCE's own fallback
(``convert_keras_model`` warns "Saved-model conversion failed, falling back to graphdef-based
conversion" and carries on with a different converter) can never happen: a failed export is an
error. The converted file is verified with :func:`bitnets_tf.tflite.batch.run_lce`.
"""

from __future__ import annotations

__all__ = ["convert_saved_model"]


def convert_saved_model(saved_model_dir: str) -> bytes:
    """LCE flatbuffer of a SavedModel (float32 inputs and outputs); any failure raises."""
    import larq_compute_engine as lce

    return lce.convert_saved_model(saved_model_dir)
