"""Build the Keras model the int8 target quantizes: the plan of :mod:`int8_plan` made concrete.

Folded staircases (see :mod:`planes`): for output channel ``c`` of the producer, with batch
norm ``y = a_c (conv + bias_c) + b_c`` and kernel ``s_c · n`` read from planes of weight
``w``, ``y = A_c · acc + B_c`` with ``A_c = a_c w s_c`` and integer ``acc = Σ n·s``. A step
at ``θ`` becomes ``clip(K (σ acc - h))`` with

============  =======================  ==========================
case          σ                        h
============  =======================  ==========================
A>0, incl.    +1                       ⌈t⌉ - 1/2
A>0, excl.    +1                       ⌊t⌋ + 1/2
A<0, incl.    -1                       -⌊t⌋ - 1/2
A<0, excl.    -1                       -⌈t⌉ + 1/2
============  =======================  ==========================

where ``t = (θ - B_c) / A_c`` (``A_c = 0`` gives a constant). With a float accumulator the
step is ``clip(G_c (y - θ))`` with ``G_c`` from :func:`planes.float_step_gain`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from bitnets_tf.converters.graph import Node
from bitnets_tf.converters.int8_plan import Discrete, Int8Plan, Role
from bitnets_tf.converters.planes import (
    INT8_PLANE_GAIN,
    INT8_PLANE_SCALE,
    INT8_PLANE_VALUE,
    STEM_BITS_SCALE,
    STEM_BITS_SCOPE,
    STEM_STEP_GAIN,
    STEP_GAIN,
    STREAM_BITS_SCOPE,
    Layout,
    LoweredLinear,
    PlanesToValue,
    StandalonePlanes,
    expand_input_axis,
    float_step_gain,
    same_padding,
)
from bitnets_tf.converters.semantics import LinearLayer, batch_norm_affine, padding_value

_INPUT_AXIS = {"conv": 2, "dense": 0, "depthwise": None}


def integer_step(A: np.ndarray, B: np.ndarray, threshold: np.ndarray, inclusive: bool):
    """``(σ, h)`` per channel for a step of ``A·acc + B`` over an integer ``acc`` (see the
    module docstring); ``σ = 0`` marks constant channels, whose ``h`` is ∓1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (threshold - B) / A
    if inclusive:
        h = np.where(A > 0, np.ceil(t) - 0.5, -np.floor(t) - 0.5)
        constant_on = B >= threshold
    else:
        h = np.where(A > 0, np.floor(t) + 0.5, -np.ceil(t) + 0.5)
        constant_on = B > threshold
    sigma = np.sign(A)
    h = np.where(A == 0, np.where(constant_on, -1.0, 1.0), h)
    return sigma, h


def _kernel_columns(kernel: np.ndarray, kind: str) -> np.ndarray:
    """The kernel with one last axis over output channels (depthwise: channel·multiplier)."""
    if kind == "depthwise":
        return kernel.reshape(*kernel.shape[:2], -1)
    return kernel


def _arrange_planes(columns: np.ndarray, bias: np.ndarray, kind: str, kernel_shape):
    """Kernel and bias for per-(step, output) columns ``(..., P, O)`` / ``(P, O)``, and the
    output layout."""
    planes, outputs = bias.shape
    if kind == "depthwise":
        channels, multiplier = kernel_shape[2], kernel_shape[3]
        kernel = columns.reshape(*columns.shape[:2], planes, channels, multiplier)
        kernel = np.moveaxis(kernel, 2, 3).reshape(*columns.shape[:2], channels, -1)
        bias = np.moveaxis(bias.reshape(planes, channels, multiplier), 0, 1).reshape(-1)
        return kernel, bias, Layout.channel_major(channels, planes, multiplier)
    kernel = columns.reshape(*columns.shape[:-2], planes * outputs)
    return kernel, bias.reshape(-1), Layout.plane_major(outputs, planes)


@dataclass(frozen=True)
class _Planes:
    """A planes tensor of the lowered model: ±1 int8 clips, stored as ±254/255."""

    tensor: tf.Tensor
    layout: Layout
    weight: float


