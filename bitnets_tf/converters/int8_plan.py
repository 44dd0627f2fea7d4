"""Which layers the int8 target computes exactly, and how (analysis only; see :mod:`int8`).

Every discrete activation (an input quantizer with a staircase, or a quantizer used as a layer)
is realised one of two ways:

- **folded**: its input is ``[MaxPool | Dropout]* → [BatchNorm] → [MaxPool | Flatten | Reshape
  | Dropout]*`` after a convolution/dense layer ``P`` whose output nobody else reads (a
  max-pool before the batch norm only when all its scales are positive). ``P`` then emits the
  ±1 planes directly (threshold in the bias, saturating requantization). If ``P`` itself
  reads planes and has binary/ternary weights, its accumulator is an exact integer and so
  are the planes.
  (Max-pooling commutes with a non-decreasing staircase, reshapes with any element-wise map.)
- **standalone**: anything else (the model input, a residual sum, an RSign after an addition):
  a 1×1 depthwise convolution with a fused clip computes the planes from the int8 tensor.

Every convolution/dense layer reading planes is rewritten to read them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import larq as lq
import numpy as np
import tensorflow as tf

from bitnets_tf.converters.graph import LayerGraph, Node, layer_graph
from bitnets_tf.converters.semantics import (
    LinearLayer,
    Staircase,
    activation_staircase,
    batch_norm_affine,
    describe_linear,
    padding_value,
)

_PASS_THROUGH = (
    tf.keras.layers.MaxPooling2D,
    tf.keras.layers.Flatten,
    tf.keras.layers.Reshape,
    tf.keras.layers.Dropout,
    tf.keras.layers.Identity,
)
_INT8_OPS = {"conv": "CONV_2D", "dense": "FULLY_CONNECTED", "depthwise": "DEPTHWISE_CONV_2D"}


class Role(Enum):
    """What the int8 lowering does with a node."""

    REUSE = "reuse"  # the Keras layer unchanged, on float or int8 tensors
    LOWERED = "lowered"  # a LoweredLinear: reads and/or emits ±1 planes
    PASS = "pass"  # identity on planes: a folded batch norm or quantizer layer
    PLANES = "planes"  # a pass-through layer (max-pool, reshape, ...) applied to planes
    STANDALONE = "standalone"  # a quantizer layer realised by StandalonePlanes


@dataclass
class Discrete:
    """A discrete tensor ``staircase(x)`` and how it is realised."""

    node: Node  # the layer applying the staircase (input quantizer or quantizer layer)
    staircase: Staircase
    x: str  # the float tensor the staircase applies to
    producer: Node | None = None  # folded: the layer that emits the planes
    batch_norm: Node | None = None
    chain: list[Node] = field(default_factory=list)  # pass-through layers, in order
    integer: bool = False  # the producer's accumulator is an exact integer

    @property
    def folded(self) -> bool:
        return self.producer is not None


@dataclass
class Int8Plan:
    """The :class:`Role` of every node, and what the lowered ones read and emit."""

    graph: LayerGraph
    linear: dict[str, LinearLayer]
    role: dict[str, Role]
    reads_planes: dict[str, Discrete]  # lowered layer -> the discrete tensor it reads
    emits: dict[str, Discrete]  # producer -> the discrete tensor it emits
    quantizer_layers: dict[str, Discrete]  # quantizer layer -> the discrete tensor it makes
    notes: dict[str, str]

    def float_tensors_to_threshold(self) -> list[str]:
        """Float tensors whose int8 scale sets a gain: inputs of standalone staircases and
        of producers folding a step over a float input."""
        tensors = [d.x for d in self.quantizer_layers.values() if not d.folded]
        tensors += [
            d.x for name, d in self.reads_planes.items() if not d.folded and d.node.name == name
        ]
        tensors += [
            d.producer.inputs[0]
            for d in self.emits.values()
            if not d.integer and d.producer.name not in self.reads_planes
        ]
        return sorted(set(tensors))


def _is_pass_through(layer) -> bool:
    if isinstance(layer, tf.keras.layers.Activation):
        return layer.activation is tf.keras.activations.linear
    return isinstance(layer, _PASS_THROUGH)


def _is_last_axis_batch_norm(node: Node) -> bool:
    if not isinstance(node.layer, tf.keras.layers.BatchNormalization):
        return False
    axis = node.layer.axis if isinstance(node.layer.axis, (list, tuple)) else [node.layer.axis]
    rank = len(node.output_shapes[0])
    return len(axis) == 1 and axis[0] in (-1, rank - 1)


def quantizer_layer_staircase(layer) -> Staircase | None:
    """The staircase of a quantizer used as a layer, e.g. ``lq.quantizers.SteSign()(x)``."""
    if isinstance(layer, lq.quantizers.Quantizer):
        return activation_staircase(layer)
    return None


def lowering_obstacle(linear: LinearLayer, reads_planes: Staircase | None) -> str | None:
    """Why ``linear`` cannot become a :class:`LoweredLinear`, or None if it can."""
    layer = linear.layer
    if linear.activation_scaling:
        return "XNOR activation scaling"
    if (getattr(layer, "groups", 1) or 1) != 1:
        return "grouped convolution"
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        return "channels_first"
    if reads_planes is None and linear.input_quantizer != "-":
        return f"input quantizer {linear.input_quantizer} is not a sign or ternary staircase"
    if reads_planes is not None and padding_value(layer) not in (0.0, 1.0, -1.0):
        return "pad_values other than 0 or ±1"
    if linear.kind == "depthwise" and reads_planes is not None and reads_planes.levels > 2:
        return "depthwise convolution of a ternary input"
    return None


def _emits_float_linear(layer) -> bool:
    activation = getattr(layer, "activation", None)
    return activation in (None, tf.keras.activations.linear)


class _Planner:
    def __init__(self, model: tf.keras.Model):
        self.graph = layer_graph(model)
        self.linear = {}
        for node in self.graph.nodes:
            described = describe_linear(node.layer, node.output_shapes[0])
            if described is not None:
                self.linear[node.name] = described
        self.role = {node.name: Role.REUSE for node in self.graph.nodes}
        self.reads_planes: dict[str, Discrete] = {}
        self.emits: dict[str, Discrete] = {}
        self.notes: dict[str, str] = {}
        self.quantizer_layers: dict[str, Discrete] = {}  # quantizer layers realised as planes

    def discrete_of(self, node: Node) -> Discrete | None:
        """The discrete tensor ``node`` applies, if any."""
        linear = self.linear.get(node.name)
        staircase = linear.input_staircase if linear else quantizer_layer_staircase(node.layer)
        if staircase is None:
            return None
        return Discrete(node=node, staircase=staircase, x=node.inputs[0])

    def fold(self, discrete: Discrete) -> None:
        """Find the producer that can emit ``discrete``'s planes, if there is one.

        Walking back from the staircase: pass-through layers, at most one batch norm, more
        pass-through layers, the producer. Reshapes must come after the batch norm (it
        normalizes the producer's channels); a max-pool before it commutes with the
        staircase only if every channel's batch-norm scale is positive.
        """
        tensor, reader = discrete.x, discrete.node
        chain, batch_norm, pooled_first = [], None, False
        per_channel = any(np.ndim(step.threshold) for step in discrete.staircase.steps)
        while True:
            producer = self.graph.producer.get(tensor)
            if producer is None or self.graph.sole_consumer(tensor) is not reader:
                return
            if producer.name in self.emits:
                return
            layer = producer.layer
            if _is_pass_through(layer):
                reshapes = isinstance(layer, (tf.keras.layers.Flatten, tf.keras.layers.Reshape))
                if reshapes and (per_channel or batch_norm is not None):
                    return
                if isinstance(layer, tf.keras.layers.Reshape) and discrete.staircase.levels > 2:
                    return
                pooled_first |= batch_norm is not None and isinstance(
                    layer, tf.keras.layers.MaxPooling2D
                )
                chain.insert(0, producer)
            elif batch_norm is None and _is_last_axis_batch_norm(producer):
                batch_norm = producer
            else:
                break
            tensor, reader = producer.inputs[0], producer
        linear = self.linear.get(producer.name)
        if linear is None or not _emits_float_linear(producer.layer):
            return
        if pooled_first:
            scale, _ = batch_norm_affine(batch_norm.layer, producer.output_shapes[0][-1])
            if not (scale > 0).all():
                return
        producer_input = self.planes_source(producer)
        if lowering_obstacle(linear, producer_input.staircase if producer_input else None):
            return
        discrete.producer, discrete.batch_norm, discrete.chain = producer, batch_norm, chain
        discrete.integer = producer_input is not None and linear.kernel.kind != "float"

    def planes_source(self, node: Node) -> Discrete | None:
        """The discrete tensor a linear node would read as planes."""
        if node.name in self.reads_planes:
            return self.reads_planes[node.name]
        linear = self.linear.get(node.name)
        if linear is None:
            return None
        if linear.input_staircase is not None:
            return None  # decided when the node itself is planned
        producer = self.graph.producer.get(node.inputs[0])
        if producer is not None and producer.name in self.quantizer_layers:
            return self.quantizer_layers[producer.name]
        return None

    def plan(self) -> Int8Plan:
        for node in self.graph.nodes:
            discrete = self.discrete_of(node)
            linear = self.linear.get(node.name)
            if discrete is None:
                source = self.planes_source(node) if linear else None
                if source is not None and not lowering_obstacle(linear, source.staircase):
                    self.reads_planes[node.name] = source
                    self.role[node.name] = Role.LOWERED
                continue
            if linear is not None and lowering_obstacle(linear, discrete.staircase):
                self.notes[node.name] = "float ops: " + lowering_obstacle(
                    linear, discrete.staircase
                )
                continue
            self.fold(discrete)
            if discrete.folded:
                self.emits[discrete.producer.name] = discrete
                self.role[discrete.producer.name] = Role.LOWERED
                if discrete.batch_norm is not None:
                    self.role[discrete.batch_norm.name] = Role.PASS
                for member in discrete.chain:
                    self.role[member.name] = Role.PLANES
            if linear is not None:
                self.reads_planes[node.name] = discrete
                self.role[node.name] = Role.LOWERED
            else:
                self.quantizer_layers[node.name] = discrete
                self.role[node.name] = Role.PASS if discrete.folded else Role.STANDALONE
        self.describe()
        return Int8Plan(
            self.graph,
            self.linear,
            self.role,
            self.reads_planes,
            self.emits,
            self.quantizer_layers,
            self.notes,
        )

    def describe(self) -> None:
        for node in self.graph.nodes:
            role = self.role[node.name]
            if role is Role.PASS:
                self.notes[node.name] = "folded into the previous layer"
            elif role is Role.PLANES:
                self.notes[node.name] = "on ±1 planes (exact)"
            elif role is Role.STANDALONE:
                self.notes[node.name] = "DEPTHWISE_CONV_2D 1×1 (staircase of an int8 tensor)"
            elif role is Role.LOWERED:
                self.notes[node.name] = self._lowered_note(node)

    def _lowered_note(self, node: Node) -> str:
        op = _INT8_OPS[self.linear[node.name].kind]
        parts = []
        source = self.reads_planes.get(node.name)
        if source is not None:
            if source.integer:
                parts.append("exact ±1 input")
            elif source.folded:
                parts.append(f"input staircase folded into {source.producer.name}")
            else:
                parts.append("input staircase of an int8 tensor (rounding near the threshold)")
        emitted = self.emits.get(node.name)
        if emitted is not None:
            exactness = "exact" if emitted.integer else "from a float accumulator"
            parts.append(f"emits {emitted.staircase.name} planes, threshold in bias ({exactness})")
        return f"{op} int8: " + "; ".join(parts)


def plan_int8(model: tf.keras.Model) -> Int8Plan:
    """Analyse ``model`` for the int8 target (no conversion).

    Raises:
        ValueError: see :func:`bitnets_tf.converters.graph.layer_graph`.
    """
    return _Planner(model).plan()
