r"""Layer-by-layer verification: each converted tensor against Keras, from the same inputs.

Comparing only the final outputs mixes two things: conversion errors, and sign flips that
float32 rounding legitimately causes (a pre-activation within rounding of a threshold lands on
either side in a different summation order, and the flip propagates). Here every tensor of the
converted model that stands for a Keras tensor — a *checkpoint* — is compared with what Keras
computes *from the converted model's own values* at the previous checkpoints, so errors do not
propagate and each disagreement is local to one layer.

Checkpoints are found from the tensor names, which carry the Keras layer scope
``<model>/<layer>/<op>`` (fused tensors list several; the first is the op that produced it):

- a **value** checkpoint of layer ``L``: a float32 tensor in ``L``'s scope with ``L``'s output
  shape that no other operator of ``L``'s scope reads;
- a **levels** checkpoint of ``L``'s input quantizer (a sign or ternary staircase): a tensor in
  the quantizer's scope that is read outside it, holding the quantized input either as float
  levels or bitpacked (larq-compute-engine: 32 channels per int32 word, bit ``c mod 32`` of
  word ``⌊c/32⌋``, a set bit meaning −1).

A file whose graph is not the Keras model's own (the ``int8`` target quantizes a lowered copy)
comes with a :class:`CheckpointMap`: which layers keep their Keras output under their own
name, and for each sign quantizer the lowered layer whose int8 output holds its ±1 input
(a positive value meaning +1).

Judgement, per checkpoint:

- values agree when ``|y_converted − y_keras| ≤`` :data:`VALUE_TOLERANCE` ``· max|y_keras|``
  (maximum over the tensor and all samples): float32 re-association moves values by about
  1e-6 of their range; a wrong threshold, multiplier, bias, padding value or channel order moves
  them by a sizable fraction of it.
- a level that differs (a sign flip) is legitimate when its pre-activation ``x`` is within
  float32 rounding of the threshold: ``|x − θ| ≤`` :data:`FLIP_MARGIN` ``· max(max|x|, max|θ|)``
  (per sample). Legitimate flips are counted and the converted levels are used from there on;
  any other flip is an error that names the layer, the channel and the margin.

A checkpoint that disagrees is not taken over, and Keras carries on from its own values: a
later checkpoint that agrees again shows the difference was a legal re-arrangement (e.g. a
bias moved across a max-pool) and clears it. A model output that still disagrees at the end is
blamed on the earliest uncleared disagreement upstream of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import larq as lq
import numpy as np
import tensorflow as tf
from tensorflow.lite.tools import flatbuffer_utils

from bitnets_tf.converters.graph import LayerGraph, Node, layer_graph
from bitnets_tf.converters.semantics import activation_staircase
from bitnets_tf.tflite import flatbuffer

VALUE_TOLERANCE = 1e-4
FLIP_MARGIN = 2.0**-16  # about 1.5e-5: dozens of float32 ulps of the tensor's magnitude
LAYERWISE_GUARANTEE = (
    f"every converted tensor that stands for a Keras layer output is within "
    f"{VALUE_TOLERANCE:g}·max|y| of Keras given the same inputs to that layer; a quantized input "
    f"may differ only where its pre-activation is within {FLIP_MARGIN:.2g}·max|x| of the "
    "threshold (float32 rounding)"
)
_BITS_PER_WORD = 32
_CONVERSION_OPS = ("QUANTIZE", "DEQUANTIZE")  # their tensors are re-encodings, not layer outputs
_LEVEL_ATOL = 1e-6  # quantized values closer than this are the same level
_CHUNK = 8  # samples per interpreter run


@dataclass(frozen=True)
class CheckpointMap:
    """Where a converted file built from a rewritten copy of the Keras model holds the Keras
    model's tensors."""

    scope: str  # the name scope of the file's tensor names (the copy's model name)
    values: frozenset[str]  # layers the copy computes as Keras does, under the same name
    levels: dict[str, str]  # layer -> the copy's layer emitting its ±1 input as int8


