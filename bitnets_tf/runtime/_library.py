"""Loading the compiled kernel library and finding the op resolver hook of the TFLite runtime."""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
from pathlib import Path

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


@functools.cache
def add_custom_address() -> int:
    """Address of ``MutableOpResolver::AddCustom`` in TensorFlow's ``libtensorflow_cc``, the
    library behind ``tf.lite.Interpreter``.

    Raises:
        RuntimeUnavailableError: TensorFlow's library or the symbol is missing.
    """
    import tensorflow as tf

    library = Path(os.path.dirname(tf.__file__)) / "libtensorflow_cc.so.2"
    if not library.exists():
        raise RuntimeUnavailableError(
            f"TensorFlow's TFLite library ({library.name}) was not found next to "
            f"{tf.__file__}; the bitpacked kernels register through tf.lite.Interpreter."
        )
    try:
        symbol = ctypes.CDLL(str(library))[ADD_CUSTOM_SYMBOL]
    except (OSError, AttributeError):
        raise RuntimeUnavailableError(
            f"TensorFlow {tf.__version__} does not export tflite::MutableOpResolver::AddCustom; "
            "the bitpacked kernels need a TensorFlow build that does (2.16 to 2.21 on Linux)."
        ) from None
    return ctypes.cast(symbol, ctypes.c_void_p).value
