"""The one place that makes TFLite interpreters: the stock runtime, larq-compute-engine's
interpreter, and the stock runtime with bitnets-tf's kernels for the ``Lce*`` operators.

Stock runtime (``int8`` and ``float`` models), the first that imports wins:

1. ``ai-edge-litert`` (LiteRT, ``ai_edge_litert.interpreter``): the maintained runtime, with
   wheels for x86-64 and aarch64 Linux and macOS;
2. ``tflite-runtime`` (``tflite_runtime.interpreter``): the older standalone runtime, the only
   one with wheels for 32-bit ARM (armv7, e.g. Raspberry Pi OS 32-bit);
3. ``tf.lite.Interpreter`` from TensorFlow, deprecated since TensorFlow 2.20 in favour of
   LiteRT; its deprecation warning is silenced here.

Every one of them applies its default XNNPACK delegate, as on a phone. ``deploy/edge.py`` (a
standalone script without bitnets_tf) follows the same order.

``lce`` models (custom operators ``Lce*``) run in the stock ``tf.lite.Interpreter`` with
bitnets-tf's own kernels for those operators (:mod:`bitnets_tf.runtime`, bit-identical to
larq-compute-engine and faster; without TensorFlow, in ai-edge-litert's interpreter with the
kernels as a delegate), or in larq-compute-engine's interpreter (its indirect BGEMM
kernels) when those kernels are not built or ``runtime="lce"`` is asked for
(:func:`choose_runtime`, :func:`open_interpreter`).
"""

from __future__ import annotations

import importlib.metadata
import warnings
from dataclasses import dataclass
from typing import Any

from bitnets_tf.tflite.errors import DeploymentError, LceRuntimeRequiredError
from bitnets_tf.tflite.flatbuffer import custom_operators

RUNTIME_MODULES = (
    ("ai-edge-litert", "ai_edge_litert.interpreter"),
    ("tflite-runtime", "tflite_runtime.interpreter"),
)
RUNTIMES = ("auto", "lce", "tflite")
LCE_PREFIX = "Lce"


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


def lce_interpreter(flatbuffer: bytes, num_threads: int = 1) -> Any:
    """larq-compute-engine's interpreter (its Python wrapper, with ``predict``) with the
    indirect BGEMM kernels (about 4× faster than the default on x86 and bit-identical)."""
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    return Interpreter(flatbuffer, num_threads=num_threads, use_indirect_bgemm=True)


def needs_lce(flatbuffer: bytes) -> bool:
    """Whether the model has larq-compute-engine operators."""
    return any(name.startswith(LCE_PREFIX) for name in custom_operators(flatbuffer))


def lce_available() -> bool:
    """Whether larq-compute-engine's Python interpreter can be imported here."""
    try:
        from larq_compute_engine.tflite.python.interpreter import Interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def bitnets_kernels_available() -> bool:
    """Whether bitnets-tf's kernels for the ``Lce*`` operators are built and can register."""
    from bitnets_tf import runtime

    return runtime.available()


def lce_help(operators: list[str]) -> str:
    """What to do with a model that needs larq-compute-engine operators."""
    from bitnets_tf import runtime

    return (
        f"The model needs larq-compute-engine operators ({', '.join(operators)}), which the "
        "stock TFLite runtimes do not have and bitnets-tf's own kernels cannot provide here "
        f"({runtime.unavailable_reason() or 'not asked for'}). Run it with --runtime lce (needs "
        "`pip install larq-compute-engine`; PyPI has it for x86-64 Linux, macOS and Windows "
        "only), or convert the model with --target int8 for stock runtimes."
    )


def choose_runtime(flatbuffer: bytes, runtime: str = "auto") -> str:
    """``"lce"`` or ``"tflite"`` for ``runtime`` = auto/lce/tflite. ``tflite`` runs ``Lce*``
    operators with bitnets-tf's kernels; ``auto`` picks it for them when those are built.

    Raises:
        ValueError: an unknown runtime name.
        LceRuntimeRequiredError: the model needs LCE operators and neither bitnets-tf's kernels
            (for ``tflite``/``auto``) nor larq-compute-engine (for ``lce``/``auto``) is there.
        DeploymentError: the model has custom operators neither runtime provides.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}.")
    operators = custom_operators(flatbuffer)
    unknown = [name for name in operators if not name.startswith(LCE_PREFIX)]
    if unknown:
        raise DeploymentError(
            f"The model needs custom operators {', '.join(unknown)} that neither the stock "
            "TFLite interpreter nor larq-compute-engine provides. Register them in your own "
            "TFLite build, or convert the model with bitnets-tf (targets lce, int8, float)."
        )
    lce_ops = [name for name in operators if name.startswith(LCE_PREFIX)]
    if runtime == "tflite" or (runtime == "auto" and lce_ops and bitnets_kernels_available()):
        if lce_ops and not bitnets_kernels_available():
            raise LceRuntimeRequiredError(lce_help(lce_ops))
        return "tflite"
    if runtime == "lce" or lce_ops:
        if not lce_available():
            raise LceRuntimeRequiredError(
                lce_help(lce_ops or ["none needed; --runtime lce was asked for"])
            )
        return "lce"
    return "tflite"


def open_interpreter(flatbuffer: bytes, runtime: str, num_threads: int = 1) -> Any:
    """An interpreter for ``flatbuffer`` in ``runtime`` (``"lce"`` or ``"tflite"``, as
    :func:`choose_runtime` returns): larq-compute-engine's wrapper for ``lce``; for ``tflite``
    the stock runtime, with bitnets-tf's kernels when the model has ``Lce*`` operators.

    Raises:
        DeploymentError: the interpreter cannot load the model.
    """
    if runtime == "lce":
        load, name = lce_interpreter, "larq-compute-engine"
    else:
        from bitnets_tf.runtime import make_interpreter

        load = make_interpreter if needs_lce(flatbuffer) else stock_interpreter
        name = "The TFLite interpreter"
    try:
        return load(flatbuffer, num_threads=num_threads)
    except (RuntimeError, ValueError) as error:
        raise DeploymentError(
            f"{name} cannot load the model: {str(error).splitlines()[0]}"
        ) from None
