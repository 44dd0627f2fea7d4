"""``bitnets-tf demo``: the whole path on one screen, offline, on a CPU.

Trains a small binary ConvNet on Fashion-MNIST with model.fit, converts it to larq-compute-
engine (``lce``), stock TFLite ``int8`` and ``float`` .tflite files with labels and input
normalisation in their metadata, verifies each against Keras, evaluates all of them on the test
set, times them and writes a report directory (report.md, curves.png, summary.json,
history.csv, model.keras, the .tflite files).

Data: Fashion-MNIST IDX files in --data-dir or $BITNETS_TF_DATA_DIR, the Debian/Ubuntu package
(sudo apt-get install dataset-fashion-mnist), or tensorflow-datasets when online.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo",
        help="train, convert (lce/int8/float), verify and benchmark a binary ConvNet",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("bitnets-demo"), help="report directory")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 5)")
    parser.add_argument("--data-dir", default=None, help="where Fashion-MNIST is")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 epoch on 2,048 images, 512 test images: a smoke test (about a minute)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from bitnets_tf.demo import DemoConfig, run_demo

    run_demo(DemoConfig.create(args.out, args.epochs, args.data_dir, args.quick, args.seed))
    return 0