class _Builder:
    def __init__(
        self,
        plan: Int8Plan,
        input_scales: dict[str, float],
        float_stem: bool,
        float_stream: bool,
    ):
        self.plan = plan
        self.input_scales = input_scales
        self.float_stem = float_stem
        self.float_stream = float_stream
        self.values: dict[str, tf.Tensor] = {}
        self.planes: dict[str, _Planes] = {}
        self.after_planes: set[str] = set()  # tensors computed from some planes tensor
        self.rounded: list[RoundedStep] = []  # staircases of int8-rounded tensors
        self.levels: dict[str, str] = {}  # layer -> the lowered layer emitting its ±1 input

    def value(self, tensor: str):
        if tensor in self.values:
            return self.values[tensor]
        planes = self.planes[tensor]
        layout = planes.layout
        if layout.is_value:
            value = planes.tensor
        else:
            channels = len(layout.channel) // layout.planes
            value = PlanesToValue(layout, planes.weight, channels)(planes.tensor)
        self.values[tensor] = value
        return value

    def add(self, node: Node) -> None:
        role = self.plan.role[node.name]
        if role is Role.REUSE:
            outputs = node.call_on({t: self.value(t) for t in node.inputs})
            for tensor, output in zip(node.outputs, tf.nest.flatten(outputs), strict=True):
                self.values[tensor] = output
        elif role is Role.PASS:
            self.planes[node.outputs[0]] = self.planes[node.inputs[0]]
        elif role is Role.PLANES:
            self.planes[node.outputs[0]] = self._pass_through(node)
        elif role is Role.STANDALONE:
            self.planes[node.outputs[0]] = self._standalone(self.plan.quantizer_layers[node.name])
        else:
            self._lowered(node)
        if role is not Role.REUSE or any(t in self.after_planes for t in node.inputs):
            self.after_planes.update(node.outputs)

    def _pass_through(self, node: Node) -> _Planes:
        planes = self.planes[node.inputs[0]]
        output = node.layer(planes.tensor)
        layer, layout = node.layer, planes.layout
        if isinstance(layer, (tf.keras.layers.Flatten, tf.keras.layers.Reshape)):
            source_shape = self.plan.graph.tensor_shape(node.inputs[0])
            if isinstance(layer, tf.keras.layers.Flatten) and len(source_shape) > 2:
                positions = int(np.prod(source_shape[1:-1]))
                layout = layout.flattened(positions, source_shape[-1])
            else:  # a single plane: the planes tensor is the value
                layout = Layout.plane_major(int(output.shape[-1]), 1)
        return _Planes(output, layout, planes.weight)

    def _bits_scope(self, tensor: str) -> str | None:
        """Where a step of the float tensor ``tensor`` is computed in float32: the stem's
        scope before any planes, the stream's after them; None if it reads int8."""
        if tensor not in self.after_planes:
            return STEM_BITS_SCOPE if self.float_stem else None
        return STREAM_BITS_SCOPE if self.float_stream else None

    def _standalone(self, discrete: Discrete) -> _Planes:
        x = self.value(discrete.x)
        channels = int(x.shape[-1])
        thresholds = np.stack(
            [np.broadcast_to(step.threshold, (channels,)) for step in discrete.staircase.steps]
        )
        inclusive = tuple(step.inclusive for step in discrete.staircase.steps)
        bits_scope = self._bits_scope(discrete.x)
        if bits_scope is None:
            scale = self.input_scales[discrete.x]
            # int8 rounding of x, and the width 2/G over which the clip is not yet saturated
            clip = np.full(channels, 2.0 / float(float_step_gain(scale)))
            step = RoundedStep(discrete.node.name, discrete.x, thresholds, 0.5 * scale + clip, clip)
            self.rounded.append(step)
        scale = self.input_scales[discrete.x]
        layer = StandalonePlanes(thresholds, inclusive, scale, bits_scope=bits_scope)
        layout = Layout.channel_major(channels, len(inclusive))
        return self._planes(layer(x), layout, discrete.staircase.weight, bits_scope is not None)

    def _planes(self, output, layout: Layout, weight: float, bits: bool) -> _Planes:
        """Planes from a producer's output; float bits get their int8 step at 1/2."""
        if bits:
            channels = int(output.shape[-1])
            half = np.full((1, channels), 0.5)
            output = StandalonePlanes(half, (True,), STEM_BITS_SCALE)(output)
        return _Planes(output, layout, weight)

    def _record_levels(self, node: Node, source: Discrete, planes: _Planes) -> None:
        """Note which lowered layer emits the ±1 input of ``node``'s own sign quantizer (a
        single plane in channel order), so verification can compare it with Keras's signs."""
        if source.node is node and source.staircase.levels == 2 and planes.layout.is_value:
            self.levels[node.name] = planes.tensor._keras_history.layer.name

    def _lowered(self, node: Node) -> None:
        linear = self.plan.linear[node.name]
        layer = node.layer
        source = self.plan.reads_planes.get(node.name)
        pad_value = padding_value(layer)
        kernel = linear.kernel.kernel.astype(np.float64)
        unit = linear.kernel.unit
        bias = _bias(layer, linear)
        if source is not None:
            if source.node is node and not source.folded:
                planes = self._standalone(source)
            else:
                planes = self.planes[node.inputs[0]]
            self._record_levels(node, source, planes)
            x = planes.tensor
            axis = _INPUT_AXIS[linear.kind]
            if axis is not None:
                kernel = expand_input_axis(kernel, planes.layout, axis, planes.weight)
                unit = None if unit is None else expand_input_axis(unit, planes.layout, axis, 1.0)
            else:
                kernel = kernel * planes.weight
            pad_value *= INT8_PLANE_VALUE
        else:
            planes, x = None, self.value(node.inputs[0])
        options = _conv_options(layer, linear, pad_value, node, self.plan)
        emitted = self.plan.emits.get(node.name)
        if emitted is None:
            if planes is not None:  # a ±1 plane is stored as ±254/255
                kernel = kernel * INT8_PLANE_GAIN
            # named as the layer it replaces: the file's tensors of this scope are its output
            output = LoweredLinear(
                linear.kind, kernel, bias, activation=layer.activation, name=node.name, **options
            )(x)
            self.values[node.outputs[0]] = output
            return
        if planes is not None:
            bits_scope = None
            read = _Read(planes.weight, INT8_PLANE_SCALE, INT8_PLANE_GAIN)
        else:
            bits_scope = self._bits_scope(node.inputs[0])
            read = _Read(1.0, self.input_scales[node.inputs[0]], 1.0)
            if bits_scope is None:
                self.rounded.append(_float_fold_step(emitted, linear, read.scale))
        bits = bits_scope is not None
        kernel, bias, layout = _fold_steps(linear, kernel, unit, bias, emitted, read, bits)
        output = LoweredLinear(
            linear.kind, kernel, bias, emit_planes=True, bits_scope=bits_scope, **options
        )(x)
        self.planes[node.outputs[0]] = self._planes(output, layout, emitted.staircase.weight, bits)


