"""Where a binary ``model.fit`` step spends its time beyond the float twin's, by ablation.

Each variant is BinaryNet-CIFAR with one part of the binary machinery taken out (rebuilt from
the layer configs with the same weights); the time a part costs is the binary model's CPU time
per image minus the variant's. Variants are timed one epoch each, interleaved, in an order that
alternates between repeats; the table shows the median CPU milliseconds per image (user +
system time of this process, less sensitive to other processes than wall time) and the share
of the binary-minus-float gap each part explains. It also checks that ``fit`` traces its step
function once (no retracing between epochs).

    python benchmarks/train_step_profile.py               # 512 images x 5 repeats
    python benchmarks/train_step_profile.py --quick       # smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import time
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf
from train_throughput import build, synthetic_dataset

from bitnets_tf import layers
from bitnets_tf.training._clone import clone_with_layer_changes

# The "no latent-weight clip" variant makes larq warn about unclipped binary kernels.
logging.getLogger("larq").setLevel(logging.ERROR)

# Layer changes that remove one part of the binary machinery from every binary layer.
ABLATIONS = {
    "no latent-weight clip": {"kernel_constraint": None},
    "no kernel sign": {"kernel_quantizer": None},
    "no input sign": {"input_quantizer": None},
    "zero padding (no +1 border)": {"pad_values": 0.0},
}


def _ablated(binary: tf.keras.Model, changes: dict) -> tf.keras.Model:
    def change(layer: tf.keras.layers.Layer) -> dict:
        quantized = getattr(layer, "kernel_quantizer", None) is not None
        return (
            {key: value for key, value in changes.items() if key in layer.get_config()}
            if (quantized)
            else {}
        )

    model = clone_with_layer_changes(binary, change)
    model.compile(
        binary.optimizer.__class__.from_config(binary.optimizer.get_config()), binary.loss
    )
    return model


def _larq_sign_if(unfused: bool) -> contextlib.AbstractContextManager:
    """Build layers with larq's own (unfused) ``ste_sign``, as before the fused twin."""
    if not unfused:
        return contextlib.nullcontext()
    return mock.patch.object(layers, "fused_twin", lambda quantizer, **_: quantizer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="binarynet_cnn")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--examples", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="128 images x 2 repeats")
    parser.add_argument(
        "--larq-sign", action="store_true", help="binary layers with larq's unfused ste_sign"
    )
    args = parser.parse_args()
    if args.quick:
        args.examples, args.repeats = 128, 2

    data = synthetic_dataset(args.examples, args.batch_size)
    with _larq_sign_if(args.larq_sign):
        models = {"binary": build("binary", args.model), "float": build("float", args.model)}
        for name, changes in ABLATIONS.items():
            models[name] = _ablated(models["binary"], changes)
    for model in models.values():  # trace and warm up
        model.fit(data, epochs=1, verbose=0)
    names = list(models)
    milliseconds = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:
            start = time.process_time()
            models[name].fit(data, epochs=1, verbose=0)
            milliseconds[name].append(1000 * (time.process_time() - start) / args.examples)

    median = {name: statistics.median(values) for name, values in milliseconds.items()}
    gap = median["binary"] - median["float"]
    sign = "larq's unfused ste_sign" if args.larq_sign else "XLA-fused ste_sign"
    print(
        f"train-step profile by ablation ({sign}), {args.model}, batch {args.batch_size}, "
        f"{args.examples} images x {args.repeats} repeats (interleaved), {os.cpu_count()} CPUs"
    )
    print(
        f"\n{'variant':<28}{'CPU ms/image':>14}{'min':>8}{'max':>8}{'part costs':>12}{'of gap':>9}"
    )
    for name in names:
        values = milliseconds[name]
        row = f"{name:<28}{median[name]:>14.2f}{min(values):>8.2f}{max(values):>8.2f}"
        if name in ABLATIONS:
            cost = median["binary"] - median[name]
            row += f"{cost:>12.2f}{100 * cost / gap:>8.0f}%"
        print(row)
    print(
        f"\nbinary - float gap: {gap:.2f} CPU ms/image; binary/float images per CPU-s: "
        f"{median['float'] / median['binary']:.3f}"
    )
    traces = {
        name: model.train_function.experimental_get_tracing_count()
        for name, model in models.items()
    }
    print(f"train_function traces per model (1 = no retracing): {traces}")


if __name__ == "__main__":
    main()
