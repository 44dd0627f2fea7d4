"""Size, bitpacking, verification, conversion time and latency of the zoo models converted to
lce, int8 and float32 .tflite.

Each model runs in its own process (so the peak RSS is its own). It is converted to all three
targets twice: with random batch-norm statistics ("trained-like") and after a few
``model.fit`` steps on generated data with a softmax head (batch norms near their defaults, as
a user's first try has them) — the verification outcome of each is a column; each fitted
file is also re-run from its bytes on 64 fresh inputs and compared with Keras on logits
(share of samples within 2 % of max|logit|, share of equal argmaxes). The conversion
time of ``convert(..., target="lce")`` (verification included) is divided by the time of
larq-compute-engine's own ``convert_keras_model`` on the same model. Single-image latency is
measured in one process with interleaved repeats, one thread each: larq-compute-engine's
interpreter (``use_indirect_bgemm=True``) for lce, ``tf.lite.Interpreter`` (default XNNPACK
delegate) for int8 and float. Targets: lce file ≤ 1/25 of the float file, every binary
convolution and dense layer bitpacked, convert ≤ 2× LCE's converter time.

Usage: python benchmarks/convert_bench.py [--models a,b] [--size 32] [--large a,b]
       [--large-size 224] [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import numpy as np
import tensorflow as tf
from runtime_bench import latencies  # the same interleaved timing (this folder)
from support.convert_models import agreement_rates, file_logits

import bitnets_tf  # noqa: F401  (binds tf.keras to tf-keras)
from bitnets_tf.converters import TARGETS, ConversionError, convert
from bitnets_tf.converters.quiet import captured_output
from bitnets_tf.converters.report import format_table
from bitnets_tf.tflite.batch import run_lce, run_tflite
from bitnets_tf.tflite.interpreters import lce_interpreter, stock_interpreter
from bitnets_tf.zoo import create_model, list_models

SIZE_TARGET = 1 / 25
RUNNERS = {"lce": run_lce, "int8": run_tflite, "float": run_tflite}


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


def _fitted(model: tf.keras.Model, shape: tuple) -> tf.keras.Model:
    """``model`` with a softmax head, fitted for 4 steps of 8 generated images."""
    outputs = tf.keras.layers.Activation("softmax", name="probabilities")(model.output)
    fitted = tf.keras.Model(model.inputs, outputs)
    fitted.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(1).standard_normal((32, *shape)).astype(np.float32)
    fitted.fit(x, np.arange(32) % 10, batch_size=8, epochs=1, verbose=0)
    return fitted


def _verdicts(model: tf.keras.Model, shape: tuple) -> str:
    """Per target: ✓ and the written file's agreement with Keras on 64 fresh inputs, re-run
    from its bytes and compared on logits (share of samples within 2 % of max|logit|, share of
    argmaxes), or the first words of the refusal."""
    fresh = np.random.default_rng(2).standard_normal((64, *shape)).astype(np.float32)
    verdicts = []
    for target in TARGETS:
        try:
            result = convert(model, target=target, float_reference=False, progress=False)
        except ConversionError as error:
            print(f"  fitted {model.name} {target}: {error}", file=sys.stderr)
            verdicts.append(f"{target} refused")
            continue
        expected, actual = file_logits(model, result.flatbuffer, RUNNERS[target], fresh)
        samples, argmax = agreement_rates(expected, actual, relative_error=0.02)
        verdicts.append(f"{target} ✓ {samples:.0%}/{argmax:.0%}")
    return ", ".join(verdicts)


def _time_ratio_to_lce(model: tf.keras.Model) -> str:
    """Seconds of ``convert(target="lce")`` (verification included) / seconds of LCE's own
    ``convert_keras_model``, or what LCE's converter raised when it cannot convert the model."""
    import larq_compute_engine as lce

    with captured_output():
        start = time.perf_counter()
        try:
            lce.convert_keras_model(model)
        except Exception as error:  # LCE's failure is the finding: no ratio to report
            return f"LCE fails: {str(error)[:60]}"
        theirs = time.perf_counter() - start
    start = time.perf_counter()
    try:
        convert(model, target="lce", float_reference=False, progress=False)
    except ConversionError:
        pass  # the time is what is measured here; the verdict is a column of its own
    return f"{(time.perf_counter() - start) / theirs:.2f}"


def benchmark(name: str, size: int, repeats: int) -> list[str]:
    shape = _input_shape(name, size)
    with captured_output():
        model = create_model(name, input_shape=shape, num_classes=10)
    fitted = _verdicts(_fitted(model, shape), shape)
    _trained_like_batch_norms(model)
    time_ratio = _time_ratio_to_lce(model)
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
        ms = latencies(calls, repeats)
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
        fitted,
        time_ratio,
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
    ]


def _in_subprocess(name: str, size: int, repeats: int) -> list[str]:
    command = [sys.executable, __file__, "--one", name, "--size", str(size)]
    command += ["--repeats", str(repeats)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return [name, f"{size}", f"crashed (exit {done.returncode})"] + [""] * 11
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(list_models()))
    parser.add_argument("--size", type=int, default=32, help="image side for the CNNs")
    parser.add_argument("--large", default="reactnet_a,birealnet18", help="also at --large-size")
    parser.add_argument("--large-size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # one model, as a JSON row
    args = parser.parse_args()
    if args.one:
        print(json.dumps(benchmark(args.one, args.size, args.repeats)))
        return
    runs = [(name, args.size) for name in args.models.split(",")]
    runs += [(name, args.large_size) for name in args.large.split(",") if name]
    rows = []
    for name, size in runs:
        print(f"... {name} at {size}", file=sys.stderr, flush=True)
        rows.append(_in_subprocess(name, size, args.repeats))
        print("    " + " | ".join(map(str, rows[-1])), file=sys.stderr, flush=True)
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
        "fitted + softmax: samples/argmax agreeing",
        "convert/LCE time",
        "peak RSS",
    ]
    print(format_table(header, rows))
    print(
        f"\n{args.repeats} interleaved single-image runs per runtime, one thread, median; "
        "targets: lce ≤ 1/25 of float size and 100% of binary MACs bitpacked."
    )


if __name__ == "__main__":
    main()
