"""The ``int8`` target: stock TFLite builtin ops, binary and ternary layers exact in int8.

Steps: plan (:mod:`int8_plan`), build the lowered Keras model (:mod:`int8_lowering`),
calibrate with the representative data, quantize. The *head* — the operators after the last
±1 planes that lead to no further planes (typically the classifier's last dense layer and its
batch norm) — stays float32 by default, because int8 logits (256 levels) flip the argmax of
close classes even when every binary layer is exact. Likewise the *stem* — the layers that
compute the first planes from the float input (typically the real-valued first convolution
and its sign) — stays float32, because int8-rounding the network input flips signs near every
threshold and the flips propagate (measured: argmax agreement 59 % → 100 % on a small binary
CNN). ``float_head=False, float_stem=False`` gives a full-integer model (microcontrollers
without float kernels), at that cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from tensorflow.lite.python import convert as tflite_convert

from bitnets_tf.converters.errors import ConversionError
from bitnets_tf.converters.int8_lowering import RoundedStep, build_lowered_model
from bitnets_tf.converters.int8_plan import Int8Plan, Role, plan_int8
from bitnets_tf.converters.layerwise import CheckpointMap, output_tensors
from bitnets_tf.converters.planes import (
    INT8_PLANE_SCALE,
    INT8_PLANE_ZERO_POINT,
    PLANES_SCOPE,
    STEM_BITS_SCOPE,
    STREAM_BITS_SCOPE,
)
from bitnets_tf.converters.tflite import keyed_samples
from bitnets_tf.tflite import flatbuffer

_IO_OPS = ("QUANTIZE", "DEQUANTIZE")


@dataclass(frozen=True)
class Int8Conversion:
    flatbuffer: bytes
    plan: Int8Plan
    float_ops: list[str]  # operators kept in float32 (stem and head)
    rounded: list[RoundedStep]  # staircases of int8-rounded tensors (exact=False only)
    checkpoints: CheckpointMap  # where the file holds Keras layers' outputs and signs
    int8_layers: list[str]  # layers whose real-valued outputs the file rounds to int8


def _concrete_function(model: tf.keras.Model):
    specs = [tf.TensorSpec((1, *t.shape[1:]), t.dtype) for t in model.inputs]

    @tf.function
    def serve(*inputs):
        return model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)

    return serve.get_concrete_function(*specs)


def _tensor_values(
    model: tf.keras.Model, tensor_ids: list[str], representative: Sequence[list[np.ndarray]]
):
    """For each representative sample, the values of the Keras tensors ``tensor_ids``."""
    by_id = {str(id(t)): t for t in model.inputs}
    for layer in model.layers:
        for node in layer._inbound_nodes:
            for tensor in tf.nest.flatten(node.outputs):
                by_id.setdefault(str(id(tensor)), tensor)
    probe = tf.keras.Model(model.inputs, [by_id[t] for t in tensor_ids])
    for sample in representative:
        values = probe(sample if len(sample) > 1 else sample[0], training=False)
        yield [np.asarray(v, np.float64) for v in tf.nest.flatten(values)]


def _int8_scales(
    model: tf.keras.Model, tensor_ids: list[str], representative: Sequence[list[np.ndarray]]
) -> dict[str, float]:
    """Expected int8 scale of each tensor: its range over the representative data / 255
    (TFLite's asymmetric int8 range always contains 0)."""
    if not tensor_ids:
        return {}
    low = {t: 0.0 for t in tensor_ids}
    high = {t: 0.0 for t in tensor_ids}
    for values in _tensor_values(model, tensor_ids, representative):
        for tensor, value in zip(tensor_ids, values, strict=True):
            low[tensor] = min(low[tensor], float(value.min()))
            high[tensor] = max(high[tensor], float(value.max()))
    return {t: (high[t] - low[t]) / 255.0 for t in tensor_ids}


def check_margins(
    model: tf.keras.Model, rounded: list[RoundedStep], representative: Sequence[list[np.ndarray]]
) -> None:
    """Refuse staircases whose input comes within int8 rounding of a threshold on the
    representative data: there int8 would flip signs that float32 keeps.

    Raises:
        ConversionError: naming the layer, the share of values at risk and the fix.
    """
    if not rounded:
        return
    tensors = sorted({step.tensor for step in rounded})
    at_risk = {step.layer: 0 for step in rounded}
    counted = {step.layer: 0 for step in rounded}
    for values in _tensor_values(model, tensors, representative):
        by_tensor = dict(zip(tensors, values, strict=True))
        for step in rounded:
            x = by_tensor[step.tensor]
            x = x.reshape(-1, x.shape[-1]) if x.ndim > 1 else x.reshape(1, -1)
            at_risk[step.layer] += int(step.at_risk(x).sum())
            counted[step.layer] += x.size
    risky = [(layer, at_risk[layer] / counted[layer]) for layer in at_risk if at_risk[layer]]
    if risky:
        listed = ", ".join(f"{layer!r} ({share:.2%} of its inputs)" for layer, share in risky)
        raise ConversionError(
            "The int8 target cannot compute every binarization exactly: the sign or ternary "
            f"step of {listed} reads an int8-rounded tensor (a residual sum or a float "
            "layer's output) whose values on the representative data lie within int8 rounding "
            "of the threshold, where int8 would flip signs that Keras keeps. Keep "
            "float_head=True or float_stem=True (the default, CLI: without --full-integer; "
            "such signs are then computed in float32), convert with target='lce' "
            "(bitpacked) or 'float', or pass exact_int8=False (CLI: --approximate-int8) to "
            "accept an int8 model that only approximates these layers (verified on "
            "end-to-end rates).",
            target="int8",
        )


def _float_tensor_names(
    calibrated: bytes, head: bool, stem: bool
) -> tuple[list[str], list[str], set[str]]:
    """Output tensor names and op names of the operators to keep in float32, and the op types
    to keep float32 everywhere: the quantizer finds a node by the name of its single output,
    so an operator with several outputs (``SPLIT``) can only be kept float32 by its type.

    Head: operators downstream of some planes tensor from which no planes operator is
    reachable. Stem: the float-stem bits operators and everything they are computed from.
    Stream: the float-stream bits operators and everything they are computed from back to
    the planes (whose producers stay int8; their readers read them dequantized).
    """
    ops = flatbuffer.operators(calibrated)
    names = {t.index: t.name for t in flatbuffer.tensors(calibrated)}
    producer = {out: op for op in ops for out in op.outputs}
    readers: dict[int, list] = {}
    for op in ops:
        for tensor in op.inputs:
            readers.setdefault(tensor, []).append(op)

    def producing(scope: str) -> list:
        return [op for op in ops if any(scope in names[t] for t in op.outputs)]

    def upstream_of(seeds: list, stop: frozenset[int] = frozenset()) -> set[int]:
        found, frontier = {op.index for op in seeds}, [t for op in seeds for t in op.inputs]
        while frontier:
            op = producer.get(frontier.pop())
            if op is not None and op.index not in found and op.index not in stop:
                found.add(op.index)
                frontier.extend(op.inputs)
        return found

    def downstream_of(seeds: list) -> set[int]:
        found, frontier = set(), [t for op in seeds for t in op.outputs]
        while frontier:
            for op in readers.get(frontier.pop(), []):
                if op.index not in found:
                    found.add(op.index)
                    frontier.extend(op.outputs)
        return found

    planes_ops = producing(PLANES_SCOPE)
    keep: set[int] = set()
    if head:
        keep |= downstream_of(planes_ops) - upstream_of(planes_ops)
    if stem:
        keep |= upstream_of(producing(STEM_BITS_SCOPE))
    keep |= upstream_of(producing(STREAM_BITS_SCOPE), frozenset(op.index for op in planes_ops))
    kept = [op for op in ops if op.index in keep and op.name not in _IO_OPS]
    several_outputs = {op.name for op in kept if len(op.outputs) > 1}
    return [names[t] for op in kept for t in op.outputs], [op.name for op in kept], several_outputs


def check_planes_quantization(quantized: bytes) -> None:
    """Every ±1 planes tensor must be int8 with scale 2/255 and zero point -1 (±1 ↔ ±127);
    otherwise the calibration data never produced both signs for it and the int8 model would
    clamp one of them.

    Raises:
        ConversionError: naming the tensor and the fix.
    """
    for tensor in flatbuffer.tensors(quantized):
        if PLANES_SCOPE not in tensor.name or tensor.dtype != "INT8":
            continue
        scale = tensor.scales[0] if tensor.scales else 0.0
        zero_point = tensor.zero_points[0] if tensor.zero_points else None
        if abs(scale - INT8_PLANE_SCALE) > 1e-7 or zero_point != INT8_PLANE_ZERO_POINT:
            raise ConversionError(
                f"The int8 range of the binary tensor {tensor.name.split(';')[0]!r} is "
                f"scale={scale:.6g}, zero_point={zero_point} instead of 2/255, -1: the "
                "representative data never made it take both signs. Pass more varied "
                "representative_data= (real training samples).",
                target="int8",
            )


def convert_int8(
    model: tf.keras.Model,
    representative: Sequence[list[np.ndarray]],
    float_head: bool = True,
    float_stem: bool = True,
    exact: bool = True,
) -> Int8Conversion:
    """Convert ``model`` for the int8 target, calibrating on ``representative`` (a list of
    samples, each a list with one batch-1 array per model input). ``float_head`` /
    ``float_stem`` keep the operators after the last / before the first binary or ternary
    activation in float32. With ``exact`` a staircase of a real-valued tensor computed after
    ±1 planes (a residual stream) is computed in float32 from that tensor, kept in float32
    back to the planes; in a full-integer model (``float_head=False, float_stem=False``) such a
    staircase reads an int8-rounded tensor and is refused unless no representative value
    comes within rounding of its thresholds (:func:`check_margins`)."""
    plan = plan_int8(model)
    scales = _int8_scales(model, plan.float_tensors_to_threshold(), representative)
    float_stream = exact and (float_head or float_stem)
    lowered = build_lowered_model(model, plan, scales, float_stem, float_stream)
    rounded = lowered.rounded
    if exact:
        check_margins(model, rounded, representative)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [_concrete_function(lowered.model)], lowered.model
    )
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: keyed_samples(representative)
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
        tf.lite.OpsSet.TFLITE_BUILTINS,
    ]
    # Calibrate, then quantize with some nodes kept float: what TFLite's QuantizationDebugger
    # does for its denylists (tf.lite.experimental.QuantizationDebugOptions), minus the debug
    # model it would also build.
    converter._experimental_calibrate_only = True
    calibrated = converter.convert()
    float_names, float_ops, float_types = _float_tensor_names(
        calibrated, head=float_head, stem=float_stem
    )
    quantized = tflite_convert.mlir_quantize(
        calibrated, denylisted_nodes=float_names or None, denylisted_ops=float_types or None
    )
    check_planes_quantization(quantized)
    checkpoints = _checkpoints(model, plan, lowered.levels)
    return Int8Conversion(
        quantized,
        plan,
        float_ops,
        [] if exact else rounded,
        checkpoints,
        _int8_layers(model, quantized, checkpoints),
    )


