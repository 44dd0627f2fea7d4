"""Every model of larq-zoo 2.4's ``literature`` and ``sota`` modules (built by larq-zoo's own
code, random batch-norm statistics as after training) converted to ``lce``, ``int8`` and
``float``: verified, or refused with the reason. One process per model and target.

Needs larq-zoo, installed without its pinned dependencies::

    pip install --no-deps larq-zoo==2.4.0 zookeeper==1.4.0 && pip install click typeguard

Usage: python benchmarks/larq_zoo_bench.py [--size 64] [--models BiRealNet,QuickNet]
       [--targets lce,int8,float]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import bitnets_tf  # noqa: F401  (binds tf.keras to tf-keras before larq_zoo uses it)

MODULES = ("literature", "sota")


def _models() -> list[str]:
    import larq_zoo

    return [
        f"{module}.{name}"
        for module in MODULES
        for name in sorted(vars(getattr(larq_zoo, module)))
        if name[0].isupper()
    ]


def _one(name: str, target: str, size: int) -> dict:
    import larq_zoo
    import tensorflow as tf
    from support.convert_models import randomize

    from bitnets_tf.converters import ConversionError, convert

    module, builder = name.split(".")
    tf.keras.utils.set_random_seed(0)
    try:
        model = getattr(getattr(larq_zoo, module), builder)(
            weights=None, input_shape=(size, size, 3), num_classes=10
        )
    except ValueError as error:  # larq-zoo's own size checks
        return {"outcome": "does not build", "detail": str(error).split(".")[0]}
    randomize(model, seed=0)
    start = time.perf_counter()
    try:
        result = convert(model, target=target, float_reference=False, progress=False)
    except ConversionError as error:
        return {"outcome": "refused", "detail": str(error)[:160], "seconds": 0}
    report = result.report
    return {
        "outcome": "verified",
        "detail": report.verification,
        "seconds": time.perf_counter() - start,
        "rewrites": sorted({change for _, change in report.rewrites}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--models", help="comma-separated, e.g. literature.BiRealNet")
    parser.add_argument("--targets", default="lce,int8,float")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(args.one[0], args.one[1], args.size)))
        return 0
    names = args.models.split(",") if args.models else _models()
    for name in names:
        for target in args.targets.split(","):
            command = [sys.executable, __file__, "--size", str(args.size), "--one", name, target]
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
            lines = done.stdout.strip().splitlines()
            row = json.loads(lines[-1]) if done.returncode == 0 and lines else None
            if row is None:
                print(f"{name:32s} {target:5s} crashed (exit {done.returncode})", flush=True)
                continue
            seconds = f"{row.get('seconds', 0):5.0f} s" if row.get("seconds") else ""
            extra = f" | rewrites: {', '.join(row['rewrites'])}" if row.get("rewrites") else ""
            print(f"{name:32s} {target:5s} {row['outcome']:9s} {seconds} {row['detail']}{extra}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
