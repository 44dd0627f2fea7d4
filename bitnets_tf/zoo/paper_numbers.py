"""The parameters, operations and memory the papers report for the ImageNet zoo models, and a
table comparing them with :func:`~bitnets_tf.zoo.profile.count_operations` of the models built
at 224×224×3 with 1000 classes.

Run ``python -m bitnets_tf.zoo.paper_numbers`` to print the table (Markdown). It builds each
model (a few seconds each, no forward pass).

Sources: ReActNet's (Liu et al. 2020) comparison table and the official README
(liuzechun/ReActNet); Bi-Real Net's (Liu et al. 2018) memory / "FLOPs" table (the column it
labels FLOPs holds OPs) and the BOPs/FLOPs split that ReActNet and Real-to-Binary (Martinez et
al. 2020) quote for it; the official XNOR-Net Torch model (allenai/XNOR-Net
``alexnetxnor.lua``, weights and biases counted); ResNet-18 (He et al. 2016: 1.8e9 FLOPs;
torchvision's 11,689,512 parameters) for the ternary ResNet-18, whose MACs and parameter count
ternary weights do not change. The paper PDFs were not at hand here: the paper values are as
quoted in the literature and each was checked against a recount from the official code's
architecture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bitnets_tf.zoo.profile import count_operations
from bitnets_tf.zoo.registry import create_model

__all__ = ["METRICS", "REPORTED", "Reported", "comparison_table", "measure"]

METRICS = ("params", "bops", "flops", "ops", "memory_mbit")


@dataclass(frozen=True)
class Reported:
    """What a paper reports for one zoo model (None: not reported)."""

    model: str
    kwargs: dict = field(default_factory=dict)
    params: float | None = None
    bops: float | None = None
    flops: float | None = None
    ops: float | None = None
    memory_mbit: float | None = None
    source: str = ""

    @property
    def label(self) -> str:
        variant = self.kwargs.get("variant")
        return self.model if variant is None else f"{self.model} ({variant})"

    def value(self, metric: str) -> float | None:
        return getattr(self, metric)


REPORTED = (
    Reported("reactnet_a", bops=4.82e9, flops=0.12e8, ops=0.87e8, source="ReActNet paper"),
    Reported("reactnet_resnet18", bops=1.68e9, ops=1.63e8, source="ReActNet README"),
    Reported(
        "birealnet18",
        bops=1.68e9,
        flops=1.39e8,
        ops=1.63e8,
        memory_mbit=33.6,
        source="Bi-Real and ReActNet papers",
    ),
    Reported(
        "birealnet34",
        bops=3.53e9,
        flops=1.39e8,
        ops=1.93e8,
        memory_mbit=43.7,
        source="Bi-Real and ReActNet papers",
    ),
    Reported(
        "xnornet_alexnet", {"variant": "xnor"}, params=62_378_344, source="official Torch model"
    ),
    Reported(
        "xnornet_alexnet", {"variant": "bwn"}, params=62_378_344, source="official Torch model"
    ),
    Reported(
        "ternary_resnet18",
        {"variant": "twn"},
        params=11_689_512,
        flops=1.8e9,
        source="ResNet-18 (He et al.)",
    ),
    Reported(
        "ternary_resnet18",
        {"variant": "ttq"},
        params=11_689_512,
        flops=1.8e9,
        source="ResNet-18 (He et al.)",
    ),
)


def measure(reported: Reported) -> dict[str, float]:
    """``count_operations`` of the model built at 224×224×3, 1000 classes, plus
    ``memory_mbit`` (10^6 bits, the Bi-Real paper's unit)."""
    counts = count_operations(create_model(reported.model, **reported.kwargs))
    return {**counts, "memory_mbit": counts["memory_bytes"] * 8 / 1e6}


def _cell(measured: float, reported: float | None) -> str:
    text = f"{measured:.4g}" if measured < 1e6 else f"{measured:.3e}"
    if reported is None:
        return text
    return f"{text} / {reported:.3g} ({measured / reported - 1:+.1%})"


def comparison_table(rows: list[tuple[Reported, dict[str, float]]] | None = None) -> str:
    """A Markdown table: measured / reported (relative difference) per metric."""
    if rows is None:
        rows = [(reported, measure(reported)) for reported in REPORTED]
    header = "| model | params | BOPs | FLOPs | OPs | memory (Mbit) | source |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for reported, measured in rows:
        cells = [_cell(measured[metric], reported.value(metric)) for metric in METRICS]
        lines.append(f"| {reported.label} | {' | '.join(cells)} | {reported.source} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(comparison_table())
