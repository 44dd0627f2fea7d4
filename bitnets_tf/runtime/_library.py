"""Loading the compiled kernel library and finding how the installed TFLite runtime takes the
operators: the op resolver's ``AddCustom`` (``tf.lite``, ``tflite-runtime``) or the delegate the
library also is (ai-edge-litert, whose libraries export no ``AddCustom``)."""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

# tflite::MutableOpResolver::AddCustom(const char*, const TfLiteRegistration*, int), as mangled
# by the Itanium C++ ABI (Linux, Android, macOS).
ADD_CUSTOM_SYMBOL = "_ZN6tflite17MutableOpResolver9AddCustomEPKcPK18TfLiteRegistrationi"
# Struct sizes of the TFLite 2.x C kernel interface on 64-bit platforms (TfLiteTensor,
# TfLiteNode, offset of TfLiteContext::recommended_num_threads); 32-bit platforms differ.
ABI_SIZES_64 = (112, 80, 72)

BUILD_HELP = (
    "Reinstall bitnets-tf with a C compiler present so that `pip install .` builds the kernels "
    "(Debian/Ubuntu/Raspberry Pi OS: `sudo apt install build-essential`; macOS: "
    "`xcode-select --install`), or run the model with larq-compute-engine's interpreter."
)


class RuntimeUnavailableError(RuntimeError):
    """The bitpacked kernels cannot be used here (not built, or no compatible TFLite)."""


def library_path() -> str:
    """The path of the compiled kernel library (``bitnets_tf.runtime._kernels``), which is also
    a TFLite external delegate (``tflite_plugin_create_delegate``) for ``load_delegate(path)``.

    Raises:
        RuntimeUnavailableError: the extension was not built.
    """
    spec = importlib.util.find_spec("bitnets_tf.runtime._kernels")
    if spec is None or not spec.origin:
        raise RuntimeUnavailableError(
            "The bitpacked kernels of bitnets-tf are not compiled in this installation. "
            + BUILD_HELP
        )
    return spec.origin


@functools.cache
def kernels() -> ctypes.CDLL:
    """The compiled kernel library (``bitnets_tf.runtime._kernels``), with typed entry points.

    Raises:
        RuntimeUnavailableError: the extension was not built.
    """
    lib = ctypes.CDLL(library_path())
    try:
        _declare(lib)
    except AttributeError as error:
        raise RuntimeUnavailableError(
            f"The compiled kernels ({library_path()}) do not match this version of bitnets-tf "
            f"({error}). Reinstall bitnets-tf so that they are rebuilt."
        ) from None
    _check_abi(lib)
    return lib


def _declare(lib: ctypes.CDLL) -> None:
    lib.bitnets_register.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.bitnets_register.restype = ctypes.c_int
    lib.bitnets_kernel.restype = ctypes.c_char_p
    lib.bitnets_force_kernel.argtypes = [ctypes.c_char_p]
    lib.bitnets_force_kernel.restype = ctypes.c_int
    lib.bitnets_abi_sizes.argtypes = [ctypes.POINTER(ctypes.c_size_t)]
    lib.bitnets_peak_macs.argtypes = [ctypes.c_double]
    lib.bitnets_peak_macs.restype = ctypes.c_double
    lib.tflite_plugin_create_delegate.restype = ctypes.c_void_p  # what load_delegate calls


def _check_abi(lib: ctypes.CDLL) -> None:
    sizes = (ctypes.c_size_t * 3)()
    lib.bitnets_abi_sizes(sizes)
    if ctypes.sizeof(ctypes.c_void_p) == 8 and tuple(sizes) != ABI_SIZES_64:
        raise RuntimeUnavailableError(
            f"The kernels were compiled with TFLite struct sizes {tuple(sizes)}, expected "
            f"{ABI_SIZES_64}; rebuild bitnets-tf with the same compiler settings as TFLite."
        )


@dataclass(frozen=True)
class TfliteHost:
    """The Python TFLite package whose interpreter takes the operators: its interpreter module
    (``Interpreter``, ``InterpreterWithCustomOps``, ``OpResolverType``, ``load_delegate``) and
    the address of its ``MutableOpResolver::AddCustom``, or ``None`` if the operators go in as
    a delegate."""

    package: str
    interpreter_module: ModuleType
    add_custom: int | None


def _add_custom_in(library: Path) -> int | None:
    try:
        symbol = ctypes.CDLL(str(library))[ADD_CUSTOM_SYMBOL]
    except (OSError, AttributeError):
        return None
    return ctypes.cast(symbol, ctypes.c_void_p).value


def _tensorflow_host() -> TfliteHost | None:
    try:
        import tensorflow as tf
        from tensorflow.lite.python import interpreter
    except ImportError:
        return None
    address = _add_custom_in(Path(os.path.dirname(tf.__file__)) / "libtensorflow_cc.so.2")
    return TfliteHost("tensorflow", interpreter, address) if address else None


def _tflite_runtime_host() -> TfliteHost | None:
    try:
        import tflite_runtime
        from tflite_runtime import interpreter
    except ImportError:
        return None
    for library in Path(os.path.dirname(tflite_runtime.__file__)).glob("_pywrap_tensorflow_*.so"):
        address = _add_custom_in(library)
        if address:
            return TfliteHost("tflite_runtime", interpreter, address)
    return None


def _litert_host() -> TfliteHost | None:
    try:
        from ai_edge_litert import interpreter
    except ImportError:
        return None
    return TfliteHost("ai_edge_litert", interpreter, None)


@functools.cache
def tflite_host() -> TfliteHost:
    """TensorFlow's ``tf.lite`` (``libtensorflow_cc`` exports the op resolver's ``AddCustom``)
    if installed, else ai-edge-litert (which takes the operators as a delegate), else
    ``tflite-runtime`` (exports ``AddCustom``; the only one for 32-bit ARM).

    Raises:
        RuntimeUnavailableError: none of them is installed.
    """
    host = _tensorflow_host() or _litert_host() or _tflite_runtime_host()
    if host is None:
        raise RuntimeUnavailableError(
            "No TFLite interpreter is installed for the bitpacked kernels: install tensorflow "
            "(2.16 to 2.21), ai-edge-litert (x86-64 and aarch64 Linux) or tflite-runtime (2.14, "
            "with numpy<2)."
        )
    return host