def _conv_options(layer, linear: LinearLayer, pad_value: float, node: Node, plan: Int8Plan):
    if linear.kind == "dense":
        return {}
    strides, dilation = tuple(layer.strides), tuple(layer.dilation_rate)
    options = {"strides": strides, "dilation": dilation, "padding": layer.padding.upper()}
    if options["padding"] == "SAME" and pad_value != 0.0:
        height, width = plan.graph.tensor_shape(node.inputs[0])[1:3]
        kh, kw = layer.kernel_size
        rows = same_padding(height, kh, strides[0], dilation[0])
        columns = same_padding(width, kw, strides[1], dilation[1])
        options["explicit_padding"] = (rows, columns, pad_value)
        options["padding"] = "VALID"
    return options


def _bias(layer, linear: LinearLayer) -> np.ndarray:
    if getattr(layer, "use_bias", False) and layer.bias is not None:
        return tf.keras.backend.get_value(layer.bias).astype(np.float64)
    return np.zeros(_kernel_columns(linear.kernel.kernel, linear.kind).shape[-1])


@dataclass(frozen=True)
class RoundedStep:
    """A staircase computed from an int8-rounded tensor: exact only where its input ``x``
    (the Keras tensor ``tensor``) is farther than ``bound`` (per channel) from every
    threshold (``thresholds``: steps × channels). An ``x`` of exactly 0 is stored exactly in
    int8 and is at risk only within ``clip`` (where the clip to ±1 is not yet saturated) of
    a non-zero threshold."""

    layer: str
    tensor: str
    thresholds: np.ndarray
    bound: np.ndarray
    clip: np.ndarray

    def at_risk(self, x: np.ndarray) -> np.ndarray:
        """Which values of ``x`` (positions × channels) int8 may quantize wrongly."""
        risk = np.zeros(x.shape, bool)
        for threshold in self.thresholds:
            distance = np.abs(x - threshold)
            exact_zero = (threshold != 0) & (distance <= self.clip)
            risk |= np.where(x == 0, exact_zero, distance <= self.bound)
        return risk


def _float_fold_step(emitted: Discrete, linear: LinearLayer, input_scale: float) -> RoundedStep:
    r"""The exactness bound of a step folded into a float-kernel producer reading an int8
    tensor of scale ``s``: per output channel ``c`` with batch-norm scale ``a_c``, kernel
    column ``W_c`` (fan-in ``K``) and step gain ``G_c``,

    .. math:: |a_c| \big(\tfrac{s}{2} \lVert W_c \rVert_1 + \tfrac{\max|W_c|}{2 \cdot 127}
              K \cdot 255 s\big) + 2/G_c

    (input rounding, int8 weight rounding over an input range of at most ``255 s``, and the
    width over which the clip to ±1 is not yet saturated)."""
    columns = _kernel_columns(linear.kernel.kernel.astype(np.float64), linear.kind)
    columns = columns.reshape(-1, columns.shape[-1])
    a, _ = batch_norm_affine(
        emitted.batch_norm.layer if emitted.batch_norm else None, columns.shape[1]
    )
    magnitude = np.abs(a)
    fan_in = columns.shape[0]
    rounding = 0.5 * input_scale * np.abs(columns).sum(axis=0)
    weights = np.abs(columns).max(axis=0) / 254.0 * fan_in * 255.0 * input_scale
    clip = 2.0 / float_step_gain(input_scale, np.abs(a * columns).max(axis=0))
    thresholds = np.stack(
        [np.broadcast_to(step.threshold, (columns.shape[1],)) for step in emitted.staircase.steps]
    )
    bound = magnitude * (rounding + weights) + clip
    return RoundedStep(emitted.node.name, emitted.x, thresholds, bound, clip)


