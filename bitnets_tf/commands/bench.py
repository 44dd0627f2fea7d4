"""``bitnets-tf bench MODEL.tflite [MODEL ...] --threads 1,2``: size, operators and latency.

Latency is the median (and 90th percentile) over ``--runs`` single-image invocations after
``--warmup`` untimed ones, measured in this process for each thread count. ``lce`` models run
in larq-compute-engine's interpreter (its optimised kernels target ARM; on x86 they are
portable code), the others in the stock TFLite interpreter with XNNPACK.
"""

from __future__ import annotations

import argparse

from bitnets_tf.commands._deploy_args import add_runtime_arguments, int_list


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench",
        help="size, operators and median latency of .tflite models",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("models", nargs="+", metavar="MODEL", help=".tflite files")
    parser.add_argument(
        "--threads", type=int_list, default=[1], help="comma-separated thread counts, e.g. 1,2"
    )
    parser.add_argument("--runs", type=int, default=100, help="timed invocations per setting")
    parser.add_argument("--warmup", type=int, default=10, help="untimed invocations first")
    add_runtime_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from bitnets_tf.deploy.bench import benchmark

    for path in args.models:
        result = benchmark(
            path, threads=args.threads, runs=args.runs, warmup=args.warmup, runtime=args.runtime
        )
        print(f"{path}: {result.size_bytes / 1024:.1f} KiB, runtime {result.runtime}")
        ops = ", ".join(f"{name} x{count}" for name, count in result.operators.items())
        print(f"  operators: {ops}")
        for threads, stats in result.latency.items():
            print(
                f"  {threads} thread(s): median {stats.median_ms:.3f} ms, p90 "
                f"{stats.p90_ms:.3f} ms, min {stats.min_ms:.3f} ms over {stats.runs} runs"
            )
    return 0
