"""Bitpacked inference on the stock TFLite interpreter: C kernels for the larq-compute-engine
operators (``LceQuantize``, ``LceDequantize``, ``LceBconv2d``, ``LceBMaxPool2d``) that the
``lce`` conversion target emits, registered into ``tf.lite``'s (or ``tflite-runtime``'s)
interpreter as custom operators, or given to ai-edge-litert's interpreter as a delegate.

>>> from bitnets_tf import runtime
>>> interpreter = runtime.make_interpreter("model.tflite", num_threads=2)  # doctest: +SKIP

The kernels compute exactly what larq-compute-engine 0.16's interpreter computes (bit-exact
outputs) and pick the fastest XOR+popcount code this CPU supports at run time (AVX-512
VPOPCNTDQ, AVX2, POPCNT, NEON or portable C).
"""

from __future__ import annotations

import functools
import os
import warnings
from typing import Any

from bitnets_tf.runtime._library import (
    RuntimeUnavailableError,
    kernels,
    library_path,
    tflite_host,
)

__all__ = [
    "RuntimeUnavailableError",
    "available",
    "delegate_path",
    "force_kernel",
    "kernel_name",
    "load_delegate",
    "make_interpreter",
    "peak_binary_macs",
    "unavailable_reason",
]


def unavailable_reason() -> str | None:
    """Why the kernels cannot be used here, or ``None`` if they can."""
    try:
        kernels()
        tflite_host()
    except RuntimeUnavailableError as error:
        return str(error)
    return None


def available() -> bool:
    """Whether :func:`make_interpreter` can run bitpacked models here."""
    return unavailable_reason() is None


def kernel_name() -> str:
    """The binary GEMM kernel in use: ``avx512``, ``avx2``, ``popcnt``, ``neon`` or ``portable``."""
    return kernels().bitnets_kernel().decode()


def force_kernel(name: str | None) -> None:
    """Use the kernel ``name`` for interpreters created afterwards (``None``: the fastest).

    Raises:
        ValueError: this build or CPU cannot run that kernel.
    """
    if not kernels().bitnets_force_kernel(name.encode() if name else None):
        raise ValueError(
            f"Kernel {name!r} is not available on this CPU/build; the fastest is "
            f"{kernel_name()!r} (choices: avx512, avx2, popcnt, neon, portable)."
        )


def peak_binary_macs(seconds: float = 0.5) -> float:
    """The XNOR+popcount limit of this core for the current kernel, in binary multiply-
    accumulates per second on one thread: the fastest of independent register-resident
    XOR+popcount chains and the GEMM kernels (row-major, and channel-major for the SIMD kernels)
    on cache-resident tiles (best 1 ms slice)."""
    return float(kernels().bitnets_peak_macs(seconds))


def delegate_path() -> str:
    """The path of the compiled kernels, a TFLite external-delegate library: give it to
    ``load_delegate`` of ai-edge-litert, ``tf.lite.experimental`` or ``tflite_runtime`` and the
    delegate to a stock ``Interpreter(experimental_delegates=[...])``. The delegate runs the
    ``Lce*`` operators and leaves the float operators to the default XNNPACK delegate.

    Raises:
        RuntimeUnavailableError: the kernels are not built (or built for another version).
    """
    kernels()
    return library_path()


def load_delegate() -> Any:
    """The delegate of :func:`delegate_path`, loaded by the installed TFLite package's
    ``load_delegate`` (one per process: it holds no state and serves any number of
    interpreters).

    Raises:
        RuntimeUnavailableError: the kernels are not built or no TFLite package is installed.
    """
    return _delegate(tflite_host().package)


@functools.cache
def _delegate(package: str) -> Any:
    return tflite_host().interpreter_module.load_delegate(delegate_path())


def _register(resolver_address: int) -> None:
    kernels().bitnets_register(resolver_address, tflite_host().add_custom)


def make_interpreter(model: bytes | str | os.PathLike, num_threads: int = 1, xnnpack: bool = True):
    """A stock TFLite interpreter that runs the LCE operators with these kernels, tensors
    allocated: ``tf.lite``'s with the operators registered; where TensorFlow is not installed,
    ai-edge-litert's with the kernels as a delegate, or ``tflite_runtime``'s with the operators
    registered.

    Args:
        model: the ``.tflite`` flatbuffer or a path to it.
        num_threads: interpreter threads, also used by the binary convolutions.
        xnnpack: run the float operators with TFLite's default XNNPACK delegate (fast, as on a
            phone); ``False`` runs them with TFLite's builtin kernels, the ones
            larq-compute-engine's interpreter uses, so that whole models match it bit for bit.

    Raises:
        RuntimeUnavailableError: the kernels are not built or no TFLite package with the hook
            is installed.
        ValueError: ``num_threads`` is not a positive integer.
    """
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads must be an integer >= 1, got {num_threads!r}.")
    reason = unavailable_reason()
    if reason:
        raise RuntimeUnavailableError(reason)
    host = tflite_host()
    resolver = host.interpreter_module.OpResolverType
    content = model if isinstance(model, bytes) else None
    arguments = {
        "model_content": content,
        "model_path": None if content is not None else os.fspath(model),
        "num_threads": num_threads,
        "experimental_op_resolver_type": (
            resolver.AUTO if xnnpack else resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        ),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "tf.lite.Interpreter is deprecated" (LiteRT move)
        if host.add_custom is None:
            interpreter = host.interpreter_module.Interpreter(
                experimental_delegates=[load_delegate()], **arguments
            )
        else:
            interpreter = host.interpreter_module.InterpreterWithCustomOps(
                custom_op_registerers=[_register], **arguments
            )
    interpreter.allocate_tensors()
    return interpreter
