"""Runs .tflite files with bitnets-tf's kernels in the stock interpreter of an emulated ARM
Python and saves the raw outputs: registered into tflite-runtime's interpreter (armv7), or
given to the interpreter as a delegate (aarch64, where the sysroot has LiteRT; on request).
Executed by scripts/arm_runtime_check.py inside an emulated ARM Python (qemu-user) where only
numpy and the runtime exist: it must not import bitnets_tf.

Usage: python arm_runtime_worker.py KERNELS.so REQUEST.json [auto|delegate], where the request
lists {"model": PATH, "inputs": NPZ, "outputs": NPZ, "xnnpack": bool} jobs (``delegate``: the
kernels as a delegate even where tflite-runtime's AddCustom is there); prints a JSON line with
the platform, the runtime, the kernel in use and the hook.
"""

import ctypes
import glob
import json
import os
import platform
import sys

import numpy as np

ADD_CUSTOM = "_ZN6tflite17MutableOpResolver9AddCustomEPKcPK18TfLiteRegistrationi"


def tflite_runtime_factory(kernels: ctypes.CDLL):
    """Interpreters of tflite-runtime with the operators registered through its AddCustom."""
    import tflite_runtime
    from tflite_runtime.interpreter import InterpreterWithCustomOps, OpResolverType

    folder = os.path.dirname(tflite_runtime.__file__)
    wrapper = glob.glob(os.path.join(folder, "_pywrap_tensorflow_interpreter_wrapper*.so"))[0]
    add_custom = ctypes.cast(ctypes.CDLL(wrapper)[ADD_CUSTOM], ctypes.c_void_p).value
    kernels.bitnets_register.argtypes = [ctypes.c_void_p, ctypes.c_void_p]

    def register(resolver: int) -> None:
        kernels.bitnets_register(resolver, add_custom)

    def create(path: str, resolver):
        return InterpreterWithCustomOps(
            custom_op_registerers=[register],
            model_path=path,
            num_threads=1,
            experimental_op_resolver_type=resolver,
        )

    info = {"runtime": f"tflite-runtime {tflite_runtime.__version__}", "hook": "AddCustom"}
    return create, OpResolverType, info


def delegate_factory(kernels_path: str):
    """Interpreters with the kernels as a delegate (load_delegate) of ai-edge-litert, or of
    tflite-runtime where LiteRT is not installed."""
    from importlib.metadata import version

    try:
        from ai_edge_litert import interpreter as module

        package = "ai-edge-litert"
    except ImportError:
        from tflite_runtime import interpreter as module

        package = "tflite-runtime"
    delegate = module.load_delegate(kernels_path)

    def create(path: str, resolver):
        return module.Interpreter(
            model_path=path,
            experimental_delegates=[delegate],
            num_threads=1,
            experimental_op_resolver_type=resolver,
        )

    info = {"runtime": f"{package} {version(package)}", "hook": "delegate"}
    return create, module.OpResolverType, info


def main(kernels_path: str, request_path: str, hook: str = "auto") -> None:
    kernels = ctypes.CDLL(kernels_path)
    kernels.bitnets_kernel.restype = ctypes.c_char_p
    if hook == "delegate":
        create, resolver, info = delegate_factory(kernels_path)
    else:
        try:
            create, resolver, info = tflite_runtime_factory(kernels)
        except ImportError:
            create, resolver, info = delegate_factory(kernels_path)
    with open(request_path) as handle:
        jobs = json.load(handle)
    for job in jobs:
        interpreter = create(
            job["model"],
            resolver.AUTO if job["xnnpack"] else resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        interpreter.allocate_tensors()
        inputs = np.load(job["inputs"])
        for i, detail in enumerate(interpreter.get_input_details()):
            interpreter.set_tensor(detail["index"], inputs[f"in_{i}"])
        interpreter.invoke()
        outputs = {
            f"out_{i}": interpreter.get_tensor(detail["index"])
            for i, detail in enumerate(interpreter.get_output_details())
        }
        np.savez(job["outputs"], **outputs)
    info.update(machine=platform.machine(), kernel=kernels.bitnets_kernel().decode())
    print(json.dumps(info))


if __name__ == "__main__":
    main(*sys.argv[1:])
