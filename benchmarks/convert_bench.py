"""Size, bitpacking and latency of the zoo models converted to lce, int8 and float32 .tflite.

For each model: convert to all three targets (each verified against Keras by ``convert``),
then measure single-image latency in one process with interleaved repeats, one thread each:
larq-compute-engine's interpreter (``use_indirect_bgemm=True``) for lce, ``tf.lite.Interpreter``
(default XNNPACK delegate) for int8 and float. Prints ratios to float32 and checks the project
targets: lce file ≤ 1/25 of the float file, every binary convolution and dense layer bitpacked.

Usage: python benchmarks/convert_bench.py [--models a,b] [--size 32] [--repeats 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

import bitnets_tf  # noqa: F401  (binds tf.keras to tf-keras)
from bitnets_tf.converters import ConversionError, convert
from bitnets_tf.converters.lce import lce_interpreter
from bitnets_tf.converters.quiet import captured_output
from bitnets_tf.converters.report import format_table
from bitnets_tf.converters.stock_runtime import stock_interpreter
from bitnets_tf.zoo import create_model, list_models

TARGETS = ("lce", "int8", "float")
SIZE_TARGET = 1 / 25


def _input_shape(name: str, size: int) -> tuple[int, int, int]:
    return (28, 28, 1) if name.startswith("binarynet") else (size, size, 3)


def _tflite_call(flatbuffer: bytes, sample: np.ndarray):
    interpreter = stock_interpreter(flatbuffer)
    detail = interpreter.get_input_details()[0]

    def call():
        interpreter.set_tensor(detail["index"], sample)
        interpreter.invoke()

    return call


def _lce_call(flatbuffer: bytes, sample: np.ndarray):
    interpreter = lce_interpreter(flatbuffer)
    return lambda: interpreter.predict(sample)


def _latencies(calls: dict, repeats: int) -> dict[str, float]:
    """Median milliseconds per call, the runtimes interleaved so load changes hit all."""
    for call in calls.values():
        call()  # warm-up
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(1000 * (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in times.items()}


def _trained_like_batch_norms(model, seed: int = 0) -> None:
    """Random batch-norm statistics, as after training. Untrained ones (mean 0, variance 1)
    put the sign threshold exactly on integer accumulators, where float32 rounding in a
    different summation order flips ties either way and verification rightly fails."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            mean, variance = layer.moving_mean, layer.moving_variance
            mean.assign(rng.normal(0, 3, mean.shape).astype(np.float32))
            variance.assign(rng.uniform(5, 30, variance.shape).astype(np.float32))


def benchmark(name: str, size: int, repeats: int) -> list[str]:
    shape = _input_shape(name, size)
    with captured_output():
        model = create_model(name, input_shape=shape, num_classes=10)
    _trained_like_batch_norms(model)
    sample = np.random.default_rng(0).standard_normal((1, *shape)).astype(np.float32)
    results, unverified = {}, []
    for target in TARGETS:
        try:
            results[target] = convert(model, target=target, float_reference=False)
        except ConversionError as error:
            # measure size and speed anyway, and say that this file failed verification
            print(f"  {name} {target}: {error}", file=sys.stderr)
            results[target] = convert(model, target=target, verify=False, float_reference=False)
            unverified.append(target)
    sizes = {t: len(results[t].flatbuffer) for t in TARGETS}
    calls = {"lce": _lce_call(results["lce"].flatbuffer, sample)}
    calls.update({t: _tflite_call(results[t].flatbuffer, sample) for t in ("int8", "float")})
    with captured_output():
        ms = _latencies(calls, repeats)
    lce_report = results["lce"].report
    share = lce_report.bitpacked_share
    meets = sizes["lce"] <= SIZE_TARGET * sizes["float"] and share in (None, 1.0)
    return [
        name,
        "x".join(map(str, shape)),
        f"{sizes['float'] / 2**20:.2f} MB",
        f"1/{sizes['float'] / sizes['lce']:.1f}",
        f"1/{sizes['float'] / sizes['int8']:.1f}",
        "-" if share is None else f"{share:.0%}",
        f"{ms['float']:.1f}",
        f"{ms['lce'] / ms['float']:.2f}",
        f"{ms['int8'] / ms['float']:.2f}",
        "yes" if meets else "NO",
        ", ".join(unverified) or "-",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(list_models()))
    parser.add_argument("--size", type=int, default=32, help="image side for the CNNs")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rows = []
    for name in args.models.split(","):
        print(f"... {name}", file=sys.stderr, flush=True)
        rows.append(benchmark(name, args.size, args.repeats))
    header = [
        "model",
        "input",
        "float file",
        "lce/float size",
        "int8/float size",
        "bitpacked binary MACs",
        "float ms",
        "lce/float time",
        "int8/float time",
        "targets met",
        "failed verification",
    ]
    print(format_table(header, rows))
    print(
        f"\n{args.repeats} interleaved single-image runs per runtime, one thread, median; "
        "targets: lce ≤ 1/25 of float size and 100% of binary MACs bitpacked."
    )


if __name__ == "__main__":
    main()