def _checkpoints(model: tf.keras.Model, plan: Int8Plan, levels: dict[str, str]) -> CheckpointMap:
    """The layers whose outputs the lowered model computes as Keras does (kept unchanged, or
    replaced by a lowered layer of the same name that emits values, not planes), and the
    lowered layers emitting the ±1 inputs of sign quantizers."""
    values = {
        name
        for name, role in plan.role.items()
        if role is Role.REUSE or (role is Role.LOWERED and name not in plan.emits)
    }
    return CheckpointMap(model.name, frozenset(values), levels)


def _int8_layers(model: tf.keras.Model, quantized: bytes, checkpoints: CheckpointMap) -> list[str]:
    """The layers computing real values (not ±1 planes) whose outputs ``quantized`` holds as
    int8: float layers between binary ones, or everything in a full-integer model (a model
    output then comes out of a ``DEQUANTIZE``). Their values are ordinary post-training
    quantization, not float32-exact."""
    operators = flatbuffer.operators(quantized)
    producer = {out: op for op in operators for out in op.outputs}
    found: list[str] = []
    for tensor in flatbuffer.tensors(quantized):
        scope = tensor.name.split(";")[0].split("/")
        op = producer.get(tensor.index)
        if (
            tensor.dtype == "INT8"
            and op is not None
            and op.name not in _IO_OPS
            and len(scope) > 2
            and scope[0] == checkpoints.scope
            and scope[1] in checkpoints.values
        ):
            found.append(scope[1])
    for name, tensor in zip(model.output_names, output_tensors(model, quantized), strict=True):
        op = producer.get(tensor)
        if op is not None and op.name == "DEQUANTIZE":
            found.append(model.get_layer(name).name)
    return list(dict.fromkeys(found))
