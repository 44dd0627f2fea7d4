"""Gradient-free (bit-flip) training of a binary ConvNet on MNIST, against STE, and its memory.

Prints one table:

- test accuracy of the gradient-free trained binary ConvNet (greedy, bit by bit, no latent
  weights; least-squares readout) — the original bitnets hill climbing reached about 93 %,
  the target is >= 97 %;
- the same architecture trained with STE + Adam through ``model.fit`` for the same
  wall-clock time;
- peak RSS of gradient-free training on 6k and on 60k training examples (target: flat).

Every configuration runs in a fresh subprocess so its peak RSS (``ru_maxrss``) is its own.

    python benchmarks/gradient_free.py --data-dir ../shared/data          # full (~20 min here)
    python benchmarks/gradient_free.py --data-dir ../shared/data --quick  # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def _train_data(args, examples: int):
    from bitnets_tf import data

    return data.load(
        "mnist",
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
    return data.load("mnist", split, 500, augment=False, data_dir=args.data_dir)


def _accuracy(model, dataset) -> float:
    import numpy as np

    correct = total = 0
    for images, labels in dataset:
        correct += int(np.sum(model.predict_on_batch(images).argmax(1) == labels.numpy()))
        total += len(labels)
    return correct / total


def worker_gradient_free(args) -> dict:
    from bitnets_tf.training.gradient_free import train_gradient_free

    start = time.perf_counter()
    result = train_gradient_free(
        _train_data(args, args.examples),
        10,
        filters=args.filters,
        pool=args.pool,
        epochs_per_block=args.epochs,
        readout_pool=args.readout_pool,
        seed=0,
    )
    seconds = time.perf_counter() - start
    if args.save:
        result.model.save(args.save)
    return {"accuracy": _accuracy(result.model, _test_data(args)), "seconds": seconds}


def worker_ste(args) -> dict:
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
    model = tf.keras.Model(inputs, outputs)
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
    return {"accuracy": _accuracy(model, _test_data(args)), "seconds": seconds}


def _run_worker(args, kind: str, examples: int, extra: list[str] = ()) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--examples",
        str(examples),
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--filters",
        ",".join(map(str, args.filters)),
        "--pool",
        ",".join(str(int(p)) for p in args.pool),
        "--readout-pool",
        str(args.readout_pool),
        *extra,
    ]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    if args.quick:
        command.append("--quick")
    print("running:", " ".join(command[1:]), flush=True)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("BITNETS_TF_DATA_DIR"))
    parser.add_argument(
        "--quick", action="store_true", help="1k/2k examples, 1000 test images, small filters"
    )
    parser.add_argument("--epochs", type=int, default=2, help="epochs per block")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument(
        "--filters",
        type=lambda s: [int(f) for f in s.split(",")],
        help="channels of each binary convolution (default 64,128; with --quick 16,32)",
    )
    parser.add_argument(
        "--pool",
        type=lambda s: [bool(int(p)) for p in s.split(",") if p],
        help="per block after the first, 1 to max-pool its input (default: 0 for each)",
    )
    parser.add_argument("--readout-pool", type=int, default=2, help="max-pool before the readout")
    parser.add_argument("--worker", choices=["gradient_free", "ste"], help=argparse.SUPPRESS)
    parser.add_argument("--examples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--save", help="save the 60k gradient-free model (.keras) here")
    args = parser.parse_args()
    if args.filters is None:
        args.filters = [16, 32] if args.quick else [64, 128]
    if args.pool is None:
        args.pool = [False] * (len(args.filters) - 1)

    if args.worker:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import bitnets_tf  # noqa: F401

        result = (worker_gradient_free if args.worker == "gradient_free" else worker_ste)(args)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return

    small, large = (1000, 2000) if args.quick else (6000, 60000)
    save = ["--save", args.save] if args.save else []
    full = _run_worker(args, "gradient_free", large, save)
    subset = _run_worker(args, "gradient_free", small)
    ste = _run_worker(args, "ste", large, ["--seconds", f"{full['seconds']:.1f}"])
    rows = [
        (f"gradient-free, {large} ex, {args.epochs} ep/block", full),
        (f"gradient-free, {small} ex, {args.epochs} ep/block", subset),
        (f"STE + Adam, {large} ex, same wall clock", ste),
    ]
    pools = ",".join(str(int(p)) for p in args.pool)
    print(
        f"\nbinary ConvNet {args.filters}, pool {pools}, readout pool {args.readout_pool} on "
        f"MNIST ({'quick' if args.quick else 'full'} run)"
    )
    print(f"{'configuration':44s} {'test acc':>9s} {'train s':>8s} {'peak RSS MB':>12s}")
    for name, row in rows:
        print(f"{name:44s} {row['accuracy']:9.2%} {row['seconds']:8.0f} {row['peak_rss_mb']:12.0f}")
    ratio = full["peak_rss_mb"] / subset["peak_rss_mb"]
    print(
        f"peak RSS {large} / {small} examples: {ratio:.2f} "
        f"(flat = 1.00; the data set grows x{large // small})"
    )


if __name__ == "__main__":
    main()
