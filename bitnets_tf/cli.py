"""The ``bitnets-tf`` command line: each subcommand lives in ``bitnets_tf.commands.<name>``.

The console script enters through ``bitnets_tf_cli`` (outside the package), which hides
TensorFlow's native start-up logs unless ``--verbose`` comes before the command.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = ("info", "data", "train", "convert", "inspect", "audit", "run", "bench", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bitnets-tf",
        description="Binary and ternary networks for Keras, deployed as TFLite.",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's native start-up logs (the bitnets-tf command hides them)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"bitnets_tf.commands.{name}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
