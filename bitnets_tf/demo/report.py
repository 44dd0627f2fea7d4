"""The demo's summary table (printed and in ``report.md``) and its JSON record."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bitnets_tf.training.checkpoints import atomic_write_bytes


@dataclass
class ModelRow:
    """One line of the summary: a model file and what was measured on it."""

    name: str  # "Keras", "float", "int8", "lce"
    file: str
    size_bytes: int
    accuracy: float
    keras_agreement: float | None = None  # fraction of test images with Keras's top class
    runtime: str | None = None
    median_ms: float | None = None
    p90_ms: float | None = None
    verification: str | None = None


@dataclass
class DemoSummary:
    """Everything the demo measured, in one run."""

    dataset: str
    train_examples: int
    test_examples: int
    epochs: int
    train_seconds: float
    total_seconds: float
    rows: list[ModelRow]
    bench_runs: int
    notes: list[str] = field(default_factory=list)
    machine: str = field(
        default_factory=lambda: (
            f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"
        )
    )

    def row(self, name: str) -> ModelRow:
        return next(row for row in self.rows if row.name == name)


def _kib(size: int) -> str:
    return f"{size / 1024:.1f} KiB"


def summary_table(summary: DemoSummary) -> str:
    """A Markdown table: accuracy, size and latency of each model, ratios against float."""
    reference = summary.row("float")
    lines = [
        "| model | file | size | size vs float | test accuracy | same top class as Keras "
        "| median latency (1 thread) | speed vs float |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in summary.rows:
        size_ratio = f"{reference.size_bytes / row.size_bytes:.1f}x smaller"
        if row.name == "float":
            size_ratio = "1x"
        agreement = "—" if row.keras_agreement is None else f"{100 * row.keras_agreement:.2f} %"
        latency = "—" if row.median_ms is None else f"{row.median_ms:.3f} ms ({row.runtime})"
        speed = "—" if row.median_ms is None else f"{reference.median_ms / row.median_ms:.2f}x"
        name = "Keras (tf-keras)" if row.name == "Keras" else f"`{row.name}` .tflite"
        lines.append(
            f"| {name} | {row.file} | {_kib(row.size_bytes)} | "
            f"{'—' if row.name == 'Keras' else size_ratio} | {100 * row.accuracy:.2f} % | "
            f"{agreement} | {latency} | {speed} |"
        )
    return "\n".join(lines)


def write_report(summary: DemoSummary, out: Path, curves: str | None) -> Path:
    """``report.md`` and ``summary.json`` in ``out`` (atomically); returns the report path."""
    verification = [
        f"- `{row.name}`: {row.verification}" for row in summary.rows if row.verification
    ]
    text = [
        "# bitnets-tf demo: a binary ConvNet on " + summary.dataset,
        "",
        f"Trained {summary.epochs} epoch(s) on {summary.train_examples} images in "
        f"{summary.train_seconds:.0f} s; evaluated on {summary.test_examples} test images; "
        f"whole run {summary.total_seconds:.0f} s on {summary.machine}.",
        "",
        summary_table(summary),
        "",
        f"Latency: median over {summary.bench_runs} single-image invocations on this machine "
        "(one thread, after warm-up). `lce` runs in larq-compute-engine's interpreter, whose "
        "optimised binary kernels target ARM (aarch64); on x86 it uses portable kernels, so "
        "measure on the device (README: Raspberry Pi guide, Android demo).",
        "",
        "Conversion checks (each .tflite against Keras before it was written):",
        "",
        *verification,
    ]
    if summary.notes:
        text += ["", "Notes:", "", *[f"- {note}" for note in summary.notes]]
    if curves:
        text += ["", "## Training curves", "", f"![training curves]({curves})"]
    report = out / "report.md"
    atomic_write_bytes(report, ("\n".join(text) + "\n").encode())
    atomic_write_bytes(out / "summary.json", json.dumps(asdict(summary), indent=2).encode())
    return report
