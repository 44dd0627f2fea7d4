"""Converters from Keras models to verified TFLite flatbuffers.

- :func:`convert` — ``target="lce"`` (larq-compute-engine bitpacked ops), ``"int8"`` (stock
  TFLite builtins, binary/ternary layers exact) or ``"float"``; verified against Keras.
- :func:`audit_model` — per layer: precision, op per target, bitpacked or not and why, size.
- :func:`read_metadata` — the dict attached with ``convert(..., metadata=...)``.
"""

from bitnets_tf.converters.api import TARGETS, ConversionResult, convert
from bitnets_tf.converters.audit import LayerAudit, ModelAudit, audit_model
from bitnets_tf.converters.errors import ConversionError
from bitnets_tf.converters.report import ConversionReport
from bitnets_tf.converters.verify import DEFAULT_TOLERANCES, Agreement, Tolerance
from bitnets_tf.tflite.metadata import METADATA_NAME, read_metadata

__all__ = [
    "DEFAULT_TOLERANCES",
    "METADATA_NAME",
    "TARGETS",
    "Agreement",
    "ConversionError",
    "ConversionReport",
    "ConversionResult",
    "LayerAudit",
    "ModelAudit",
    "Tolerance",
    "audit_model",
    "convert",
    "read_metadata",
]
