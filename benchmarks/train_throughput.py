"""``model.fit`` training throughput of BinaryNet-CIFAR against its float twin, in one run.

The float twin is the same zoo architecture built with ``input_quantizer=None,
kernel_quantizer=None`` (no sign, no latent-weight clip); everything else (layers, padding,
BN, optimizer, data) is identical. Each repeat times one epoch of every variant, in an order
that alternates between repeats so a noisy machine penalises all of them alike. The table
shows the median images/s and the median of the per-repeat ratios binary / float (issue
target >= 0.8, project target >= 0.95; plain larq is typically 0.88-0.92). It reports wall-clock
images/s and images per CPU-second of this process (user + system time of all its threads):
the second is much less sensitive to other processes competing for the cores.

    python benchmarks/train_throughput.py                # default: 512 images x 5 repeats
    python benchmarks/train_throughput.py --quick        # smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from bitnets_tf import training, zoo  # importing bitnets_tf binds tf.keras to tf-keras

INPUT_SHAPE = (32, 32, 3)
CLASSES = 10


def build(variant: str, model_name: str) -> tf.keras.Model:
    """``binary``: the zoo model; ``float``: the same with no quantizers."""
    quantizers = {} if variant != "float" else {"input_quantizer": None, "kernel_quantizer": None}
    model = zoo.create_model(model_name, input_shape=INPUT_SHAPE, num_classes=CLASSES, **quantizers)
    model.compile(
        training.bnn_optimizer("adam", 1e-3),
        tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def synthetic_dataset(examples: int, batch_size: int) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    images = rng.normal(size=(examples, *INPUT_SHAPE)).astype("float32")
    labels = rng.integers(0, CLASSES, examples)
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size).cache()


def callbacks_for(variant: str) -> list[tf.keras.callbacks.Callback]:
    return [training.FlipRatio()] if variant == "binary+flip_ratio" else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="binarynet_cnn")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--examples", type=int, default=512, help="images per timed epoch")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="128 images x 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.examples, args.repeats = 128, 2

    data = synthetic_dataset(args.examples, args.batch_size)
    variants = ["binary", "float", "binary+flip_ratio"]
    models = {"binary": build("binary", args.model), "float": build("float", args.model)}
    models["binary+flip_ratio"] = models["binary"]
    for variant in ("binary", "float"):  # trace and warm up
        models[variant].fit(data, epochs=1, verbose=0)
    clocks = {"wall": time.perf_counter, "cpu": time.process_time}
    rates = {clock: {variant: [] for variant in variants} for clock in clocks}
    for repeat in range(args.repeats):
        order = variants if repeat % 2 == 0 else variants[::-1]
        for variant in order:
            start = {clock: read() for clock, read in clocks.items()}
            models[variant].fit(data, epochs=1, verbose=0, callbacks=callbacks_for(variant))
            for clock, read in clocks.items():
                rates[clock][variant].append(args.examples / (read() - start[clock]))

    print(
        f"model.fit throughput, {args.model} on {INPUT_SHAPE}, batch {args.batch_size}, "
        f"{args.examples} images x {args.repeats} repeats (interleaved), {os.cpu_count()} CPUs"
    )
    for clock, unit in (("wall", "img/s"), ("cpu", "img/CPU-s")):
        print(f"\n{'variant':<20}{'median ' + unit:>18}{'min':>10}{'max':>10}  ({clock} clock)")
        for variant in variants:
            values = rates[clock][variant]
            median = statistics.median(values)
            print(f"{variant:<20}{median:>18.1f}{min(values):>10.1f}{max(values):>10.1f}")
        for variant in ("binary", "binary+flip_ratio"):
            paired = [
                b / f for b, f in zip(rates[clock][variant], rates[clock]["float"], strict=True)
            ]
            print(
                f"ratio {variant} / float ({clock}): median of per-repeat ratios "
                f"{statistics.median(paired):.3f} (range {min(paired):.3f}-{max(paired):.3f})"
            )
    print("target: binary / float >= 0.95 (cpu)")


if __name__ == "__main__":
    main()
