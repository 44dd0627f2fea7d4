"""Check bitnets-tf's kernels on emulated ARM Linux: the same lce files give the same outputs
with the aarch64 (or armv7) build of the kernels in the platform's stock interpreter under qemu
(aarch64: ai-edge-litert with the kernels as a delegate; armv7: tflite-runtime with the
operators registered) as with the x86 build on this host.

The kernels are cross-compiled from bitnets_tf/runtime/csrc with Debian's cross compiler
(gcc-aarch64-linux-gnu / gcc-arm-linux-gnueabihf); the sysroot (Debian Python, numpy and the
stock runtime) comes from bitnets_tf.deploy.arm. For each model, every Lce* operator is
cut out and run alone on random input: ARM and x86 must agree bit for bit (and the x86 kernels
agree bit for bit with larq-compute-engine, tests/runtime/test_runtime.py). Whole models are
compared too (float operators differ between TFLite builds, so within a tolerance and by top
class).
Emulated time says nothing about device speed.

Usage: python scripts/arm_runtime_check.py [--arch aarch64|armv7] [--hook auto|delegate]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

import bitnets_tf  # noqa: F401  (binds tf.keras to tf-keras)
from bitnets_tf import runtime
from bitnets_tf.converters import convert
from bitnets_tf.converters.quiet import captured_output
from bitnets_tf.demo.model import demo_model
from bitnets_tf.deploy.arm import PLATFORMS, prepare_sysroot, run_python
from bitnets_tf.runtime.operators import lce_operators
from bitnets_tf.zoo import create_model

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "bitnets_tf" / "runtime" / "csrc"
PYTHON_BINDING = "pymodule.c"  # the CPython extension's entry point; not part of the library
COMPILERS = {
    "aarch64": ["aarch64-linux-gnu-gcc"],
    "armv7": ["arm-linux-gnueabihf-gcc", "-mfpu=neon-vfpv4"],
}
WORKER = Path(__file__).with_name("arm_runtime_worker.py")


def cross_compile(arch: str, out: Path) -> Path:
    compiler, *flags = COMPILERS[arch]
    if shutil.which(compiler) is None:
        sys.exit(f"{compiler} not found: sudo apt-get install {compiler.rsplit('-', 1)[0]}")
    library = out / f"libbitnets_lce_{arch}.so"
    sources = sorted(str(path) for path in CSRC.glob("*.c") if path.name != PYTHON_BINDING)
    command = [compiler, "-O3", "-std=c11", "-ffp-contract=off", "-fPIC", "-shared", "-pthread"]
    subprocess.run([*command, *flags, *sources, "-o", str(library), "-lm"], check=True)
    return library


def models() -> dict[str, tf.keras.Model]:
    rng = np.random.default_rng(0)
    with captured_output():
        built = {
            "demo": demo_model((28, 28, 1), 10),
            "birealnet18@32": create_model("birealnet18", input_shape=(32, 32, 3), num_classes=10),
            "reactnet_a@32": create_model("reactnet_a", input_shape=(32, 32, 3), num_classes=10),
        }
    for model in built.values():
        for layer in model.layers:
            if isinstance(layer, tf.keras.layers.BatchNormalization):
                layer.moving_mean.assign(rng.normal(0, 3, layer.moving_mean.shape))
                layer.moving_variance.assign(rng.uniform(5, 30, layer.moving_variance.shape))
    return built


def random_inputs(interpreter, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    values = []
    for detail in interpreter.get_input_details():
        shape, dtype = detail["shape"], detail["dtype"]
        if dtype == np.int32:
            values.append(rng.integers(-(2**31), 2**31, size=shape, dtype=np.int64).astype(dtype))
        else:
            values.append(rng.normal(size=shape).astype(dtype))
    return values


def host_outputs(flatbuffer: bytes, inputs, xnnpack: bool) -> list[np.ndarray]:
    interpreter = runtime.make_interpreter(flatbuffer, xnnpack=xnnpack)
    for detail, value in zip(interpreter.get_input_details(), inputs, strict=True):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="aarch64", choices=sorted(COMPILERS))
    parser.add_argument(
        "--hook",
        default="auto",
        choices=("auto", "delegate"),
        help="delegate: the kernels as a delegate also where tflite-runtime (armv7) could "
        "register them",
    )
    args = parser.parse_args()
    platform = PLATFORMS[args.arch]
    sysroot = prepare_sysroot(platform)
    with tempfile.TemporaryDirectory(prefix="bitnets-arm-runtime-") as directory:
        work = Path(directory)
        library = cross_compile(args.arch, work)
        jobs, expected, labels = [], [], []
        for name, model in models().items():
            with captured_output():
                flatbuffer = convert(model, target="lce", verify=False).flatbuffer
            cases = [
                (f"{name} {op.name}#{op.index}", op.flatbuffer, False)
                for op in lce_operators(flatbuffer)
            ]
            cases.append((f"{name} whole model", flatbuffer, True))
            for label, model_bytes, xnnpack in cases:
                index = len(jobs)
                interpreter = runtime.make_interpreter(model_bytes)
                inputs = random_inputs(interpreter, index)
                (work / f"{index}.tflite").write_bytes(model_bytes)
                np.savez(work / f"{index}_in.npz", **{f"in_{i}": v for i, v in enumerate(inputs)})
                jobs.append(
                    {
                        "model": str(work / f"{index}.tflite"),
                        "inputs": str(work / f"{index}_in.npz"),
                        "outputs": str(work / f"{index}_out.npz"),
                        "xnnpack": xnnpack,
                    }
                )
                expected.append(host_outputs(model_bytes, inputs, xnnpack))
                labels.append(label)
        (work / "request.json").write_text(json.dumps(jobs))
        request = str(work / "request.json")
        report = run_python(platform, sysroot, WORKER, str(library), request, args.hook)
        info = json.loads(report.strip().splitlines()[-1])
        print(f"{args.arch}: {info}")
        exact = failures = 0
        for index, (label, host) in enumerate(zip(labels, expected, strict=True)):
            arm = np.load(work / f"{index}_out.npz")
            outputs = [arm[f"out_{i}"] for i in range(len(host))]
            if label.endswith("whole model"):
                diff = max(float(np.abs(a - h).max()) for a, h in zip(outputs, host, strict=True))
                same_top = all(
                    np.argmax(a) == np.argmax(h) for a, h in zip(outputs, host, strict=True)
                )
                print(f"  {label}: max |ARM - x86| = {diff:.3g}, same top class: {same_top}")
                failures += not same_top
            elif all(np.array_equal(a, h) for a, h in zip(outputs, host, strict=True)):
                exact += 1
            else:
                failures += 1
                print(f"  {label}: ARM and x86 outputs DIFFER")
        print(f"  {exact} Lce operators bit-identical on {args.arch} and x86; failures: {failures}")
        sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
