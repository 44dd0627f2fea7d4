"""Arguments and error reporting shared by the ``run``, ``bench`` and ``demo`` commands."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable


def float_list(text: str) -> list[float]:
    """``"127.5"`` or ``"125.3,123,113.9"`` → floats (argparse type)."""
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        ) from None


def int_list(text: str) -> list[int]:
    """``"1,2,4"`` → positive integers (argparse type)."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1 separated by commas: {text!r}")
    return values


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtime",
        choices=("auto", "lce", "tflite"),
        default="auto",
        help="interpreter: auto (stock TFLite; Lce* operators with bitnets-tf's kernels, or "
        "LCE's interpreter if they are not built), lce (LCE's interpreter), or tflite (stock "
        "TFLite with bitnets-tf's kernels)",
    )


def report_errors(command: str) -> Callable:
    """Print expected errors as one ``bitnets-tf COMMAND: error: ...`` line and return 2."""

    def decorate(handler: Callable[[argparse.Namespace], int]):
        @functools.wraps(handler)
        def wrapped(args: argparse.Namespace) -> int:
            from bitnets_tf.converters import ConversionError
            from bitnets_tf.data import DataNotFoundError

            try:
                return handler(args)
            except (FileNotFoundError, ValueError, DataNotFoundError, ConversionError) as error:
                print(f"bitnets-tf {command}: error: {error}", file=sys.stderr)
                return 2

        return wrapped

    return decorate
