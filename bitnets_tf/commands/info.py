"""``bitnets-tf info``: versions of the stack and the quantizer aliases."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("info", help="versions of the stack and available quantizers")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import larq
    import larq_compute_engine
    import tensorflow as tf

    import bitnets_tf
    from bitnets_tf import quantizers
    from bitnets_tf.tflite.interpreters import stock_runtime

    print(f"bitnets-tf           {bitnets_tf.__version__}")
    print(f"tensorflow           {tf.__version__}")
    print(f"keras (tf.keras)     {tf.keras.Model.__module__.split('.')[0]}")
    print(f"larq                 {larq.__version__}")
    print(f"larq-compute-engine  {larq_compute_engine.__version__}")
    print(f"stock TFLite runtime {stock_runtime()} (int8 and float models)")
    print("quantizers           " + ", ".join(quantizers.available_quantizers()))
    return 0
