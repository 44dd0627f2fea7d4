"""Loading the compiled kernel library and finding the op resolver hook of the TFLite runtime."""

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


@functools.cache
def kernels() -> ctypes.CDLL:
    """The compiled kernel library (``bitnets_tf.runtime._kernels``), with typed entry points.

    Raises:
        RuntimeUnavailableError: the extension was not built.
    """
    spec = importlib.util.find_spec("bitnets_tf.runtime._kernels")
    if spec is None or not spec.origin:
        raise RuntimeUnavailableError(
            "The bitpacked kernels of bitnets-tf are not compiled in this installation. "
            + BUILD_HELP
        )
    lib = ctypes.CDLL(spec.origin)
    try:
        _declare(lib)
    except AttributeError as error:
        raise RuntimeUnavailableError(
            f"The compiled kernels ({spec.origin}) do not match this version of bitnets-tf "
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
    """The Python TFLite package whose interpreter takes the operators: its module with
    ``InterpreterWithCustomOps`` and ``OpResolverType``, and the address of its
    ``MutableOpResolver::AddCustom``."""

    package: str
    interpreter_module: ModuleType
    add_custom: int


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


@functools.cache
def tflite_host() -> TfliteHost:
    """TensorFlow's ``tf.lite`` (``libtensorflow_cc``) if installed, else ``tflite-runtime``
    (e.g. on a Raspberry Pi): the packages whose interpreters export the op resolver's
    ``AddCustom``.

    Raises:
        RuntimeUnavailableError: neither is installed with that symbol.
    """
    host = _tensorflow_host() or _tflite_runtime_host()
    if host is None:
        raise RuntimeUnavailableError(
            "No TFLite interpreter here exports tflite::MutableOpResolver::AddCustom, which the "
            "bitpacked kernels register through: install tensorflow (2.16 to 2.21) or "
            "tflite-runtime (2.14, with numpy<2). ai-edge-litert's interpreter does not export it."
        )
    return host