@dataclass
class Finding:
    """One checkpoint's comparison."""

    layer: str
    op: str  # the converted operator that produced the tensor
    kind: str  # "value", "levels" or "logits"
    max_error: float = 0.0  # values: max |Δ|; levels: largest margin of an illegitimate flip
    scale: float = 0.0  # values: max |y_keras|; levels: the margin bound
    channel: int | None = None  # where the largest error is
    flips: int = 0  # levels: flips within the margin (legitimate)
    bad_flips: int = 0  # levels: flips beyond the margin
    agrees: bool = True
    cleared: bool = False  # a later checkpoint agreed again (legal re-arrangement)
    covers: tuple[str, ...] = ()  # the Keras layers this converted tensor computes

    def describe(self) -> str:
        where = f"layer {self.layer!r} ({self.op}"
        where += f", channel {self.channel}" if self.channel is not None else ""
        if len(self.covers) > 1:
            where += f"; computes {' → '.join(self.covers)}"
        where += ")"
        if self.kind == "levels":
            return (
                f"{where}: {self.bad_flips} quantized input value(s) flipped although their "
                f"pre-activation is {self.max_error:.3g} from the threshold (float rounding "
                f"allows {self.scale:.3g})"
            )
        what = "logits before the final softmax" if self.kind == "logits" else "output"
        return (
            f"{where}: {what} off by {self.max_error:.3g} (max|y| {self.scale:.3g}, allowed "
            f"{VALUE_TOLERANCE:g}·max|y|) given the converted model's own inputs to the layer"
        )


@dataclass
class LayerwiseResult:
    """All checkpoints of one verification and the verdict."""

    findings: list[Finding] = field(default_factory=list)
    checkpoints: int = 0
    layers: int = 0
    legitimate_flips: int = 0
    culprit: Finding | None = None

    @property
    def agrees(self) -> bool:
        return self.culprit is None

    def describe(self) -> str:
        text = f"{self.checkpoints} checkpoints over {self.layers} layers"
        if self.legitimate_flips:
            text += (
                f", {self.legitimate_flips} legitimate sign flip(s) (pre-activation within "
                f"{FLIP_MARGIN:.2g}·max|x| of the threshold)"
            )
        if self.culprit is not None:
            text += f"; first error: {self.culprit.describe()}"
        return text


def expose_tensors(model: bytes, tensors: Sequence[int]) -> tuple[bytes, list[int]]:
    """``model`` with ``tensors`` (operator outputs) also marked as model outputs (the
    operators and constants are unchanged; the tensors are only kept), and the output tensor
    indices in order: the original outputs first."""
    graph = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
    subgraph = graph.subgraphs[0]
    outputs = [int(t) for t in subgraph.outputs]
    outputs += [int(t) for t in dict.fromkeys(tensors) if int(t) not in outputs]
    subgraph.outputs = np.asarray(outputs, np.int32)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(graph)), outputs


@dataclass(frozen=True)
class _Tensor:
    index: int
    dtype: str
    shape: tuple
    scope: tuple[str, ...]  # path of the first name component, without the op name
    op: str  # producing operator
    readers: tuple[str, ...]  # scopes (joined) of the reading operators


def _scope_of(name: str) -> tuple[str, ...]:
    return tuple(name.split(";")[0].split("/")[:-1])


def _converted_tensors(model: bytes) -> dict[int, _Tensor]:
    tensors = {t.index: t for t in flatbuffer.tensors(model)}
    operators = flatbuffer.operators(model)
    producer = {out: op for op in operators for out in op.outputs}
    readers: dict[int, list[str]] = {}
    for op in operators:
        reader_scope = "/".join(_scope_of(tensors[op.outputs[0]].name)) if op.outputs else ""
        for tensor in op.inputs:
            readers.setdefault(tensor, []).append(reader_scope)
    return {
        index: _Tensor(
            index,
            info.dtype,
            tuple(info.shape),
            _scope_of(info.name),
            producer[index].name,
            tuple(readers.get(index, [])),
        )
        for index, info in tensors.items()
        if index in producer
    }


