"""Training curves (matplotlib): a figure from ``fit``'s history, or a PNG from a CSVLogger file."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bitnets_tf.training.checkpoints import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["history_figure", "plot_training_curves", "read_history_csv"]

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


def history_figure(
    history: Mapping[str, Sequence[float]], validation_label: str = "validation"
) -> Figure:
    """A matplotlib figure with one panel per quantity (loss, accuracy, flip ratio, ...),
    train and ``val_`` curves together.

    Args:
        history: per-epoch values by name, e.g. ``model.fit(...).history``; an ``epoch``
            column (1-based) gives the x values, else epochs count from 1.
        validation_label: the legend name of the ``val_`` curves (``"test"`` when the
            ``validation_data`` given to ``fit`` was the test split).

    In a notebook, ``display(history_figure(model.fit(...).history))`` shows it inline.
    """
    from matplotlib.figure import Figure

    history = {key: list(values) for key, values in history.items()}
    count = max((len(values) for values in history.values()), default=0)
    epochs = history.pop("epoch", None) or list(range(1, count + 1))
    # CSVLogger writes "NA" val_ columns when there is no validation data: leave them out.
    history = {k: v for k, v in history.items() if not all(math.isnan(x) for x in v)}
    quantities = sorted({key.removeprefix("val_") for key in history})
    figure = Figure(figsize=(4 * max(len(quantities), 1), 3.2))
    axes = figure.subplots(1, max(len(quantities), 1), squeeze=False)
    for axis, quantity in zip(axes[0], quantities, strict=False):
        for key, label in ((quantity, "train"), (f"val_{quantity}", validation_label)):
            if key in history:
                axis.plot(epochs, history[key], marker="o", label=label)
        axis.set_title(quantity)
        axis.set_xlabel("epoch")
        axis.legend()
    figure.tight_layout()
    return figure


def plot_training_curves(
    csv_path: str | os.PathLike, png_path: str | os.PathLike, validation_label: str = "validation"
) -> Path:
    """:func:`history_figure` of a CSVLogger file, written atomically as a PNG; returns
    ``png_path``."""
    buffer = io.BytesIO()
    history_figure(read_history_csv(csv_path), validation_label).savefig(
        buffer, format="png", dpi=100
    )
    atomic_write_bytes(png_path, buffer.getvalue())
    return Path(png_path)
