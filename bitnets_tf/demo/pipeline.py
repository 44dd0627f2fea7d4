"""``bitnets-tf demo``: train a binary ConvNet on Fashion-MNIST, convert it to ``lce``,
``int8`` and ``float`` .tflite files, check and time them, and write a report.

Steps: load the data (local IDX files, the Debian package ``dataset-fashion-mnist`` or
tensorflow-datasets); train with ``model.fit`` (Adam on the latent weights, learning rate
decaying exponentially to 1/100; no augmentation: within a few epochs the 2-pixel shifts cost
accuracy, measured 81.5 % vs 84.5 % test accuracy after 4 epochs); evaluate Keras on the test
set; convert to each target with the dataset's labels and normalisation in the metadata (each
conversion is verified against Keras before it is written); evaluate every .tflite on the
whole test set; time single-image inference; write ``report.md``, ``summary.json``,
``curves.png``, ``history.csv``, ``model.keras`` and the .tflite files.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from bitnets_tf import data
from bitnets_tf.demo.model import demo_model
from bitnets_tf.demo.report import DemoSummary, ModelRow, summary_table, write_report
from bitnets_tf.deploy.bench import time_model
from bitnets_tf.deploy.interpreters import ModelRunner
from bitnets_tf.deploy.metadata import deployment_metadata

DATASET = "fashion_mnist"
TARGETS = ("float", "int8", "lce")
CALIBRATION_IMAGES = 200
VERIFICATION_IMAGES = 64
STEPS = 6


@dataclass(frozen=True)
class DemoConfig:
    """Options of the demo. ``quick`` trains on 2,048 images for one epoch and evaluates on
    512 (about a minute): a smoke test, not a result."""

    out: Path
    epochs: int = 5
    data_dir: str | None = None
    quick: bool = False
    batch_size: int = 128
    learning_rate: float = 2e-2
    bench_runs: int = 300
    seed: int = 0

    @classmethod
    def create(
        cls,
        out: Path,
        epochs: int | None = None,
        data_dir: str | None = None,
        quick: bool = False,
        seed: int = 0,
    ) -> DemoConfig:
        """The configuration for the command's options: ``quick`` defaults to 1 epoch and 50
        timed runs."""
        if epochs is None:
            epochs = 1 if quick else cls.epochs
        bench_runs = 50 if quick else cls.bench_runs
        return cls(out, epochs, data_dir, quick, bench_runs=bench_runs, seed=seed)

    @property
    def train_split(self) -> str:
        return "train[:2048]" if self.quick else "train"

    @property
    def test_split(self) -> str:
        return "test[:512]" if self.quick else "test"


class _Steps:
    """Numbered progress lines with the time since the start."""

    def __init__(self, say: Callable[[str], None]):
        self.say = say
        self.start = time.perf_counter()
        self.number = 0

    def __call__(self, message: str) -> None:
        self.number += 1
        elapsed = time.perf_counter() - self.start
        self.say(f"[{self.number}/{STEPS}] {message} (t={elapsed:.0f} s)")


def _arrays(dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for x, y in dataset:
        images.append(x.numpy())
        labels.append(y.numpy())
    return np.concatenate(images), np.concatenate(labels)


def _train(model, config: DemoConfig, train, test, work: Path) -> tuple[Path, float]:
    from bitnets_tf.training import fit_classifier, learning_rate_schedule

    steps = config.epochs * int(train.cardinality())
    history = work / "history.csv"
    start = time.perf_counter()
    fit_classifier(
        model,
        train,
        test,
        epochs=config.epochs,
        learning_rate=learning_rate_schedule("exponential", config.learning_rate, steps),
        callbacks=[tf.keras.callbacks.CSVLogger(str(history))],
        verbose=1 if sys.stdout.isatty() else 2,
    )
    return history, time.perf_counter() - start


def _evaluate(runner: ModelRunner, images: np.ndarray, name: str) -> np.ndarray:
    from tqdm import tqdm

    progress = tqdm(
        images, desc=f"      {name:>5} on the test set", unit="img", leave=False, mininterval=1.0
    )
    outputs = [runner.run(image)[0] for image in progress]
    return np.argmax(np.stack(outputs), axis=1)


def run_demo(config: DemoConfig, say: Callable[[str], None] = print) -> DemoSummary:
    """Run the whole demo and write its report into ``config.out``.

    Raises:
        bitnets_tf.data.DataNotFoundError: no Fashion-MNIST copy found (the message lists
            where it looked and how to get it, e.g. ``apt-get install dataset-fashion-mnist``).
        ValueError: bad options.
        bitnets_tf.converters.ConversionError: a conversion failed its verification.
    """
    from bitnets_tf.converters import convert
    from bitnets_tf.training import plot_training_curves

    if config.epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {config.epochs}.")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    step = _Steps(say)
    tf.keras.utils.set_random_seed(config.seed)
    info = data.info(DATASET)

    step(f"loading {DATASET} ({config.train_split}, {config.test_split})")
    load = {"data_dir": config.data_dir, "seed": config.seed}
    train = data.load(DATASET, config.train_split, config.batch_size, augment=False, **load)
    test = data.load(DATASET, config.test_split, 1000, augment=False, shuffle=False, **load)
    calibration_split = f"train[:{CALIBRATION_IMAGES}]"
    calibration, _ = _arrays(
        data.load(
            DATASET, calibration_split, CALIBRATION_IMAGES, augment=False, shuffle=False, **load
        )
    )
    x_test, y_test = _arrays(test)
    train_examples = int(train.reduce(0, lambda count, batch: count + tf.shape(batch[1])[0]))

    step(f"training a binary ConvNet for {config.epochs} epoch(s)")
    model = demo_model(info.input_shape, info.num_classes)
    with tempfile.TemporaryDirectory(dir=out, prefix=".work-") as directory:
        work = Path(directory)
        history, train_seconds = _train(model, config, train, test, work)
        os.replace(history, out / "history.csv")
        model.save(work / "model.keras")
        os.replace(work / "model.keras", out / "model.keras")
    curves = plot_training_curves(out / "history.csv", out / "curves.png", validation_label="test")
    keras_top = np.argmax(model.predict(x_test, batch_size=1000, verbose=0), axis=1)
    keras_size = (out / "model.keras").stat().st_size
    rows = [ModelRow("Keras", "model.keras", keras_size, float(np.mean(keras_top == y_test)))]

    step("converting to " + ", ".join(TARGETS) + " (each verified against Keras)")
    paths = {}
    for target in TARGETS:
        paths[target] = out / f"{DATASET}_{target}.tflite"
        result = convert(
            model,
            str(paths[target]),
            target=target,
            representative_data=calibration,
            sample_inputs=x_test[:VERIFICATION_IMAGES],
            metadata=deployment_metadata(DATASET, target, info.input_shape),
        )
        size = len(result.flatbuffer)
        verification = result.report.verification
        rows.append(ModelRow(target, paths[target].name, size, 0.0, verification=verification))

    step(f"evaluating each .tflite on {len(x_test)} test images")
    runners = {target: ModelRunner(paths[target]) for target in TARGETS}
    for row in rows[1:]:
        top = _evaluate(runners[row.name], x_test, row.name)
        row.accuracy = float(np.mean(top == y_test))
        row.keras_agreement = float(np.mean(top == keras_top))
        row.runtime = runners[row.name].runtime

    step(f"timing single-image inference ({config.bench_runs} runs each, 1 thread)")
    for row in rows[1:]:
        stats = time_model(runners[row.name], config.bench_runs, warmup=20, sample=x_test[0])
        row.median_ms, row.p90_ms = stats.median_ms, stats.p90_ms

    summary = DemoSummary(
        dataset=DATASET,
        train_examples=train_examples,
        test_examples=len(x_test),
        epochs=config.epochs,
        train_seconds=train_seconds,
        total_seconds=time.perf_counter() - step.start,
        rows=rows,
        bench_runs=config.bench_runs,
        notes=["--quick: a smoke test on a small subset, not a result"] if config.quick else [],
    )
    step(f"writing the report to {out}")
    report = write_report(summary, out, curves.name)
    say("")
    say(summary_table(summary))
    say("")
    say(f"report: {report}")
    return summary
