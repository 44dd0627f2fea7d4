"""Latency of bitpacked .tflite files on the stock TFLite interpreter with bitnets-tf's kernels,
against float and int8 files with XNNPACK and larq-compute-engine's interpreter, at one and two
threads; and, per binary convolution, binary MACs/s as a share of this CPU's XNOR+popcount limit.

For each model (zoo models at 224x224 with 1000 classes, and the Fashion-MNIST demo network),
random weights with trained-like batch-norm statistics are converted to lce (and int8, float
when those runtimes are timed), and single-image latency of each runtime chosen with --runtimes
(default: all but the litert ones) is measured in one process with interleaved repeats (median):
  ours      lce file, tf.lite.Interpreter + bitnets-tf kernels (XNNPACK for the float operators)
  litert    lce file, ai-edge-litert's Interpreter + the bitnets-tf delegate (XNNPACK for the
            float operators)
  litert-builtin  the same with TFLite's builtin kernels for the float operators (no XNNPACK)
  float     float file, tf.lite.Interpreter (XNNPACK)
  int8      int8 file, tf.lite.Interpreter (XNNPACK)
  lce       lce file, LCE 0.16 interpreter, default kernels
  lce-ibg   lce file, LCE 0.16 interpreter, use_indirect_bgemm=True
The XNOR+popcount limit (bitnets_tf.runtime.peak_binary_macs, one thread) is the fastest of
register-resident XOR+popcount chains and the two GEMM kernels on cache-resident tiles; each
LceBconv2d is timed alone (one-operator model, one thread) and its binary MACs/s reported as a
share of that limit.

Usage: python benchmarks/runtime_bench.py [--models birealnet18,reactnet_a,demo] [--size 224]
       [--repeats 15] [--threads 1,2] [--runtimes ours,float,int8,lce,lce-ibg]
       [--no-convolutions]
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
from bitnets_tf import runtime
from bitnets_tf.converters import convert
from bitnets_tf.converters.quiet import captured_output
from bitnets_tf.converters.report import format_table
from bitnets_tf.demo.model import demo_model
from bitnets_tf.runtime.operators import lce_operators
from bitnets_tf.tflite.interpreters import stock_interpreter
from bitnets_tf.zoo import create_model

RUNTIMES = ("ours", "litert", "litert-builtin", "float", "int8", "lce", "lce-ibg")
DEFAULT_RUNTIMES = "ours,float,int8,lce,lce-ibg"


def build(name: str, size: int) -> tf.keras.Model:
    with captured_output():
        if name == "demo":
            model = demo_model((28, 28, 1), 10)
        else:
            model = create_model(name, input_shape=(size, size, 3), num_classes=1000)
    rng = np.random.default_rng(0)
    for layer in model.layers:  # trained-like statistics: thresholds not all at zero
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 3, layer.moving_mean.shape).astype("float32"))
            layer.moving_variance.assign(
                rng.uniform(5, 30, layer.moving_variance.shape).astype("float32")
            )
    return model


def files(model: tf.keras.Model, runtimes: list[str]) -> dict[str, bytes]:
    """The conversions the runtimes need: lce always, int8 and float when timed."""
    targets = ["lce", *(t for t in ("int8", "float") if t in runtimes)]
    with captured_output():
        return {  # int8 latency only: the residual nets' int8 files approximate some signs
            target: convert(
                model, target=target, verify=False, float_reference=False, exact_int8=False
            ).flatbuffer
            for target in targets
        }


def tflite_call(interpreter, sample: np.ndarray):
    detail = interpreter.get_input_details()[0]
    if detail["dtype"] in (np.int8, np.uint8):
        scale, zero_point = detail["quantization"]
        sample = np.clip(np.round(sample / scale) + zero_point, -128, 127).astype(detail["dtype"])

    def call():
        interpreter.set_tensor(detail["index"], sample)
        interpreter.invoke()

    return call


def lce_call(flatbuffer: bytes, sample: np.ndarray, threads: int, indirect: bool):
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    interpreter = Interpreter(flatbuffer, num_threads=threads, use_indirect_bgemm=indirect)
    return lambda: interpreter.predict(sample)


def latencies(calls: dict, repeats: int) -> dict[str, float]:
    """Median milliseconds per call, the runtimes interleaved so load changes hit all."""
    for call in calls.values():
        call()
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(1e3 * (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in times.items()}


def litert_call(flatbuffer: bytes, sample: np.ndarray, threads: int, xnnpack: bool):
    from ai_edge_litert import interpreter as litert

    resolver = litert.OpResolverType
    interpreter = litert.Interpreter(
        model_content=flatbuffer,
        experimental_delegates=[litert.load_delegate(runtime.delegate_path())],
        num_threads=threads,
        experimental_op_resolver_type=(
            resolver.AUTO if xnnpack else resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        ),
    )
    interpreter.allocate_tensors()
    return tflite_call(interpreter, sample)


def runtime_call(name: str, flatbuffers: dict, sample: np.ndarray, threads: int):
    """A function that runs ``sample`` once in the runtime ``name`` (one of RUNTIMES)."""
    if name == "ours":
        return tflite_call(runtime.make_interpreter(flatbuffers["lce"], threads), sample)
    if name.startswith("litert"):
        return litert_call(flatbuffers["lce"], sample, threads, xnnpack=name == "litert")
    if name in ("float", "int8"):
        return tflite_call(stock_interpreter(flatbuffers[name], threads), sample)
    return lce_call(flatbuffers["lce"], sample, threads, indirect=name == "lce-ibg")


def ratio_columns(runtimes: list[str]) -> list[str]:
    """The speed-up columns the chosen runtimes allow."""
    columns = [f"{r}/ours" for r in ("float", "litert", "litert-builtin") if r in runtimes]
    if "lce" in runtimes and "lce-ibg" in runtimes:
        columns.append("best lce/ours")
    return columns if "ours" in runtimes else []


def model_rows(
    name: str, flatbuffers: dict, shape, threads: int, repeats: int, runtimes: list[str]
) -> list[str]:
    sample = np.random.default_rng(0).standard_normal((1, *shape)).astype(np.float32)
    with captured_output():
        calls = {r: runtime_call(r, flatbuffers, sample, threads) for r in runtimes}
        ms = latencies(calls, repeats)
    ratios = []
    for column in ratio_columns(runtimes):
        other = column.split("/")[0]
        value = min(ms["lce"], ms["lce-ibg"]) if other == "best lce" else ms[other]
        ratios.append(f"{value / ms['ours']:.2f}x")
    return [name, str(threads), *(f"{ms[r]:.2f}" for r in runtimes), *ratios]


def convolution_rows(name: str, flatbuffer: bytes, peak: float, repeats: int) -> list[list[str]]:
    rows = []
    for operator in lce_operators(flatbuffer):
        if operator.name != "LceBconv2d":
            continue
        with captured_output():
            interpreter = runtime.make_interpreter(operator.flatbuffer, 1)
        detail = interpreter.get_input_details()[0]
        words = np.random.default_rng(operator.index).integers(
            -(2**31), 2**31, size=detail["shape"], dtype=np.int64
        )
        ms = latencies({"op": tflite_call(interpreter, words.astype(np.int32))}, repeats)["op"]
        rate = operator.binary_macs / (ms / 1e3)
        o = operator.options
        rows.append(
            [
                name,
                str(operator.index),
                f"{detail['shape'][1]}x{detail['shape'][2]}x{o['channels_in']}",
                f"s{o['stride_height']} d{o['dilation_height_factor']}",
                f"{operator.binary_macs / 1e6:.1f} M",
                f"{ms:.3f}",
                f"{rate / 1e9:.0f} G/s",
                f"{rate / peak:.0%}",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="birealnet18,reactnet_a,demo")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument(
        "--runtimes", default=DEFAULT_RUNTIMES, help=f"comma-separated, of {', '.join(RUNTIMES)}"
    )
    parser.add_argument(
        "--convolutions",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time each binary convolution against the XNOR+popcount limit",
    )
    args = parser.parse_args()
    if not runtime.available():
        sys.exit(runtime.unavailable_reason())
    threads = [int(t) for t in args.threads.split(",")]
    runtimes = args.runtimes.split(",")
    unknown = sorted(set(runtimes) - set(RUNTIMES))
    if unknown:
        parser.error(f"unknown runtimes {unknown}; choose from {', '.join(RUNTIMES)}")
    peak = runtime.peak_binary_macs(1.0)
    print(
        f"kernel {runtime.kernel_name()}; XNOR+popcount limit (one thread): "
        f"{peak / 1e12:.3f} T binary MACs/s",
        flush=True,
    )
    latency_rows, conv_rows = [], []
    for name in args.models.split(","):
        print(f"... {name}", file=sys.stderr, flush=True)
        shape = (28, 28, 1) if name == "demo" else (args.size, args.size, 3)
        flatbuffers = files(build(name, args.size), runtimes)
        for count in threads:
            latency_rows.append(model_rows(name, flatbuffers, shape, count, args.repeats, runtimes))
        if args.convolutions:
            conv_rows.extend(convolution_rows(name, flatbuffers["lce"], peak, args.repeats))
    print(
        format_table(
            ["model", "threads", *(f"{r} ms" for r in runtimes), *ratio_columns(runtimes)],
            latency_rows,
        )
    )
    if conv_rows:
        print()
        print(
            format_table(
                ["model", "op", "input", "stride/dil", "binary MACs", "ms", "rate", "of limit"],
                conv_rows,
            )
        )
    print(
        f"\n{args.repeats} interleaved single-image runs per runtime, median. Targets: ours >= 3x "
        "float for Bi-Real-18 and ReActNet-A on one thread, faster than LCE everywhere, large "
        "binary convolutions >= 30% of the limit."
    )


if __name__ == "__main__":
    main()