def _within(scope: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    return scope[: len(prefix)] == prefix


def _read_outside(tensor: _Tensor, prefix: tuple[str, ...]) -> bool:
    return not any(_within(tuple(r.split("/")), prefix) for r in tensor.readers)


def _quantizer_scope(layer) -> str | None:
    quantizer = getattr(layer, "input_quantizer", None)
    if quantizer is None or activation_staircase(quantizer) is None:
        return None
    return getattr(quantizer, "name", None) or getattr(quantizer, "__name__", None)


def _bitpacked_shape(shape: tuple) -> tuple:
    channels = shape[-1]
    return (*shape[:-1], -(-channels // _BITS_PER_WORD))


@dataclass
class _Checkpoints:
    values: dict[str, _Tensor] = field(default_factory=dict)  # layer -> its output
    levels: dict[str, _Tensor] = field(default_factory=dict)  # layer -> its quantized input
    planes: bool = False  # levels are ±1 planes (a file from a rewritten copy: int8)


def _plane_levels(
    tensors: dict[int, _Tensor], prefix: tuple[str, ...], elements: int
) -> list[_Tensor]:
    """The ±1 planes tensors the layer ``prefix`` computes with ``elements`` values per sample:
    int8 where the file keeps them int8 (its dequantized copy may carry the same name, so
    readers do not tell its output), else their float32 copy in a float part of the file (a
    flatten in front of a float head)."""
    own = [
        t
        for t in tensors.values()
        if _within(t.scope, prefix)
        and t.op not in _CONVERSION_OPS
        and int(np.prod(t.shape[1:])) == elements
    ]
    int8 = [t for t in own if t.dtype == "INT8"]
    return int8 or [t for t in own if t.dtype == "FLOAT32"]


def _find_checkpoints(
    graph: LayerGraph, model_name: str, model: bytes, names: CheckpointMap | None = None
) -> _Checkpoints:
    tensors = _converted_tensors(model)
    found = _Checkpoints(planes=names is not None)
    scope_name = names.scope if names is not None else model_name
    for node in graph.nodes:
        if len(node.outputs) != 1:
            continue
        prefix = (scope_name, node.name)
        mine = [t for t in tensors.values() if _within(t.scope, prefix)]
        output_shape = (1, *node.output_shapes[0][1:])
        values = [
            t
            for t in mine
            if t.dtype == "FLOAT32"
            and t.shape == output_shape
            and t.op not in _CONVERSION_OPS
            and _read_outside(t, prefix)
        ]
        if values and (names is None or node.name in names.values):
            found.values[node.name] = max(values, key=lambda t: t.index)
        if names is not None:
            source = names.levels.get(node.name)
            if source is not None:
                elements = int(np.prod(graph.tensor_shape(node.inputs[0])[1:]))
                levels = _plane_levels(tensors, (scope_name, source), elements)
                if levels:
                    found.levels[node.name] = max(levels, key=lambda t: t.index)
            continue
        scope = _quantizer_scope(node.layer)
        if scope is None:
            continue
        input_shape = graph.tensor_shape(node.inputs[0])
        elements = int(np.prod(input_shape[1:]))
        levels = []
        for tensor in mine:
            if len(tensor.scope) < 3 or not tensor.scope[2].startswith(scope):
                continue
            if not _read_outside(tensor, (*prefix, tensor.scope[2])):
                continue
            count = int(np.prod(tensor.shape[1:]))
            bitpacked = tensor.dtype == "INT32" and tensor.shape[-1] == -(
                -input_shape[-1] // _BITS_PER_WORD
            )
            if bitpacked and count // tensor.shape[-1] * input_shape[-1] == elements:
                levels.append(tensor)
            elif tensor.dtype == "FLOAT32" and count == elements:
                levels.append(tensor)
        if levels:
            found.levels[node.name] = max(levels, key=lambda t: t.index)
    return found


def _decode_levels(value: np.ndarray, tensor: _Tensor, channels: int, planes: bool) -> np.ndarray:
    """The quantized values per sample, flattened (positions × channels)."""
    samples = value.shape[0]
    plus, minus = np.float32(1), np.float32(-1)
    if planes:  # ±1 planes (±254/255 dequantized)
        return np.where(value.reshape(samples, -1) > 0, plus, minus)
    if tensor.dtype == "INT32":
        words = np.ascontiguousarray(value).view(np.uint32).astype("<u4")
        bits = np.unpackbits(words.view(np.uint8), bitorder="little")
        bits = bits.reshape(*value.shape[:-1], -1)[..., :channels]
        return np.where(bits.reshape(samples, -1), minus, plus)
    return value.reshape(samples, -1)


def _softmax_input(model: bytes, output: int) -> int | None:
    for op in flatbuffer.operators(model):
        if output in op.outputs and op.name == "SOFTMAX":
            return op.inputs[0]
    return None


def _ends_in_softmax(layer) -> bool:
    if isinstance(layer, tf.keras.layers.Softmax):
        return True
    activation = getattr(layer, "activation", None)
    return activation is tf.keras.activations.softmax or (
        getattr(activation, "__name__", "") == "softmax"
    )


def _compared_outputs(
    model: tf.keras.Model, converted: bytes, graph: LayerGraph
) -> list[tuple[int, bool]]:
    """For each Keras output, the converted tensor compared with it and whether that is the
    logits: the input of the file's final ``SOFTMAX`` where the Keras output ends in a softmax
    too (saturation would hide errors there), else the output itself."""
    compared = []
    for tensor, output in zip(graph.outputs, output_tensors(model, converted), strict=True):
        logits = None
        if _ends_in_softmax(graph.producer[tensor].layer):
            logits = _softmax_input(converted, output)
        compared.append((output, False) if logits is None else (logits, True))
    return compared


def _logits_call(node: Node, values: dict[str, tf.Tensor]):
    """The node's output with its final softmax left out."""
    if isinstance(node.layer, (tf.keras.layers.Activation, tf.keras.layers.Softmax)):
        return values[node.inputs[0]]
    with lq.utils.patch_object(node.layer, "activation", tf.keras.activations.linear):
        return node.call_on(values)


def _flips(converted: np.ndarray, keras: np.ndarray) -> tuple[np.ndarray, ...]:
    """The indices (as from ``np.nonzero``) where the quantized values differ by more than
    :data:`_LEVEL_ATOL`; the float64 comparison runs only where they are not identical."""
    where = np.nonzero(converted != keras)
    close = np.isclose(
        converted[where].astype(np.float64),
        keras[where].astype(np.float64),
        rtol=0,
        atol=_LEVEL_ATOL,
    )
    return tuple(index[~close] for index in where)


def _margins(x: np.ndarray, staircase, where: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Distance of the pre-activations ``x`` (samples first, channels last) at ``where``
    (sample and flattened position indices) from their nearest threshold."""
    channels = x.shape[-1]
    values = x.reshape(x.shape[0], -1)[where].astype(np.float64)
    channel = where[1] % channels
    distance = np.full(values.shape, np.inf)
    for step in staircase.steps:
        threshold = np.broadcast_to(np.asarray(step.threshold, np.float64), (channels,))
        distance = np.minimum(distance, np.abs(values - threshold[channel]))
    return distance


def _largest_difference(converted: np.ndarray, keras: np.ndarray) -> tuple[float, int]:
    """``max |converted − keras|`` (float64, NaN if any difference is) and the flat index of
    its first occurrence, one sample at a time (no float64 copy of the whole tensor)."""
    largest, where = -1.0, 0
    for sample, (ours, theirs) in enumerate(zip(converted, keras, strict=True)):
        error = np.abs(ours.astype(np.float64) - theirs)
        value = error.max()
        if value > largest or (np.isnan(value) and not np.isnan(largest)):
            largest, where = float(value), sample * error.size + int(error.argmax())
    return largest, where


def _releases(graph: LayerGraph) -> dict[str, list[str]]:
    """For each node, the tensors it is the last reader of (model outputs are kept)."""
    last: dict[str, str] = {}
    for node in graph.nodes:
        for tensor in node.inputs:
            last[tensor] = node.name
    released: dict[str, list[str]] = {}
    for tensor, node in last.items():
        if tensor not in graph.outputs:
            released.setdefault(node, []).append(tensor)
    return released


class _Walk:
    def __init__(
        self,
        model: tf.keras.Model,
        converted: bytes,
        values: dict[int, np.ndarray],
        names: CheckpointMap | None,
    ):
        self.graph = layer_graph(model)
        self.converted_model = converted
        self.converted = values
        self.compared_outputs = _compared_outputs(model, converted, self.graph)
        self.output_nodes = {
            self.graph.producer[t].name: i for i, t in enumerate(self.graph.outputs)
        }
        self.checkpoints = _find_checkpoints(self.graph, model.name, converted, names)
        self.operators = {t.index: t.op for t in _converted_tensors(converted).values()}
        self.compared = {node.name: self.compared_tensor(node) for node in self.graph.nodes}
        reads = [tensor for _, tensor in filter(None, self.compared.values())]
        self.reads = Counter(reads + [t.index for t in self.checkpoints.levels.values()])
        self.findings: list[Finding] = []
        self.upstream: dict[str, set[str]] = {}
        self.unchecked: dict[str, tuple[str, ...]] = {}  # tensor -> layers since a checkpoint
        self.legitimate_flips = 0

    def compared_tensor(self, node: Node) -> tuple[str, int] | None:
        """The kind of comparison and the converted tensor compared with ``node``'s output: a
        model output (its logits in front of a final ``SOFTMAX``) or a value checkpoint."""
        index = self.output_nodes.get(node.name)
        if index is None:
            checkpoint = self.checkpoints.values.get(node.name)
            return None if checkpoint is None else ("value", checkpoint.index)
        tensor, logits = self.compared_outputs[index]
        return ("logits" if logits else "value"), tensor

    def take(self, tensor: int) -> np.ndarray:
        """The converted values of ``tensor``, released at the walk's last read of them."""
        self.reads[tensor] -= 1
        return self.converted[tensor] if self.reads[tensor] else self.converted.pop(tensor)

    def ancestors(self, node: Node) -> set[str]:
        """Names of the layers ``node`` depends on (itself included)."""
        if node.name not in self.upstream:
            found = {node.name}
            for tensor in node.inputs:
                producer = self.graph.producer.get(tensor)
                if producer is not None:
                    found |= self.ancestors(producer)
            self.upstream[node.name] = found
        return self.upstream[node.name]

    def covered(self, node: Node) -> tuple[str, ...]:
        """The layers computed since the last agreeing checkpoints, in execution order."""
        names = {node.name}.union(*(self.unchecked.get(t, ()) for t in node.inputs))
        return tuple(n.name for n in self.graph.nodes if n.name in names)

    def clear_upstream(self, node: Node) -> None:
        names = self.ancestors(node)
        for finding in self.findings:
            if not finding.agrees and finding.layer in names:
                finding.cleared = True

    def compare_values(
        self, node: Node, kind: str, tensor: int, keras: np.ndarray
    ) -> np.ndarray | None:
        """Record how the converted ``tensor`` compares with Keras's ``keras``; its values
        when they agree, else None."""
        converted = self.take(tensor).reshape(keras.shape)
        largest, where = _largest_difference(converted, keras)
        scale = float(np.abs(keras).max()) or 1.0
        finding = Finding(
            node.name,
            self.operators.get(tensor, "?"),
            kind,
            max_error=largest,
            scale=scale,
            channel=where % keras.shape[-1] if keras.ndim > 1 else None,
            agrees=bool(largest <= VALUE_TOLERANCE * scale),
            covers=self.covered(node),
        )
        self.findings.append(finding)
        if not finding.agrees:
            return None
        self.clear_upstream(node)
        return converted

    def quantized_input(self, node: Node, x: np.ndarray) -> np.ndarray | None:
        """The converted model's quantized input of ``node`` when its flips are legitimate
        (recording the comparison), else None (Keras's own levels are used)."""
        tensor = self.checkpoints.levels.get(node.name)
        if tensor is None:
            return None
        quantizer = node.layer.input_quantizer
        staircase = activation_staircase(quantizer)
        samples = x.shape[0]
        keras = np.asarray(quantizer(tf.constant(x))).reshape(samples, -1)
        value = self.take(tensor.index)
        converted = _decode_levels(value, tensor, x.shape[-1], self.checkpoints.planes)
        if staircase.name != "binary":  # float levels of a ternary staircase: w·Σ s_p
            converted = converted.reshape(keras.shape)
        flipped = _flips(converted, keras)
        thresholds = np.concatenate([np.ravel(s.threshold) for s in staircase.steps])
        magnitude = np.maximum(np.abs(x.reshape(samples, -1)).max(axis=1), np.abs(thresholds).max())
        bound = FLIP_MARGIN * magnitude
        margins = _margins(x, staircase, flipped)
        bad = margins > bound[flipped[0]]
        finding = Finding(
            node.name,
            tensor.op,
            "levels",
            max_error=float(margins[bad].max()) if bad.any() else 0.0,
            scale=float(bound.max()),
            channel=int(flipped[1][bad][0] % x.shape[-1]) if bad.any() else None,
            flips=int((~bad).sum()),
            bad_flips=int(bad.sum()),
            agrees=not bad.any(),
        )
        self.findings.append(finding)
        if not finding.agrees:
            return None
        self.legitimate_flips += finding.flips
        return converted.reshape(x.shape)

    def call(self, node: Node, values: dict[str, tf.Tensor], logits: bool) -> tf.Tensor:
        if node.name in self.checkpoints.levels:
            levels = self.quantized_input(node, np.asarray(values[node.inputs[0]]))
            if levels is not None:
                values = {**values, node.inputs[0]: tf.constant(levels)}
                with lq.utils.patch_object(node.layer, "input_quantizer", None):
                    return _logits_call(node, values) if logits else node.call_on(values)
        return _logits_call(node, values) if logits else node.call_on(values)

    def run(self, inputs: list[np.ndarray]) -> LayerwiseResult:
        values: dict[str, tf.Tensor] = {
            t: tf.constant(x) for t, x in zip(self.graph.inputs, inputs, strict=True)
        }
        releases = _releases(self.graph)
        result = LayerwiseResult(layers=len(self.graph.nodes))
        failing: list[Node] = []
        for node in self.graph.nodes:
            compared = self.compared[node.name]
            logits = compared is not None and compared[0] == "logits"
            out = self.call(node, values, logits)
            for tensor in releases.get(node.name, ()):
                del values[tensor]
            if node.name in self.output_nodes:
                if self.compare_values(node, *compared, np.asarray(out)) is None:
                    failing.append(node)
                values[node.outputs[0]] = tf.nn.softmax(out) if logits else out
                continue
            covered = self.covered(node)
            if compared is not None:
                agreed = self.compare_values(node, *compared, np.asarray(out))
                if agreed is not None:
                    out = tf.constant(agreed)
                    covered = ()
            self.unchecked.update((tensor, covered) for tensor in node.outputs)
            for tensor, value in zip(node.outputs, tf.nest.flatten(out), strict=True):
                values[tensor] = value
        result.findings = self.findings
        result.checkpoints = len(self.findings)
        result.legitimate_flips = self.legitimate_flips
        for node in failing:
            upstream = self.ancestors(node)
            open_findings = [
                f for f in self.findings if not f.agrees and not f.cleared and f.layer in upstream
            ]
            result.culprit = open_findings[0]
            break
        return result


def checked_tensors(
    model: tf.keras.Model, converted: bytes, checkpoints: CheckpointMap | None = None
) -> list[int]:
    """The tensors of ``converted`` that verification reads: the outputs (and the logits in
    front of a final ``SOFTMAX``) and every value and levels checkpoint (``checkpoints`` as
    for :func:`verify_layerwise`)."""
    graph = layer_graph(model)
    found = _find_checkpoints(graph, model.name, converted, checkpoints)
    compared = [tensor for tensor, _ in _compared_outputs(model, converted, graph)]
    tensors = [*output_tensors(model, converted), *compared]
    tensors += [t.index for t in (*found.values.values(), *found.levels.values())]
    return list(dict.fromkeys(tensors))


def run_exposed(
    model: bytes,
    inputs: list[np.ndarray],
    run: Callable[[bytes, list[np.ndarray]], list[np.ndarray]],
    tensors: Sequence[int],
) -> dict[int, np.ndarray]:
    """The values of ``tensors`` (operator outputs of ``model``, e.g. from
    :func:`checked_tensors`) and of the outputs for ``inputs``, by tensor index.
    ``run(flatbuffer, inputs)`` runs a flatbuffer in the target's interpreter and returns its
    outputs in the order of the subgraph's outputs; it is given a few samples at a time."""
    exposed, outputs = expose_tensors(model, tensors)
    samples = len(inputs[0])
    values: dict[int, np.ndarray] = {}
    for start in range(0, samples, _CHUNK):
        part = [x[start : start + _CHUNK] for x in inputs]
        for tensor, value in zip(outputs, run(exposed, part), strict=True):
            rows = len(value) // len(part[0])  # per sample
            if tensor not in values:
                values[tensor] = np.empty((samples * rows, *value.shape[1:]), value.dtype)
            values[tensor][start * rows : start * rows + len(value)] = value
    return values


def output_tensors(model: tf.keras.Model, converted: bytes) -> list[int]:
    """For each Keras output, the converted model's output tensor (matched by the file's
    signature names, not by position)."""
    tensors = flatbuffer.io_tensors(converted)[1]
    order = flatbuffer.keras_order(converted, [], model.output_names)[1]
    by_keras = list(tensors)
    for tensor, position in zip(tensors, order, strict=True):
        by_keras[position] = tensor
    return by_keras


def end_to_end(
    model: tf.keras.Model, converted: bytes, inputs: list[np.ndarray], values: dict[int, np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Keras's and the converted model's outputs for ``inputs`` (``values`` from
    :func:`run_exposed`): the logits where the Keras output ends in a softmax and the
    converted one in ``SOFTMAX``, where saturation would hide errors."""
    graph = layer_graph(model)
    compared = _compared_outputs(model, converted, graph)
    logits = {
        graph.producer[output].name
        for output, (_, is_logits) in zip(graph.outputs, compared, strict=True)
        if is_logits
    }
    store = {t: tf.constant(x) for t, x in zip(graph.inputs, inputs, strict=True)}
    releases = _releases(graph)
    for node in graph.nodes:
        if node.name in logits:
            store[node.outputs[0]] = _logits_call(node, store)
        else:
            store.update(zip(node.outputs, tf.nest.flatten(node.call_on(store)), strict=True))
        for tensor in releases.get(node.name, ()):
            del store[tensor]
    expected, actual = [], []
    for output, (converted_tensor, _) in zip(graph.outputs, compared, strict=True):
        keras = np.asarray(store[output])
        expected.append(keras)
        actual.append(values[converted_tensor].reshape(keras.shape))
    return expected, actual


def verify_layerwise(
    model: tf.keras.Model,
    converted: bytes,
    inputs: list[np.ndarray],
    values: dict[int, np.ndarray],
    checkpoints: CheckpointMap | None = None,
) -> LayerwiseResult:
    """Compare ``converted`` with ``model`` checkpoint by checkpoint (see the module
    docstring); ``values`` from :func:`run_exposed` (each is removed from it after its last
    use, so that memory is freed as the walk goes); ``checkpoints`` for a file converted from
    a rewritten copy of ``model``."""
    return _Walk(model, converted, values, checkpoints).run(inputs)


def verify_file(
    model: tf.keras.Model,
    converted: bytes,
    inputs: list[np.ndarray],
    run: Callable[[bytes, list[np.ndarray]], list[np.ndarray]],
    checkpoints: CheckpointMap | None = None,
) -> LayerwiseResult:
    """:func:`verify_layerwise` of ``converted`` on ``inputs`` (e.g. other inputs than
    ``convert`` used), running it with ``run`` (as for :func:`run_exposed`) and reading the
    tensors :func:`checked_tensors` names; ``checkpoints`` is ``result.checkpoints``."""
    values = run_exposed(converted, inputs, run, checked_tensors(model, converted, checkpoints))
    return verify_layerwise(model, converted, inputs, values, checkpoints)