@dataclass(frozen=True)
class _Read:
    """How a producer reads its input: staircase ``weight`` of its planes (1 for float
    inputs), the input's int8 ``scale``, and the ``gain`` undoing the ±254/255 storage of
    planes (1 for float inputs)."""

    weight: float
    scale: float
    gain: float


def _fold_steps(linear, kernel, unit, bias, emitted: Discrete, read: _Read, bits: bool):
    """Kernel, bias and output layout of a producer that emits ``emitted``'s planes (as
    float32 bits with ``bits``).
    ``kernel`` and ``unit`` are already expanded over the input planes (``kernel`` includes
    the staircase weight)."""
    columns_float = _kernel_columns(kernel, linear.kind)
    outputs = columns_float.shape[-1]
    a, b = batch_norm_affine(emitted.batch_norm.layer if emitted.batch_norm else None, outputs)
    columns, biases = [], []
    if emitted.integer:
        units = _kernel_columns(unit, linear.kind)
        A = a * read.weight * linear.kernel.scale
        B = a * bias + b
        for step in emitted.staircase.steps:
            threshold = np.broadcast_to(step.threshold, (outputs,))
            sigma, h = integer_step(A, B, threshold, step.inclusive)
            columns.append(STEP_GAIN * sigma * units * read.gain)
            biases.append(-STEP_GAIN * h)
    else:
        scaled = a * columns_float
        fan_in_axes = tuple(range(scaled.ndim - 1))
        if bits:
            gain = STEM_STEP_GAIN / np.maximum(np.abs(scaled).max(axis=fan_in_axes), 1e-12)
        else:
            gain = float_step_gain(read.scale, np.abs(scaled).max(axis=fan_in_axes))
        y_bias = a * bias + b
        for step in emitted.staircase.steps:
            threshold = np.broadcast_to(step.threshold, (outputs,))
            columns.append(gain * scaled * read.gain)
            biases.append(gain * (y_bias - threshold))
    stacked = np.stack(columns, axis=-2)
    return _arrange_planes(stacked, np.stack(biases), linear.kind, linear.kernel.kernel.shape)


@dataclass(frozen=True)
class LoweredModel:
    """The Keras model the int8 converter quantizes, named as the original so its tensors
    carry the original model's scope; the layers it keeps or replaces one for one carry the
    original layer names."""

    model: tf.keras.Model
    rounded: list[RoundedStep]  # staircases computed from int8-rounded tensors
    levels: dict[str, str]  # layer -> the lowered layer emitting its ±1 input (one plane)


def build_lowered_model(
    model: tf.keras.Model,
    plan: Int8Plan,
    input_scales: dict[str, float],
    float_stem: bool,
    float_stream: bool = False,
) -> LoweredModel:
    """The model with every planned layer replaced (same inputs and outputs), and the
    staircases computed from int8-rounded tensors (inexact near their thresholds).

    ``input_scales`` maps each tensor of ``plan.float_tensors_to_threshold()`` to its expected
    int8 scale (range / 255 over the representative data). With ``float_stem`` the steps
    computed from float tensors that precede every other planes tensor emit float bits
    (:data:`planes.STEM_BITS_SCOPE`), which the int8 converter keeps in float32. With
    ``float_stream`` the steps of float tensors computed after planes (a residual sum, an
    RPReLU output, a float layer's output) emit float bits as well
    (:data:`planes.STREAM_BITS_SCOPE`): the converter keeps the real-valued stream they read
    in float32 back to the planes it is computed from, so they are exact too.
    """
    builder = _Builder(plan, input_scales, float_stem, float_stream)
    inputs = [tf.keras.Input(tuple(t.shape[1:]), batch_size=1) for t in model.inputs]
    for tensor, new_input in zip(plan.graph.inputs, inputs, strict=True):
        builder.values[tensor] = new_input
    for node in plan.graph.nodes:
        builder.add(node)
    outputs = [builder.value(t) for t in plan.graph.outputs]
    lowered = tf.keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=model.name)
    return LoweredModel(lowered, builder.rounded, builder.levels)
