"""The ``bitnets-tf`` command line: each subcommand lives in ``bitnets_tf.commands.<name>``."""

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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"bitnets_tf.commands.{name}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    command_line = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(command_line)
    args.command_line = command_line  # to start the same command in other processes
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
