"""Fuzz the converters: random small binary/ternary architectures (the generator of the
converter tests, ``random_architecture`` in ``tests/support/convert_models.py``), each converted
to every target and every written file re-run independently on 256 fresh inputs.

A *silent error* is a conversion that ``convert`` verified but whose file, re-run from its
bytes, misses the target's own tolerance on the fresh inputs (logits compared where the model
ends in a softmax). Such a miss is examined on the fresh inputs checkpoint by checkpoint (an
``int8`` file only where it computes no layer int8-inexactly by design; otherwise the rates are
its guarantee and a miss is a silent error): if every checkpoint of the file (a tensor that
stands for a Keras layer's output or quantized input) agrees with Keras computed from the
file's own earlier values (within 1e-4·max|y|, signs differing only within float rounding of
their threshold), the difference from Keras run end to end comes from float rounding that
moved a value across a later threshold (typically an exact tie, e.g. a sum of ±1 terms that is
exactly 0) and is counted as *rounding flips*; otherwise it
is a silent error naming the first wrong operator. Refusals (``ConversionError``) are counted
by their first words. The target is 0 silent errors.

Usage: python benchmarks/convert_fuzz.py [--count 200] [--targets lce,int8,float] [--seed 0]
       [--seeds 45,67]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.keras is tf-keras for the helpers too
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import numpy as np
import tensorflow as tf
from support.convert_models import agreement_rates, file_logits, random_architecture

import bitnets_tf  # noqa: F401  (binds tf.keras to tf-keras)
from bitnets_tf.converters import DEFAULT_TOLERANCES, ConversionError, convert
from bitnets_tf.converters.layerwise import verify_file
from bitnets_tf.tflite.batch import run_lce, run_tflite

RUNNERS = {"lce": run_lce, "int8": run_tflite, "float": run_tflite}
FRESH = 256
OUTCOMES = ("verified", "rounding flips", "refused", "silent error", "crashed")


def _fuzz_one(seed: int, target: str) -> tuple[str, str]:
    """("verified" | "refused" | "silent error" | "crashed", detail)."""
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = random_architecture(rng)
    try:
        result = convert(model, target=target, float_reference=False, progress=False)
    except ConversionError as error:
        return "refused", " ".join(str(error).split()[:6])
    except Exception as error:  # a crash is a finding, not the end of the run
        return "crashed", f"{type(error).__name__}: {str(error)[:120]}"
    fresh = rng.standard_normal((FRESH, *model.inputs[0].shape[1:])).astype(np.float32)
    expected, actual = file_logits(model, result.flatbuffer, RUNNERS[target], fresh)
    tolerance = DEFAULT_TOLERANCES[target]
    samples, argmax = agreement_rates(expected, actual, tolerance.relative_error)
    slack = 4 / 32  # verification saw 32 inputs: allow its sampling noise
    if (
        samples < tolerance.min_sample_agreement - slack
        or argmax < tolerance.min_argmax_agreement - slack
    ):
        rates = f"seed {seed}: {samples:.1%} of samples, argmax {argmax:.1%}"
        if "accepted on the end-to-end rates" in (result.report.layerwise or ""):
            return "silent error", rates
        inputs = [fresh[:64]]
        run = RUNNERS[target]
        compared = verify_file(
            model,
            result.flatbuffer,
            inputs,
            lambda m, x: run(m, x, model.input_names),
            result.checkpoints,
        )
        if not compared.agrees:
            return "silent error", f"{rates}; {compared.describe()}"
        return "rounding flips", f"{rates}; {compared.describe()}"
    return "verified", ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--targets", default="lce,int8,float")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", help="comma-separated seeds instead of --seed/--count")
    args = parser.parse_args()
    seeds = (
        [int(seed) for seed in args.seeds.split(",")]
        if args.seeds
        else list(range(args.seed, args.seed + args.count))
    )
    start = time.perf_counter()
    silent = 0
    for target in args.targets.split(","):
        outcomes = collections.Counter()
        reasons: dict[str, list[int]] = collections.defaultdict(list)
        details = []
        for seed in seeds:
            outcome, detail = _fuzz_one(seed, target)
            outcomes[outcome] += 1
            elapsed = time.perf_counter() - start
            print(f"{target} seed {seed}: {outcome} ({elapsed:.0f} s)", file=sys.stderr, flush=True)
            if outcome == "refused":
                reasons[detail].append(seed)
            elif detail:
                details.append(f"  {outcome}: {detail}")
        silent += outcomes["silent error"]
        print(
            f"{target}: {len(seeds)} architectures: "
            + ", ".join(f"{outcomes[k]} {k}" for k in OUTCOMES),
            flush=True,
        )
        for reason, refused in sorted(reasons.items(), key=lambda item: -len(item[1])):
            listed = ", ".join(map(str, refused))
            print(f"  refused ×{len(refused)}: {reason} … (seeds {listed})")
        print("\n".join(details), flush=True)
    print(f"{silent} silent errors in {time.perf_counter() - start:.0f} s")
    return 1 if silent else 0


if __name__ == "__main__":
    sys.exit(main())
