"""What a conversion produced and how well it agrees with Keras, as data and as a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with left-aligned columns."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@dataclass
class ConversionReport:
    """Everything measured during one conversion."""

    target: str
    output_path: str | None
    size_bytes: int
    float_size_bytes: int | None
    ops: dict[str, int]
    custom_ops: list[str]
    binary_macs: int
    bitpacked_macs: int
    not_bitpacked: list[tuple[str, str]]  # (layer, reason)
    rewrites: list[tuple[str, str]]  # (layer, change)
    float_ops: list[str]  # int8 target: ops left in float32
    conversion_seconds: float
    verified: bool
    verification: str  # the measured agreement, or why it was skipped
    tolerance: str
    verification_inputs: str
    verification_seconds: float = 0.0
    max_abs_error: float | None = None
    argmax_agreement: float | None = None
    layerwise: str | None = None  # the layer-by-layer comparison
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.to_text()

    @property
    def size_ratio(self) -> float | None:
        """Size of this file / size of the float32 .tflite."""
        if not self.float_size_bytes:
            return None
        return self.size_bytes / self.float_size_bytes

    @property
    def bitpacked_share(self) -> float | None:
        """Share of the binary multiply-accumulates that run bitpacked (None: no binary
        layers)."""
        if not self.binary_macs:
            return None
        return self.bitpacked_macs / self.binary_macs

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "size_ratio": self.size_ratio,
            "bitpacked_share": self.bitpacked_share,
        }

    def to_text(self) -> str:
        rows = [
            ["target", self.target],
            ["file", self.output_path or "(not written)"],
            ["size", _size(self.size_bytes) + _ratio(self.size_ratio)],
            ["ops", ", ".join(f"{name}×{count}" for name, count in self.ops.items())],
            ["custom ops", ", ".join(self.custom_ops) or "none (stock TFLite runtime)"],
            ["bitpacked binary MACs", _share(self)],
            ["conversion time", f"{self.conversion_seconds:.1f} s"],
            ["verified", ("yes" if self.verified else "no") + f": {self.verification}"],
            *([["layer by layer", self.layerwise]] if self.layerwise else []),
            ["guarantee" if self.layerwise else "tolerance", self.tolerance],
            ["verification inputs", self.verification_inputs],
        ]
        if self.float_ops:
            rows.append(["float32 ops", ", ".join(self.float_ops)])
        rows += [["rewritten", f"{layer}: {change}"] for layer, change in self.rewrites]
        rows += [["NOT bitpacked", f"{layer}: {why}"] for layer, why in self.not_bitpacked]
        rows += [["note", note] for note in self.notes]
        return format_table(["conversion", ""], rows)


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KB" if size < 1 << 20 else f"{size / (1 << 20):.2f} MB"


def _ratio(ratio: float | None) -> str:
    return "" if ratio is None else f" ({ratio:.3f} of float32, 1/{1 / ratio:.1f})"


def _share(report: ConversionReport) -> str:
    if report.bitpacked_share is None:
        return "no binary layers"
    if report.target != "lce":
        return f"0% ({report.target} target uses no bitpacked ops)"
    return f"{report.bitpacked_share:.1%} of {report.binary_macs:,}"
