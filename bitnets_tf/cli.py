"""The ``bitnets-tf`` command line: each subcommand lives in ``bitnets_tf.commands.<name>``;
errors and exit statuses are handled once for all of them (:mod:`bitnets_tf.commands._errors`).

The console script enters through ``bitnets_tf_cli`` (outside the package), which hides
TensorFlow's native start-up logs unless ``--verbose`` comes before the command.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence

from bitnets_tf.commands._errors import report_errors, terminate_cleanly

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
    command_line = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(command_line)
    args.command_line = command_line  # to start the same command in other processes
    command = " ".join(filter(None, (args.command, getattr(args, "action", None))))
    handler = report_errors(command)(args.handler)
    if threading.current_thread() is not threading.main_thread():
        return handler(args)
    previous = signal.getsignal(signal.SIGTERM)
    terminate_cleanly()
    try:
        return handler(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
