"""The ``bitnets-tf`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _info(args: argparse.Namespace) -> int:
    """Print the versions of the stack and the quantizer aliases."""
    import larq
    import larq_compute_engine
    import tensorflow as tf

    import bitnets_tf
    from bitnets_tf import quantizers

    print(f"bitnets-tf           {bitnets_tf.__version__}")
    print(f"tensorflow           {tf.__version__}")
    print(f"keras (tf.keras)     {tf.keras.Model.__module__.split('.')[0]}")
    print(f"larq                 {larq.__version__}")
    print(f"larq-compute-engine  {larq_compute_engine.__version__}")
    print("quantizers           " + ", ".join(quantizers.available_quantizers()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bitnets-tf",
        description="Binary and ternary networks for Keras, deployed as TFLite.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = commands.add_parser("info", help="versions of the stack and available quantizers")
    info.set_defaults(handler=_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
