"""Run the zoo's ``int8`` and ``float`` .tflite models on emulated ARM Linux and compare with
x86 (see bitnets_tf/deploy/arm.py for how, and what a match proves).

    .venv/bin/python scripts/arm_check.py                       # aarch64 and armv7, all models
    .venv/bin/python scripts/arm_check.py --arch aarch64 --models binarynet_mlp

Each model is built untrained (random weights, seed 0) at a small input size, converted with
``bitnets_tf.converters.convert`` (verified against Keras), and run on the same random inputs
on both sides. Prints a Markdown table. Needs qemu-user-static, apt-get and dpkg (Debian or
Ubuntu); the first run per architecture downloads ~150 MB into the cache. aarch64 runs LiteRT,
which needs a QEMU that emulates /proc/cpuinfo (10.0 does, Debian 12's 7.2 does not): its
sysroot brings Debian 13's qemu-user (~70 MB more).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

import bitnets_tf  # noqa: F401  (binds tf.keras to tf-keras)
from bitnets_tf.converters import ConversionError, convert
from bitnets_tf.deploy import arm
from bitnets_tf.zoo import create_model

# name -> create_model arguments: small inputs (the minimum the CIFAR stems allow) so that the
# int8 calibration and the emulation stay in minutes
ZOO = {
    "binarynet_mlp": {"input_shape": (28, 28, 1), "hidden_units": 256},
    "binarynet_cnn": {"input_shape": (16, 16, 3), "hidden_units": 256},
    "birealnet18": {"input_shape": (16, 16, 3)},
    "reactnet_a": {"input_shape": (16, 16, 3)},
}
CALIBRATION_SAMPLES = 8  # TFLite's int8 calibrator runs reference kernels: slow on big models
TARGETS = ("int8", "float")


def build_jobs(names: list[str], samples: int, say) -> tuple[list[arm.ArmJob], list[str]]:
    jobs, failures = [], []
    for name in names:
        arguments = ZOO[name]
        tf.keras.utils.set_random_seed(0)
        model = create_model(name, num_classes=10, **arguments)
        rng = np.random.default_rng(0)
        inputs = rng.standard_normal((samples, *arguments["input_shape"])).astype(np.float32)
        shape = (CALIBRATION_SAMPLES, *arguments["input_shape"])
        calibration = rng.standard_normal(shape).astype(np.float32)
        for target in TARGETS:
            start = time.perf_counter()
            try:
                result = convert(model, target=target, representative_data=calibration)
            except (ConversionError, ValueError) as error:
                failures.append(f"{name} {target}: not converted: {str(error).splitlines()[0]}")
                say(failures[-1])
                continue
            say(f"converted {name} to {target} in {time.perf_counter() - start:.0f} s")
            jobs.append(arm.ArmJob(name, target, result.flatbuffer, inputs))
    return jobs, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--arch", nargs="+", choices=sorted(arm.PLATFORMS), default=["aarch64", "armv7"]
    )
    parser.add_argument("--models", nargs="+", choices=sorted(ZOO), default=list(ZOO))
    parser.add_argument("--samples", type=int, default=4, help="random inputs per model")
    parser.add_argument("--cache-dir", default=None, help="sysroot cache directory")
    args = parser.parse_args(argv)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    jobs, failures = build_jobs(args.models, args.samples, say)
    cache = None if args.cache_dir is None else Path(args.cache_dir)
    print(
        "| platform | model | target | size | samples | max abs(output) | max abs(ARM − x86), "
        "same runtime | bit-identical | top-1 agreement | max abs(ARM − x86 stock runtime) "
        "| top-1 agreement |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.arch:
        start = time.perf_counter()
        rows, info = arm.compare_with_x86(arm.PLATFORMS[name], jobs, cache, say)
        say(f"{name}: {info} ({time.perf_counter() - start:.0f} s)")
        for row in rows:
            print(
                f"| {info['machine']} | {row.model} | {row.target} | "
                f"{row.size_bytes / 1024:.0f} KiB | {row.samples} | {row.max_abs_output:.3g} | "
                f"{row.max_abs_diff:.2g} | {100 * row.identical:.0f} % | "
                f"{100 * row.argmax_agreement:.0f} % | {row.max_abs_diff_tf:.2g} | "
                f"{100 * row.argmax_agreement_tf:.0f} % |"
            )
    for failure in failures:
        print(f"\n{failure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
