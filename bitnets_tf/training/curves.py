"""Plotting training curves from a Keras CSVLogger file to a PNG (matplotlib, Agg backend)."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from bitnets_tf.training.checkpoints import atomic_write_bytes

__all__ = ["plot_training_curves", "read_history_csv"]

MISSING = ("", "NA", None)  # how CSVLogger and csv write a value an epoch did not log


def read_history_csv(path: str | os.PathLike) -> dict[str, list[float]]:
    """The columns of a CSVLogger file as float lists (``epoch`` included, 1-based)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path} has no epochs to plot.")
    columns: dict[str, list[float]] = {key: [] for key in rows[0]}
    for row in rows:
        for key in columns:
            value = row.get(key, "")
            columns[key].append(math.nan if value in MISSING else float(value))
    columns["epoch"] = [epoch + 1 for epoch in columns["epoch"]]
    return columns


def plot_training_curves(csv_path: str | os.PathLike, png_path: str | os.PathLike) -> Path:
    """One panel per quantity (loss, accuracy, flip ratio, ...), train and ``val_`` together.

    Written atomically; returns ``png_path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    history = read_history_csv(csv_path)
    epochs = history.pop("epoch")
    # CSVLogger writes "NA" val_ columns when there is no validation data: leave them out.
    history = {k: v for k, v in history.items() if not all(math.isnan(x) for x in v)}
    quantities = sorted({key.removeprefix("val_") for key in history})
    figure, axes = plt.subplots(
        1, len(quantities), figsize=(4 * len(quantities), 3.2), squeeze=False
    )
    for axis, quantity in zip(axes[0], quantities, strict=True):
        for key, label in ((quantity, "train"), (f"val_{quantity}", "validation")):
            if key in history:
                axis.plot(epochs, history[key], marker="o", label=label)
        axis.set_title(quantity)
        axis.set_xlabel("epoch")
        axis.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    atomic_write_bytes(png_path, buffer.getvalue())
    return Path(png_path)
