"""The three conversion targets, one object each: how a Keras model becomes a flatbuffer,
which interpreter runs it, what the target adds to the report and how its file is judged
(layer by layer, or also on end-to-end rates)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from bitnets_tf._targets import TARGETS
from bitnets_tf.converters import lce, tflite
from bitnets_tf.converters.audit import ModelAudit
from bitnets_tf.converters.cloning import clone_model
from bitnets_tf.converters.errors import ConversionError
from bitnets_tf.converters.int8 import convert_int8
from bitnets_tf.converters.layerwise import CheckpointMap
from bitnets_tf.converters.rewrite import rewrite_for_lce
from bitnets_tf.tflite import flatbuffer
from bitnets_tf.tflite.batch import run_lce, run_tflite


@dataclass(frozen=True)
class Settings:
    """What a conversion needs besides the model: the int8 calibration samples and switches,
    and whether to convert a float32 reference for the size ratio."""

    calibration: list[list[np.ndarray]]
    float_head: bool = True
    float_stem: bool = True
    exact_int8: bool = True
    float_reference: bool = True


@dataclass
class Converted:
    """A target's flatbuffer and what the report says about how it was made."""

    flatbuffer: bytes
    float_size: int | None
    rewrites: list[tuple[str, str]] = field(default_factory=list)
    float_ops: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    disagreement_hint: str = ""  # why the file may miss the end-to-end rates, and what to do
    checkpoints: CheckpointMap | None = None  # a file of a rewritten copy: where its tensors are
    # layers the file computes inexactly by design (int8-rounded values or signs): where they
    # stand in the way of the layer-by-layer bound, the target's end-to-end rates decide
    inexact_layers: list[str] = field(default_factory=list)


class Target:
    """One conversion target: its file is verified layer by layer, and end to end on the
    target's rates where the file computes some layers inexactly by design
    (:attr:`Converted.inexact_layers`)."""

    name: str

    def convert(self, model: tf.keras.Model, settings: Settings, audit: ModelAudit) -> Converted:
        raise NotImplementedError

    def run(
        self, model: bytes, inputs: list[np.ndarray], input_names: Sequence[str]
    ) -> list[np.ndarray]:
        """The outputs of ``model`` in this target's interpreter, inputs and outputs in the
        Keras model's order."""
        return run_tflite(model, inputs, input_names)

    def bitpacked(self, audit: ModelAudit) -> tuple[int, list[tuple[str, str]]]:
        """The binary MACs that run bitpacked, and the binary layers that do not (with why)."""
        return 0, []

    def preparation_notes(self, calibrated_on_representative: bool) -> list[str]:
        return []


class _Lce(Target):
    name = "lce"

    def convert(self, model, settings, audit):
        source, rewrites = rewrite_for_lce(model)
        with tempfile.TemporaryDirectory(prefix="bitnets-tf-") as directory:
            tflite.save_model(source, directory)
            result = lce.convert_saved_model(directory)
            float_size = None
            if settings.float_reference:
                float_size = len(tflite.convert_float(directory))
        return Converted(
            result,
            float_size,
            rewrites=[(r.layer, r.change) for r in rewrites],
            notes=_check_bitpacking(result, audit),
        )

    def run(self, model, inputs, input_names):
        return run_lce(model, inputs, input_names)

    def bitpacked(self, audit):
        return audit.bitpacked_macs, [(row.name, row.note) for row in audit.not_bitpacked]


class _Int8(Target):
    name = "int8"

    def convert(self, model, settings, audit):
        converted = convert_int8(
            clone_model(model),
            settings.calibration,
            float_head=settings.float_head,
            float_stem=settings.float_stem,
            exact=settings.exact_int8,
        )
        float_size = None
        if settings.float_reference:
            with tempfile.TemporaryDirectory(prefix="bitnets-tf-") as directory:
                tflite.save_model(model, directory)
                float_size = len(tflite.convert_float(directory))
        inexact = [step.layer for step in converted.rounded]
        notes, hint = [], ""
        if inexact:
            notes.append(
                "int8 only approximates the signs of " + ", ".join(inexact) + " (their "
                "inputs are int8-rounded; exact_int8=False)"
            )
            hint = (
                "Signs computed from int8-rounded tensors (they flip near the threshold): "
                + ", ".join(inexact)
                + "; use target='lce' or 'float' for this model"
            )
        return Converted(
            converted.flatbuffer,
            float_size,
            float_ops=converted.float_ops,
            notes=notes,
            disagreement_hint=hint,
            checkpoints=converted.checkpoints,
            inexact_layers=list(dict.fromkeys(converted.int8_layers + inexact)),
        )

    def preparation_notes(self, calibrated_on_representative):
        if calibrated_on_representative:
            return []
        return [
            "int8 calibrated on the verification inputs, not on representative_data=: float "
            "layers' int8 ranges may not fit real data (binary layers are exact regardless)"
        ]


class _Float(Target):
    name = "float"

    def convert(self, model, settings, audit):
        with tempfile.TemporaryDirectory(prefix="bitnets-tf-") as directory:
            tflite.save_model(model, directory)
            result = tflite.convert_float(directory)
        return Converted(result, len(result))


def _check_bitpacking(model: bytes, audit: ModelAudit) -> list[str]:
    """Raise if LCE left an expected binary layer unpacked; notes for surprises."""
    bconvs = flatbuffer.operator_names(model).count("LceBconv2d")
    expected = audit.expected_bconvs
    if bconvs < expected:
        raise ConversionError(
            f"larq-compute-engine produced {bconvs} LceBconv2d ops but the model has {expected} "
            "bitpackable binary layers: a binary layer was converted to a float op. Run "
            "`bitnets-tf audit` on the model and report this as a bug.",
            target="lce",
            details=", ".join(flatbuffer.operator_names(model)),
        )
    if bconvs > expected:
        return [f"{bconvs - expected} more LceBconv2d than the audit predicted"]
    return []


_BY_NAME: dict[str, Target] = {target.name: target for target in (_Lce(), _Int8(), _Float())}


def target_named(name: str) -> Target:
    """The :class:`Target` called ``name``; a ValueError listing the choices otherwise."""
    if name not in _BY_NAME:
        raise ValueError(f"Unknown target {name!r}; choose one of {', '.join(TARGETS)}.")
    return _BY_NAME[name]
