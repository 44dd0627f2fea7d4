"""``convert``: Keras model → verified ``.tflite`` for larq-compute-engine, stock int8 or float.

The pipeline: load the model, inline nested models, audit its layers, convert it with the
target's rewrites (:mod:`targets`), verify the flatbuffer, write it. Every conversion is
checked before anything is written: the flatbuffer runs in the matching interpreter on sample
inputs; every converted tensor that stands for a Keras layer must agree with Keras given the
same inputs to that layer (:mod:`layerwise`; sign flips within float32 rounding of their
threshold are counted, not refused); an ``int8`` file that rounds some real-valued layers to
int8 by design (float layers between binary ones, a full-integer model) may instead agree on
the outputs within the target's stated rates (:mod:`verify`). For the ``lce`` target every
binary layer the audit expects to be bitpacked must be an ``LceBconv2d``. Otherwise
:class:`ConversionError` is raised (naming the layer, operator and channel) and no file is
written.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from bitnets_tf._targets import TARGETS
from bitnets_tf._validation import check_samples
from bitnets_tf.converters.audit import ModelAudit, audit_model
from bitnets_tf.converters.cloning import clone_model
from bitnets_tf.converters.errors import ConversionError
from bitnets_tf.converters.files import check_writable, load_keras_model, write_atomically
from bitnets_tf.converters.graph import inline_nested_models
from bitnets_tf.converters.layerwise import (
    LAYERWISE_GUARANTEE,
    CheckpointMap,
    checked_tensors,
    end_to_end,
    run_exposed,
    verify_layerwise,
)
from bitnets_tf.converters.quiet import captured_output
from bitnets_tf.converters.report import ConversionReport
from bitnets_tf.converters.targets import Converted, Settings, Target, target_named
from bitnets_tf.converters.verify import DEFAULT_TOLERANCES, Tolerance, measure
from bitnets_tf.tflite import flatbuffer
from bitnets_tf.tflite.metadata import attach_metadata, encode_metadata

__all__ = ["TARGETS", "ConversionResult", "convert"]
_CALIBRATION_SAMPLES = 200
Data = np.ndarray | Sequence[np.ndarray]


@dataclass
class ConversionResult:
    """The converted model: ``flatbuffer`` bytes, the ``path`` written (or None), the
    :class:`ConversionReport`, the per-layer :class:`ModelAudit` and, for a file converted from
    a rewritten copy of the model (``int8``), where its tensors stand for the model's
    (``checkpoints``, for :func:`~bitnets_tf.converters.layerwise.verify_layerwise`)."""

    flatbuffer: bytes
    path: str | None
    report: ConversionReport
    audit: ModelAudit
    checkpoints: CheckpointMap | None = None


@dataclass(frozen=True)
class _Verification:
    """How the converted model compares with Keras (the report's verification fields)."""

    verified: bool
    verification: str
    tolerance: str
    seconds: float = 0.0
    max_abs_error: float | None = None
    argmax_agreement: float | None = None
    layerwise: str | None = None


def _prepared_model(model, input_shape, allow_unsafe: bool = False) -> tf.keras.Model:
    model = load_keras_model(model, allow_unsafe)
    if not model.built or not model.inputs:
        raise ValueError(
            f"Model {model.name!r} is not built: start it with tf.keras.Input(shape) (or call "
            "it once on data) so the converter knows its input shape."
        )
    model = inline_nested_models(model)
    if input_shape is not None:
        return clone_model(model, input_shape=tuple(input_shape))
    for tensor in model.inputs:
        if None in tuple(tensor.shape)[1:]:
            raise ValueError(
                f"Input {tensor.name!r} has a dynamic shape {tuple(tensor.shape)}; TFLite needs "
                "fixed sizes. Pass input_shape=(height, width, channels) (CLI: --input-shape) "
                "or build the model with a fixed tf.keras.Input shape."
            )
    return model


def _as_input_list(data: Data, model: tf.keras.Model, name: str) -> list[np.ndarray]:
    arrays = [data] if isinstance(data, np.ndarray) or np.isscalar(data) else list(data)
    if len(model.inputs) == 1 and len(arrays) != 1:
        arrays = [np.asarray(arrays)]
    if len(arrays) != len(model.inputs):
        raise ValueError(
            f"{name} has {len(arrays)} arrays; the model has {len(model.inputs)} inputs."
        )
    result = []
    for array, tensor in zip(arrays, model.inputs, strict=True):
        array = np.asarray(array, np.float32)
        expected = tuple(tensor.shape)[1:]
        if array.shape[1:] != expected:
            shape = ", ".join(map(str, expected))
            raise ValueError(f"{name} has shape {array.shape}; expected (samples, {shape}).")
        result.append(array)
    return check_samples(name, result)


def _generated_inputs(model: tf.keras.Model, samples: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        rng.standard_normal((samples, *tuple(t.shape)[1:])).astype(np.float32) for t in model.inputs
    ]


def _take(inputs: list[np.ndarray], samples: int) -> list[np.ndarray]:
    return [array[:samples] for array in inputs]


def _samples(inputs: list[np.ndarray]) -> list[list[np.ndarray]]:
    return [[array[i : i + 1] for array in inputs] for i in range(len(inputs[0]))]


def _progress_printer(progress: Callable[[str], None] | bool | None) -> Callable[[str], None]:
    if callable(progress):
        return progress
    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    if progress is False or (progress is None and not interactive):
        return lambda message: None
    start = time.perf_counter()

    def show(message: str) -> None:
        print(f"convert [{time.perf_counter() - start:6.1f} s] {message}", file=sys.stderr)

    return show


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"


_UNSUPPORTED_OP = re.compile(r"'tf\.(\w+)' op is neither a custom op nor a flex op")
_OP_LOCATION = re.compile(r'fused\["\w+:", "([^"@]+)@')


def _explain_failure(target: str, error: BaseException) -> str:
    """A one-line reason, naming the layer and TensorFlow op when TFLite lacks the op."""
    text = str(error)
    ops = sorted(set(_UNSUPPORTED_OP.findall(text)))
    if not ops:
        return f"The {target} conversion failed: {_first_line(error)}"
    locations = _OP_LOCATION.findall(text)
    layer = locations[0].split("/")[-2] if locations and "/" in locations[0] else "?"
    return (
        f"The {target} conversion failed: layer {layer!r} uses the TensorFlow op(s) "
        f"{', '.join(ops)}, which TFLite has no builtin for. Replace that layer, or compute it "
        "outside the model."
    )


def convert(
    model,
    output_path: str | None = None,
    target: str = "lce",
    verify: bool = True,
    sample_inputs: Data | None = None,
    *,
    representative_data: Data | None = None,
    metadata: Mapping | None = None,
    input_shape: Sequence[int] | None = None,
    tolerance: Tolerance | None = None,
    float_head: bool = True,
    float_stem: bool = True,
    exact_int8: bool = True,
    verification_samples: int = 32,
    float_reference: bool = True,
    progress: Callable[[str], None] | bool | None = None,
    allow_unsafe: bool = False,
) -> ConversionResult:
    """Convert a Keras model to a ``.tflite`` flatbuffer and verify it.

    Args:
        model: a built tf.keras model (functional or Sequential), or the path of a ``.keras``
            file (loaded in safe mode), ``.h5`` file or SavedModel directory (these two only
            with ``allow_unsafe``).
        output_path: where to write the ``.tflite`` (atomically); None only returns the bytes.
        target: ``"lce"`` (larq-compute-engine bitpacked ops, needs the LCE runtime),
            ``"int8"`` (stock TFLite builtins; binary and ternary layers exact in int8) or
            ``"float"`` (stock float32 builtins, the reference).
        verify: run the converted model against Keras and raise on disagreement.
        sample_inputs: inputs for verification, shaped like the model input with a leading
            sample axis (a list of arrays for several inputs). Default: the first
            ``verification_samples`` of ``representative_data``, else that many N(0, 1)
            samples (seed 0).
        representative_data: int8 calibration inputs (a few hundred real inputs, same layout
            as ``sample_inputs``; up to 200 are used). Without them the int8 target calibrates
            on ``sample_inputs`` or generated N(0, 1) data and says so in the report; the binary
            layers stay exact either way, only float layers' int8 ranges depend on it.
        metadata: a JSON-serializable dict stored in the file (read it with
            :func:`read_metadata`), e.g. ``{"labels": [...], "input_mean": 0.5}``.
        input_shape: fixes a dynamic input shape (without the batch axis).
        tolerance: overrides the target's default :class:`Tolerance`.
        float_head: int8 only; keep the layers after the last binary/ternary activation in
            float32 so logits are exact.
        float_stem: int8 only; keep the layers that compute the first binary/ternary
            activations from the float input in float32, so those signs are exact
            (``float_head=False, float_stem=False`` gives a full-integer model).
        exact_int8: int8 only; compute a sign or ternary step of a real-valued tensor after
            binary layers (a residual sum, an RPReLU or float layer's output) in float32, from
            that tensor kept in float32 back to the ±1 planes it is computed from; in a
            full-integer model (``float_head=False, float_stem=False``) refuse such a step
            where its int8-rounded input comes within rounding of the threshold on the
            representative data. ``False`` computes these steps from int8-rounded tensors
            (smaller and faster, approximate), judged on the end-to-end rates, and lists
            those layers in the report.
        verification_samples: how many generated or representative inputs verify.
        float_reference: also convert to float32 to report the size ratio.
        progress: called with a short message before each step; ``True`` prints them to
            stderr with the elapsed time, ``False`` stays silent, ``None`` prints them when
            stderr is a terminal or the code runs in a notebook.
        allow_unsafe: load ``.h5`` files and SavedModels, and ``.keras`` files outside safe
            mode, which can run code stored in the file; only for files you trust.

    Returns:
        :class:`ConversionResult`.

    Raises:
        TypeError, ValueError, FileNotFoundError, PermissionError: bad arguments or input files
            (``UnsafeModelFileError``, a ValueError, for files that need ``allow_unsafe``).
        ConversionError: the converter failed, a binary layer was not bitpacked, or the
            converted model disagrees with Keras (``first_diverging_layer`` names the layer).
    """
    say = _progress_printer(progress)
    job = target_named(target)
    path = check_writable(output_path) if output_path is not None else None
    if metadata is not None:
        encode_metadata(metadata)  # fail on bad metadata before the slow part
    say("loading and auditing the model")
    model = _prepared_model(model, input_shape, allow_unsafe)
    audit = audit_model(model)
    enforce_rates = tolerance is not None
    tolerance = tolerance or DEFAULT_TOLERANCES[target]
    representative = None
    if representative_data is not None:
        representative = _as_input_list(representative_data, model, "representative_data")
    if sample_inputs is not None:
        inputs = _as_input_list(sample_inputs, model, "sample_inputs")
        inputs_note = f"{len(inputs[0])} given sample inputs"
    elif representative is not None:
        inputs = _take(representative, verification_samples)
        inputs_note = f"the first {len(inputs[0])} representative_data inputs"
    else:
        inputs = _generated_inputs(model, verification_samples)
        inputs_note = f"{verification_samples} generated N(0,1) inputs (pass sample_inputs=)"
    settings = Settings(
        _samples(_take(representative or inputs, _CALIBRATION_SAMPLES)),
        float_head,
        float_stem,
        exact_int8,
        float_reference,
    )

    say(f"converting ({target})")
    start = time.perf_counter()
    try:
        with captured_output() as log:
            converted = job.convert(model, settings, audit)
    except ConversionError:
        raise
    except Exception as error:
        raise ConversionError(
            _explain_failure(target, error), target=target, details=log.tail()
        ) from error
    seconds = time.perf_counter() - start
    model_bytes = converted.flatbuffer
    if metadata is not None:
        model_bytes = attach_metadata(model_bytes, metadata)

    if verify:
        say(f"verifying on {inputs_note}")
        verification = _verify(model, converted, model_bytes, job, inputs, tolerance, enforce_rates)
    else:
        verification = _Verification(False, "skipped (verify=False)", tolerance.describe())
    bitpacked_macs, not_bitpacked = job.bitpacked(audit)
    report = ConversionReport(
        target=target,
        output_path=path,
        size_bytes=len(model_bytes),
        float_size_bytes=converted.float_size,
        ops=flatbuffer.operator_counts(model_bytes),
        custom_ops=flatbuffer.custom_operators(model_bytes),
        binary_macs=audit.binary_macs,
        bitpacked_macs=bitpacked_macs,
        not_bitpacked=not_bitpacked,
        rewrites=converted.rewrites,
        float_ops=converted.float_ops,
        conversion_seconds=seconds,
        verified=verification.verified,
        verification=verification.verification,
        tolerance=verification.tolerance,
        verification_inputs=inputs_note,
        verification_seconds=verification.seconds,
        max_abs_error=verification.max_abs_error,
        argmax_agreement=verification.argmax_agreement,
        layerwise=verification.layerwise,
        notes=job.preparation_notes(representative is not None) + converted.notes,
    )
    if path is not None:
        write_atomically(path, model_bytes)
    return ConversionResult(model_bytes, path, report, audit, converted.checkpoints)


def _verify(
    model: tf.keras.Model,
    converted: Converted,
    model_bytes: bytes,
    job: Target,
    inputs: list[np.ndarray],
    tolerance: Tolerance,
    rates: bool,
) -> _Verification:
    """Run the converted model and judge it layer by layer (see :mod:`layerwise`) and end to
    end on the rates of ``tolerance``: for a file computing some layers inexactly by design
    (int8-rounded) either verdict accepts, otherwise the layer-by-layer one, and with ``rates``
    both. Raises
    :class:`ConversionError` when it disagrees."""
    target = job.name
    start = time.perf_counter()
    try:
        with captured_output() as log:
            values = run_exposed(
                model_bytes,
                inputs,
                lambda m, x: job.run(m, x, model.input_names),
                checked_tensors(model, model_bytes, converted.checkpoints),
            )
    except Exception as error:
        raise ConversionError(
            f"The converted {target} model does not run in its interpreter: {_first_line(error)}",
            target=target,
            details=log.tail(),
        ) from error
    expected, actual = end_to_end(model, model_bytes, inputs, values)
    try:
        agreement = measure(expected, actual, tolerance)
    except ValueError as error:  # a different number or shape of outputs
        raise ConversionError(
            f"The converted {target} model computes something else than Keras: {error}",
            target=target,
        ) from None
    description = "end to end: " + agreement.describe()
    compared = verify_layerwise(model, model_bytes, inputs, values, converted.checkpoints)
    layerwise = compared.describe()
    rates_pass = agreement.passes(tolerance)
    rates_suffice = bool(converted.inexact_layers)
    if rates_suffice:
        passes = compared.agrees or rates_pass
        guarantee = (
            f"{LAYERWISE_GUARANTEE}, or, since the file computes "
            f"{_listed(converted.inexact_layers)} inexactly by design (int8), end to end: "
            f"{tolerance.describe()}"
        )
        if passes and not compared.agrees:
            layerwise += " (accepted on the end-to-end rates)"
    else:
        passes = compared.agrees and (rates_pass or not rates)
        guarantee = LAYERWISE_GUARANTEE
        if rates:
            guarantee += f"; end to end: {tolerance.describe()}"
    if passes:
        return _Verification(
            True,
            description,
            guarantee,
            time.perf_counter() - start,
            agreement.max_abs_error,
            agreement.argmax_agreement,
            layerwise,
        )
    culprit = compared.culprit
    rates_reason = f"{agreement.describe()} (tolerance: {tolerance.describe()})"
    if culprit is None:
        reason = rates_reason
    elif rates_suffice:
        reason = f"{rates_reason}; first layer off: {culprit.describe()}"
    else:
        reason = culprit.describe()
    if culprit is None or rates_suffice:
        if converted.disagreement_hint:
            reason += ". " + converted.disagreement_hint
    raise ConversionError(
        f"The {target} model disagrees with Keras: {reason}.",
        target=target,
        first_diverging_layer=culprit.layer if culprit is not None else None,
        details=description,
    )


def _listed(layers: list[str], shown: int = 3) -> str:
    names = ", ".join(repr(layer) for layer in layers[:shown])
    return names + (f" and {len(layers) - shown} more" if len(layers) > shown else "")
