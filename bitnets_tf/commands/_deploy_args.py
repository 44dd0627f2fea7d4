"""Arguments shared by the ``run``, ``bench`` and ``demo`` commands."""

from __future__ import annotations

import argparse

from bitnets_tf.tflite.interpreters import RUNTIMES


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
        choices=RUNTIMES,
        default="auto",
        help="interpreter: auto (stock TFLite; Lce* operators with bitnets-tf's kernels, or "
        "LCE's interpreter if they are not built), lce (LCE's interpreter), or tflite (stock "
        "TFLite with bitnets-tf's kernels)",
    )
