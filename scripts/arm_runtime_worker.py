"""Runs .tflite files with bitnets-tf's kernels registered into tflite-runtime's interpreter and
saves the raw outputs. Executed by scripts/arm_runtime_check.py inside an emulated ARM Python
(qemu-user) where only numpy and tflite-runtime exist: it must not import bitnets_tf.

Usage: python arm_runtime_worker.py KERNELS.so REQUEST.json, where the request lists
{"model": PATH, "inputs": NPZ, "outputs": NPZ, "xnnpack": bool} jobs; prints a JSON line with
the platform, the kernel in use and the registration hook.
"""

import ctypes
import glob
import json
import os
import platform
import sys

import numpy as np
import tflite_runtime
from tflite_runtime.interpreter import InterpreterWithCustomOps, OpResolverType

ADD_CUSTOM = "_ZN6tflite17MutableOpResolver9AddCustomEPKcPK18TfLiteRegistrationi"


def main(kernels_path: str, request_path: str) -> None:
    kernels = ctypes.CDLL(kernels_path)
    kernels.bitnets_register.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    kernels.bitnets_kernel.restype = ctypes.c_char_p
    folder = os.path.dirname(tflite_runtime.__file__)
    wrapper = glob.glob(os.path.join(folder, "_pywrap_tensorflow_interpreter_wrapper*.so"))[0]
    add_custom = ctypes.cast(ctypes.CDLL(wrapper)[ADD_CUSTOM], ctypes.c_void_p).value

    def register(resolver: int) -> None:
        kernels.bitnets_register(resolver, add_custom)

    with open(request_path) as handle:
        jobs = json.load(handle)
    for job in jobs:
        interpreter = InterpreterWithCustomOps(
            custom_op_registerers=[register],
            model_path=job["model"],
            num_threads=1,
            experimental_op_resolver_type=(
                OpResolverType.AUTO
                if job["xnnpack"]
                else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            ),
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
    info = {
        "machine": platform.machine(),
        "tflite_runtime": tflite_runtime.__version__,
        "kernel": kernels.bitnets_kernel().decode(),
        "hook": os.path.basename(wrapper),
    }
    print(json.dumps(info))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
