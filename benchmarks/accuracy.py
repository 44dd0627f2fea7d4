"""Accuracy of the training recipes on real MNIST / Fashion-MNIST, and layer-wise training's
memory against end-to-end training.

Every configuration runs in a fresh subprocess and its peak resident memory is that process's
own ``ru_maxrss`` (from ``os.wait4``). Sections:

- ``mlp``: BinaryNet-MLP (zoo ``binarynet_mlp``) on MNIST via ``bitnets-tf train``
  (paper: 1.40 % test error, Torch variant).
- ``best``: a zoo net that is binary except its first and last layer (default
  ``binarynet_cnn``, binary throughout but for its float input; ``--best-model reactnet_a``
  is the other candidate, about twice the time per epoch) on MNIST (target <= 1.0 % error).
- ``fashion``: the binary ConvNet ``binarynet_cnn`` on Fashion-MNIST (target >= 92 %).
- ``layerwise``: a BinaryNet-MLP trained greedily block by block (``LayerwiseTrainer``,
  features streamed through tf.data), the same with the prefix's activations materialised in
  memory (the original bitnets design), and end-to-end with ``model.fit`` for the same number
  of passes, each at two training-set sizes; peak RSS should stay flat for streaming.

The test split is the validation data; "test error" is 1 - test accuracy after the last epoch
(best epoch in brackets). Data comes from local IDX files: ``--data-dir`` or
``$BITNETS_TF_DATA_DIR`` (a directory holding the IDX files).

    python benchmarks/accuracy.py --quick                  # smoke run, a few minutes
    python benchmarks/accuracy.py --only layerwise         # one section at full size
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTIONS = ("mlp", "best", "fashion", "layerwise")
CHILD_METHODS = ("layerwise", "materialised", "end_to_end")
BATCH_SIZE = 100


# --------------------------------------------------------------------------------------------
# Running one configuration in a fresh process
# --------------------------------------------------------------------------------------------


def run_measured(command: list[str], log: Path) -> tuple[int, float, float]:
    """Run ``command`` (output to ``log``); return (exit code, peak RSS in MiB, seconds)."""
    start = time.perf_counter()
    with open(log, "w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024, time.perf_counter() - start


def train_with_cli(args, name: str, model: str, dataset: str, options: list[str]) -> dict:
    """``bitnets-tf train`` in a subprocess; the test accuracy per epoch from its CSV log."""
    out = Path(tempfile.mkdtemp(prefix=f"bench_{name}_"))
    command = [
        sys.executable, "-m", "bitnets_tf.cli", "train", "--model", model, "--dataset", dataset,
        "--out", str(out), "--batch-size", str(BATCH_SIZE), "--verbose", "2", *options,
    ]  # fmt: skip
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    code, rss, seconds = run_measured(command, out / "train.log")
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({code}); see {out / 'train.log'}")
    with open(out / "history.csv") as handle:
        accuracies = [float(row["val_accuracy"]) for row in csv.DictReader(handle)]
    return {
        "test_error": 1 - accuracies[-1],
        "best_test_error": 1 - max(accuracies),
        "best_epoch": 1 + accuracies.index(max(accuracies)),
        "epochs": len(accuracies),
        "peak_rss_mib": rss,
        "seconds": seconds,
        "command": " ".join(command[1:]),
    }


def run_child(args, method: str, examples: int) -> dict:
    command = [
        sys.executable, __file__, "--child", method, "--examples", str(examples),
        "--hidden-units", str(args.hidden_units), "--epochs-per-block", str(args.epochs_per_block),
    ]  # fmt: skip
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    log = Path(tempfile.mkdtemp(prefix=f"bench_{method}_{examples}_")) / "run.log"
    code, rss, seconds = run_measured(command, log)
    lines = [line for line in log.read_text().splitlines() if line.startswith("RESULT ")]
    if code != 0 or not lines:
        raise RuntimeError(f"{' '.join(command)} failed ({code}); see {log}")
    return {**json.loads(lines[-1][len("RESULT ") :]), "peak_rss_mib": rss, "seconds": seconds}


# --------------------------------------------------------------------------------------------
# The layer-wise comparison (runs inside the child process)
# --------------------------------------------------------------------------------------------


def child(args) -> None:
    import tensorflow as tf

    from bitnets_tf import data, layers, training, zoo

    tf.keras.utils.set_random_seed(0)
    train = data.load("mnist", f"train[:{args.examples}]", BATCH_SIZE, data_dir=args.data_dir)
    test = data.load("mnist", "test", BATCH_SIZE, data_dir=args.data_dir)
    model = zoo.create_model(
        "binarynet_mlp", input_shape=(28, 28, 1), num_classes=10, hidden_units=args.hidden_units
    )
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    blocks_count = 3
    if args.child == "end_to_end":
        model.compile(training.bnn_optimizer("adam", 1e-3), loss, metrics=["accuracy"])
        model.fit(train, epochs=blocks_count * args.epochs_per_block, verbose=2)
    else:
        by_prefix: dict[str, list] = {}
        for layer in model.layers[1:]:
            by_prefix.setdefault(layer.name.split("_")[0], []).append(layer)
        blocks = [
            tf.keras.Sequential(by_prefix["flatten"] + by_prefix["input"] + by_prefix["hidden1"]),
            tf.keras.Sequential(by_prefix["hidden2"]),
            tf.keras.Sequential(by_prefix["hidden3"]),
        ]

        def head(index: int, feature_shape) -> tf.keras.layers.Layer:
            if index == blocks_count - 1:
                return tf.keras.Sequential(by_prefix["logits"])
            binary = {"input_quantizer": "ste_sign", "kernel_quantizer": "ste_sign"}
            return tf.keras.Sequential(
                [
                    layers.QuantDense(
                        10, use_bias=False, kernel_constraint="weight_clip", **binary
                    ),
                    tf.keras.layers.BatchNormalization(epsilon=1e-4),
                ]
            )

        trainer_class = (
            training.LayerwiseTrainer if args.child == "layerwise" else materialising_trainer()
        )
        block_trainer = training.GradientBlockTrainer(verbose=2)
        trainer = trainer_class(blocks, head, block_trainer=block_trainer)
        model = trainer.fit(train, args.epochs_per_block).model
        model.compile(loss=loss, metrics=["accuracy"])
    _, accuracy = model.evaluate(test, verbose=0)
    print("RESULT " + json.dumps({"test_error": 1 - float(accuracy)}), flush=True)


def materialising_trainer() -> type:
    import numpy as np
    import tensorflow as tf

    from bitnets_tf import training

    class MaterialisingTrainer(training.LayerwiseTrainer):
        """The original bitnets design: the prefix's activations for the whole training set
        are computed once per block and kept in memory (memory grows with the dataset)."""

        def prefix_features(self, dataset, index):
            streamed = super().prefix_features(dataset, index)
            batches = list(streamed.as_numpy_iterator())
            features = np.concatenate([batch[0] for batch in batches])
            labels = np.concatenate([batch[1] for batch in batches])
            return tf.data.Dataset.from_tensor_slices((features, labels)).batch(BATCH_SIZE)

    return MaterialisingTrainer


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


def cli_section(args, section: str) -> tuple[str, list[tuple[str, dict]]]:
    """One ``bitnets-tf train`` run: (title, [(model, result)])."""
    small = ["--limit", "200", "--max-steps", "2"] if args.quick else []
    title, model, dataset, epochs, options = {
        "mlp": (
            "BinaryNet-MLP on MNIST (paper: 1.40 % error)", "binarynet_mlp", "mnist",
            args.mlp_epochs,
            ["--learning-rate", "3e-3", "--schedule", "exponential",
             "--model-arg", f"hidden_units={256 if args.quick else 4096}"],
        ),
        "best": (
            "fully binary net on MNIST (target <= 1.0 % error)", args.best_model, "mnist",
            args.best_epochs, ["--learning-rate", "1e-3", "--schedule", "linear"],
        ),
        "fashion": (
            "binary ConvNet on Fashion-MNIST (target >= 92 % accuracy)", "binarynet_cnn",
            "fashion_mnist", args.fashion_epochs,
            ["--learning-rate", "1e-3", "--schedule", "linear", "--no-augment"],
        ),
    }[section]  # fmt: skip
    epochs = ["--epochs", str(1 if args.quick else epochs)]
    return title, [(model, train_with_cli(args, section, model, dataset, epochs + options + small))]


def layerwise_section(args) -> tuple[str, list[tuple[str, dict]]]:
    rows = [
        (f"{method} @ {examples}", run_child(args, method, examples))
        for examples in args.sizes
        for method in CHILD_METHODS
    ]
    return f"layer-wise vs end-to-end (BinaryNet-MLP, {args.hidden_units} units)", rows


def print_table(results: dict[str, list[tuple[str, dict]]]) -> None:
    header = (
        f"{'configuration':<34}{'test error':>12}{'best (epoch)':>16}{'peak RSS':>12}{'time':>9}"
    )
    for title, rows in results.items():
        print(f"\n{title}\n{header}")
        for name, result in rows:
            best = (
                f"{100 * result['best_test_error']:.2f} % ({result['best_epoch']})"
                if "best_test_error" in result
                else "-"
            )
            print(
                f"{name:<34}{100 * result['test_error']:>10.2f} %{best:>16}"
                f"{result['peak_rss_mib']:>8.0f} MiB{result['seconds'] / 60:>7.1f} m"
            )
            if "command" in result:
                print(f"    {result['command']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("BITNETS_TF_DATA_DIR"))
    parser.add_argument("--quick", action="store_true", help="tiny smoke run of every section")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--mlp-epochs", type=int, default=10)
    parser.add_argument("--best-model", default="binarynet_cnn")
    parser.add_argument("--best-epochs", type=int, default=4)
    parser.add_argument("--fashion-epochs", type=int, default=5)
    parser.add_argument("--hidden-units", type=int, default=1024, help="layerwise section")
    parser.add_argument("--epochs-per-block", type=int, default=1, help="layerwise section")
    parser.add_argument("--sizes", default="6000,60000", help="layerwise training-set sizes")
    parser.add_argument("--child", choices=CHILD_METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--examples", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        child(args)
        return
    args.only = [section for section in args.only.split(",") if section]
    unknown = sorted(set(args.only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown --only sections {unknown}; allowed: {', '.join(SECTIONS)}")
    args.sizes = [int(size) for size in args.sizes.split(",")]
    if args.quick:
        args.sizes, args.hidden_units = [600, 6000], 128
    results = dict(
        layerwise_section(args) if section == "layerwise" else cli_section(args, section)
        for section in args.only
    )
    print_table(results)


if __name__ == "__main__":
    main()
