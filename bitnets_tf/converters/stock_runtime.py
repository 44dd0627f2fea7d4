"""The stock TFLite runtime that runs ``int8`` and ``float`` models: LiteRT first.

Preference order (the first that imports wins):

1. ``ai-edge-litert`` (LiteRT, ``ai_edge_litert.interpreter``): the maintained runtime, with
   wheels for x86-64 and aarch64 Linux and macOS;
2. ``tflite-runtime`` (``tflite_runtime.interpreter``): the older standalone runtime, the only
   one with wheels for 32-bit ARM (armv7, e.g. Raspberry Pi OS 32-bit);
3. ``tf.lite.Interpreter`` from TensorFlow, deprecated since TensorFlow 2.20 in favour of
   LiteRT; its deprecation warning is silenced here.

Every one of them applies its default XNNPACK delegate, as on a phone. ``deploy/edge.py`` (a
standalone script without bitnets_tf) follows the same order.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from dataclasses import dataclass
from typing import Any

RUNTIME_MODULES = (
    ("ai-edge-litert", "ai_edge_litert.interpreter"),
    ("tflite-runtime", "tflite_runtime.interpreter"),
)


@dataclass(frozen=True)
class StockRuntime:
    """An importable stock runtime: its pip package name, version and ``Interpreter`` class."""

    package: str
    version: str
    interpreter_class: type

    def __str__(self) -> str:
        return f"{self.package} {self.version}"


def stock_runtime() -> StockRuntime:
    """The first importable runtime of ``RUNTIME_MODULES``, else TensorFlow's ``tf.lite``."""
    for package, module in RUNTIME_MODULES:
        try:
            interpreter_class = importlib.import_module(module).Interpreter
        except ImportError:
            continue
        return StockRuntime(package, importlib.metadata.version(package), interpreter_class)
    import tensorflow as tf

    return StockRuntime("tensorflow (tf.lite)", tf.__version__, tf.lite.Interpreter)


def stock_interpreter(flatbuffer: bytes, num_threads: int = 1) -> Any:
    """An interpreter of :func:`stock_runtime` for ``flatbuffer``, tensors allocated."""
    runtime = stock_runtime()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite: "deprecated, use ai_edge_litert"
        interpreter = runtime.interpreter_class(model_content=flatbuffer, num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter
