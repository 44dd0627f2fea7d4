"""``.tflite`` files: reading and writing flatbuffers, their ``"bitnets_tf"`` metadata, and
the one factory of interpreters that run them.

- :mod:`bitnets_tf.tflite.flatbuffer` — operators, tensors, signatures and metadata entries of
  a flatbuffer;
- :mod:`bitnets_tf.tflite.metadata` — the JSON dict stored under ``"bitnets_tf"``
  (:func:`read_metadata`, :func:`attach_metadata`);
- :mod:`bitnets_tf.tflite.interpreters` — the stock runtime (LiteRT, tflite-runtime or
  ``tf.lite``), larq-compute-engine's interpreter, and the stock runtime with bitnets-tf's
  kernels (:mod:`bitnets_tf.runtime`) for ``Lce*`` operators; :func:`choose_runtime` and
  :func:`open_interpreter`;
- :mod:`bitnets_tf.tflite.batch` — a batch through an interpreter in the Keras model's order.

The converters write files with it and the deployment tools run them; it imports neither.
"""

from bitnets_tf.tflite.errors import DeploymentError, LceRuntimeRequiredError
from bitnets_tf.tflite.interpreters import (
    RUNTIMES,
    StockRuntime,
    choose_runtime,
    lce_interpreter,
    open_interpreter,
    stock_interpreter,
    stock_runtime,
)
from bitnets_tf.tflite.metadata import METADATA_NAME, attach_metadata, read_metadata

__all__ = [
    "METADATA_NAME",
    "RUNTIMES",
    "DeploymentError",
    "LceRuntimeRequiredError",
    "StockRuntime",
    "attach_metadata",
    "choose_runtime",
    "lce_interpreter",
    "open_interpreter",
    "read_metadata",
    "stock_interpreter",
    "stock_runtime",
]
