"""Gradient-free (bit-flip) training of a binary ConvNet, against STE, its memory and conversion.

Prints one table for one dataset (MNIST or Fashion-MNIST):

- test accuracy, training time and peak RSS of the gradient-free trained binary ConvNet
  (greedy, bit by bit, no latent weights; a linear readout fitted on the streamed ±1
  features) on the full training set and on a tenth of it — their peak-RSS ratio shows
  whether memory is flat in the dataset size;
- with ``--compare-ridge``, the same blocks on the tenth with a narrower readout
  (``--compare-pool``) fitted both ways: streaming, and by the exact ridge solve whose
  memory is quadratic in the readout's width;
- the same architecture trained with STE + Adam through ``model.fit`` for the same
  wall-clock time as the full gradient-free run;
- for the full gradient-free and the STE model: conversion with
  ``bitnets_tf.converters.convert`` to ``lce`` and ``int8``, verified against Keras on 200
  test images (argmax agreement), after a save / load round trip.

Every configuration runs in a fresh subprocess, so its peak RSS (``ru_maxrss``) is its own.

    python benchmarks/gradient_free.py --data-dir DIR --skip-ste --compare-ridge   # MNIST
    python benchmarks/gradient_free.py --data-dir DIR --dataset fashion_mnist --skip-small \\
        --filters 32,64 --epochs 1 --readout-epochs 2
    python benchmarks/gradient_free.py --data-dir DIR --quick                      # smoke run

Commands and measured results: docs/gradient-free.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def _train_data(args, examples: int):
    from bitnets_tf import data

    return data.load(
        args.dataset,
        f"train[:{examples}]",
        args.batch_size,
        augment=False,
        data_dir=args.data_dir,
        shuffle=True,
        seed=0,
    )


def _test_data(args):
    from bitnets_tf import data

    split = "test[:1000]" if args.quick else "test"
    return data.load(args.dataset, split, 500, augment=False, data_dir=args.data_dir)


def _accuracy(model, dataset) -> float:
    import numpy as np

    correct = total = 0
    for images, labels in dataset:
        correct += int(np.sum(model.predict_on_batch(images).argmax(1) == labels.numpy()))
        total += len(labels)
    return correct / total


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_gradient_free(args) -> dict:
    from bitnets_tf.training.gradient_free import (
        RidgeReadout,
        StreamingReadout,
        train_gradient_free,
    )

    if args.readout == "ridge":
        readout = RidgeReadout(args.ridge_l2)
    else:
        readout = StreamingReadout(args.readout_epochs, args.readout_lr)
    start = time.perf_counter()
    result = train_gradient_free(
        _train_data(args, args.examples),
        10,
        filters=args.filters,
        pool=args.pool,
        epochs_per_block=args.epochs,
        readout=readout,
        readout_pool=args.readout_pool,
        seed=0,
    )
    seconds = time.perf_counter() - start
    if args.save:
        result.model.save(args.save)
    return {"accuracy": _accuracy(result.model, _test_data(args)), "seconds": seconds}


def ste_model(args):
    """The gradient-free architecture with trainable latent weights and a real readout."""
    import tensorflow as tf

    from bitnets_tf import layers

    inputs = tf.keras.Input((28, 28, 1))
    x = inputs
    for index, filters in enumerate(args.filters):
        if index and args.pool[index - 1]:
            x = tf.keras.layers.MaxPool2D()(x)
        x = layers.QuantConv2D(
            filters,
            3,
            input_quantizer="ste_sign",
            kernel_quantizer="ste_sign",
            kernel_constraint="weight_clip",
        )(x)
    x = tf.keras.layers.Flatten()(tf.keras.layers.MaxPool2D(args.readout_pool)(x))
    outputs = layers.QuantDense(10, input_quantizer="ste_sign")(x)
    return tf.keras.Model(inputs, outputs)


def worker_ste(args) -> dict:
    import tensorflow as tf

    model = ste_model(args)
    model.compile(
        tf.keras.optimizers.Adam(1e-3),
        tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )

    class StopAfter(tf.keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if time.perf_counter() - start > args.seconds:
                self.model.stop_training = True

    start = time.perf_counter()
    model.fit(_train_data(args, args.examples), epochs=1000, callbacks=[StopAfter()], verbose=0)
    seconds = time.perf_counter() - start
    if args.save:
        model.save(args.save)
    return {"accuracy": _accuracy(model, _test_data(args)), "seconds": seconds}


def worker_convert(args) -> dict:
    """Load the saved model and convert it to lce and int8, each verified against Keras."""
    import numpy as np
    import tensorflow as tf

    from bitnets_tf.converters import convert

    model = tf.keras.models.load_model(args.save)
    images = np.concatenate([x.numpy() for x, _ in _test_data(args).take(1)])[:200]
    report = {}
    for target in ("lce", "int8"):
        result = convert(model, target=target, sample_inputs=images, float_reference=False)
        report[target] = {
            "verified": bool(result.report.verified),
            "argmax_agreement": result.report.argmax_agreement,
            "kib": len(result.flatbuffer) / 1024,
        }
    return report


WORKERS = {"gradient_free": worker_gradient_free, "ste": worker_ste, "convert": worker_convert}


def _run_worker(args, kind: str, examples: int, extra: list[str] = ()) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--dataset",
        args.dataset,
        "--examples",
        str(examples),
        "--epochs",
        ",".join(map(str, args.epochs)),
        "--batch-size",
        str(args.batch_size),
        "--filters",
        ",".join(map(str, args.filters)),
        "--pool",
        ",".join(str(int(p)) for p in args.pool),
        "--readout-pool",
        str(args.readout_pool),
        "--readout-epochs",
        str(args.readout_epochs),
        "--ridge-l2",
        str(args.ridge_l2),
        *extra,
    ]
    if args.readout_lr:
        command += ["--readout-lr", str(args.readout_lr)]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    if args.quick:
        command.append("--quick")
    print("running:", " ".join(command[1:]), flush=True)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    print("result:", json.dumps(result), flush=True)
    return result


def _int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("BITNETS_TF_DATA_DIR"))
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    parser.add_argument(
        "--quick", action="store_true", help="1k/2k examples, 1000 test images, small filters"
    )
    parser.add_argument(
        "--epochs", type=_int_list, default=[2], help="epochs per block (one, or one per block)"
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument(
        "--filters",
        type=_int_list,
        help="channels of each binary convolution (default 64,128; with --quick 16,32)",
    )
    parser.add_argument(
        "--pool",
        type=lambda s: [bool(int(p)) for p in s.split(",") if p],
        help="per block after the first, 1 to max-pool its input (default: 0 for each)",
    )
    parser.add_argument("--readout-pool", type=int, default=1, help="max-pool before the readout")
    parser.add_argument("--readout-epochs", type=int, default=4, help="streaming readout passes")
    parser.add_argument(
        "--readout-lr", type=float, help="streaming readout Adam LR (default 4 / width)"
    )
    parser.add_argument("--ridge-l2", type=float, default=100.0, help="ridge readout strength")
    parser.add_argument(
        "--compare-ridge",
        action="store_true",
        help="also fit the exact ridge readout on the same blocks (small run only)",
    )
    parser.add_argument(
        "--skip-small",
        action="store_true",
        help="no run on a tenth of the data (no memory-flatness ratio)",
    )
    parser.add_argument(
        "--skip-ste", action="store_true", help="no STE baseline (and no conversion of it)"
    )
    parser.add_argument(
        "--compare-pool", type=int, default=3, help="readout pool of the --compare-ridge rows"
    )
    parser.add_argument("--readout", choices=["streaming", "ridge"], help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument(
        "--examples", type=int, help="training examples of the full run (default 60000)"
    )
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--save", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.filters is None:
        args.filters = [16, 32] if args.quick else [64, 128]
    if args.pool is None:
        args.pool = [False] * (len(args.filters) - 1)
    if len(args.epochs) == 1:
        args.epochs = args.epochs * len(args.filters)

    if args.worker:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import bitnets_tf  # noqa: F401

        if args.worker == "gradient_free":
            args.epochs = args.epochs if len(set(args.epochs)) > 1 else args.epochs[0]
        result = WORKERS[args.worker](args)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return

    small, large = (1000, 2000) if args.quick else (6000, args.examples or 60000)
    with tempfile.TemporaryDirectory(prefix="gradient-free-bench-") as directory:
        saved_gf = os.path.join(directory, "gradient_free.keras")
        saved_ste = os.path.join(directory, "ste.keras")
        full = _run_worker(args, "gradient_free", large, ["--save", saved_gf])
        rows = [(f"gradient-free, {large} ex, streaming readout", full)]
        conversions = {"gradient-free": _run_worker(args, "convert", large, ["--save", saved_gf])}
        subset = None if args.skip_small else _run_worker(args, "gradient_free", small)
        if subset:
            rows.append((f"gradient-free, {small} ex, streaming readout", subset))
        if not args.skip_ste:
            ste_extra = ["--seconds", f"{full['seconds']:.1f}", "--save", saved_ste]
            ste = _run_worker(args, "ste", large, ste_extra)
            rows.append((f"STE + Adam, {large} ex, same wall clock", ste))
            conversions["STE"] = _run_worker(args, "convert", large, ["--save", saved_ste])
        if args.compare_ridge:
            narrow = ["--readout-pool", str(args.compare_pool)]
            for readout in ("streaming", "ridge"):
                row = _run_worker(args, "gradient_free", small, [*narrow, "--readout", readout])
                rows.append((f"  {small} ex, readout pool {args.compare_pool}, {readout}", row))

    pools = ",".join(str(int(p)) for p in args.pool)
    epochs = ",".join(map(str, args.epochs))
    print(
        f"\nbinary ConvNet {args.filters}, pool {pools}, epochs/block {epochs}, readout pool "
        f"{args.readout_pool} (streaming: {args.readout_epochs} passes, lr "
        f"{args.readout_lr or '4 / width'}) "
        f"on {args.dataset} ({'quick' if args.quick else 'full'} run)"
    )
    print(f"{'configuration':44s} {'test acc':>9s} {'train s':>8s} {'peak RSS MB':>12s}")
    for name, row in rows:
        print(f"{name:44s} {row['accuracy']:9.2%} {row['seconds']:8.0f} {row['peak_rss_mb']:12.0f}")
    if subset:
        ratio = full["peak_rss_mb"] / subset["peak_rss_mb"]
        print(
            f"peak RSS {large} / {small} examples: {ratio:.2f} "
            f"(flat = 1.00; the data set grows x{large // small})"
        )
    for name, report in conversions.items():
        for target in ("lce", "int8"):
            entry = report[target]
            print(
                f"{name} -> {target}: verified {entry['verified']}, argmax agreement "
                f"{entry['argmax_agreement']:.2%} on 200 test images, {entry['kib']:.0f} KiB"
            )


if __name__ == "__main__":
    main()
