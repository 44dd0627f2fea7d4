"""Runs ``.tflite`` models with LiteRT (``ai_edge_litert``) or ``tflite_runtime``, whichever
is installed, and saves their raw outputs.

Executed by :mod:`bitnets_tf.deploy.arm` inside an emulated ARM Python (qemu-user), where
only numpy and the runtime exist: it must not import bitnets_tf or TensorFlow. Inputs
arrive already quantized for the model's input type and outputs are saved as the interpreter
returns them, so the host compares the exact tensors.

Usage: ``python arm_worker.py REQUEST.json``, where the request lists
``{"model": PATH, "inputs": NPY, "outputs": NPY}`` jobs; prints a JSON line describing the
platform.
"""

import json
import platform
import sys
from importlib.metadata import version

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter

    RUNTIME = "ai-edge-litert"
except ImportError:
    from tflite_runtime.interpreter import Interpreter

    RUNTIME = "tflite-runtime"


def run_job(job: dict) -> None:
    interpreter = Interpreter(model_path=job["model"], num_threads=1)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    outputs = []
    for sample in np.load(job["inputs"]):
        interpreter.set_tensor(input_index, sample[np.newaxis])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(output_index)[0].copy())
    np.save(job["outputs"], np.stack(outputs))


def main(request_path: str) -> None:
    with open(request_path) as handle:
        jobs = json.load(handle)
    for job in jobs:
        run_job(job)
    info = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "runtime": f"{RUNTIME} {version(RUNTIME)}",
    }
    print(json.dumps(info))


if __name__ == "__main__":
    main(sys.argv[1])
