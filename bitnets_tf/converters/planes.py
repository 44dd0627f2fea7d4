r"""Keras layers that compute binary and ternary layers exactly with stock int8 TFLite ops.

A discrete tensor ``q = w Σ_p s_p`` (see :mod:`semantics`) is carried as its ±1 *planes*
``s_p``, stacked along the last axis; a :class:`Layout` records, for every position of that
axis, which original channel and which plane it holds. ±1 is exact in int8, so a
convolution over planes accumulates exactly in int32, and a staircase of an integer
accumulator is a saturating requantization with the threshold folded into the bias (Courbariaux
et al. 2016 fold batch norm into the sign the same way):

.. math:: s(y) = \mathrm{clip}\big(K (\mathrm{acc} - T + \tfrac12), -1, 1\big), \quad
          y = A \cdot \mathrm{acc} + B, \quad T = \lceil (\theta - B) / A \rceil

(``A > 0``, inclusive step; the other cases flip the kernel or use ``⌊·⌋ + 1``), which TFLite
fuses into one ``CONV_2D``/``FULLY_CONNECTED`` with ``RELU_N1_TO_1``. The clipped int8 tensor
has scale 2/255 and zero point -1, so ±1 are stored as ±127 and read back as ±254/255: every
consumer multiplies its weights by 255/254 (:data:`INT8_PLANE_GAIN`) and pads with ±254/255,
which makes both exact again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

PLANES_SCOPE = "bitnets_planes"  # name scope of every int8 clip that produces planes
# Float-stem steps are computed in float32 as bits b = (s + 1) / 2 ∈ {0, 1}: TFLite quantizes
# [0, 1] with scale 1/255 and zero point -128, which stores 0 and 1 exactly (a float ±1 lands
# on q = ±127.5 and rounds differently in different kernels), and an int8 step at b = 1/2
# turns them into ±1 planes.
STEM_BITS_SCOPE = "bitnets_stem_bits"
# Steps of a real-valued stream after planes (a residual sum, an RPReLU output) are computed
# the same way, from a stream that the int8 converter keeps in float32 back to the planes it
# is computed from.
STREAM_BITS_SCOPE = "bitnets_stream_bits"
STEM_BITS_SCALE = 1.0 / 255.0
INT8_PLANE_GAIN = 255.0 / 254.0
INT8_PLANE_VALUE = 254.0 / 255.0
INT8_PLANE_SCALE = 2.0 / 255.0
INT8_PLANE_ZERO_POINT = -1
STEP_GAIN = 4.0  # K for integer accumulators: |K (acc - T + 1/2)| >= 2 saturates
# For float inputs the gain makes the int8 requantization multiplier (input scale × weight
# scale / output scale) 16: one eighth of an input step saturates the clip, and XNNPACK, which
# rejects multipliers of 256 or more, still runs the layer.
FLOAT_STEP_MULTIPLIER = 16.0
# Float-bits steps run in float32: the gain only has to saturate the clip wherever float32
# itself resolves the sign of y - θ.
STEM_STEP_GAIN = 1e7
# TFLite's builtin (non-delegated) depthwise kernels accumulate one output pixel's channels in a
# fixed stack buffer (4832 floats; 2048 int32 in older integer kernels) and loop forever on a
# wider output, as in the calibration run. Wider standalone planes are computed in pieces.
MAX_DEPTHWISE_OUTPUTS = 2048


def float_step_gain(input_scale: float, column_max: np.ndarray | float = 1.0) -> np.ndarray:
    """Gain ``G`` per output channel for ``clip(G·(a·x - θ))`` over an int8 input of scale
    ``input_scale`` whose weight column (times ``a``) has largest magnitude ``column_max``."""
    denominator = np.maximum(input_scale * np.asarray(column_max, np.float64), 1e-12)
    return FLOAT_STEP_MULTIPLIER * 127.0 * INT8_PLANE_SCALE / denominator


@dataclass(frozen=True)
class Layout:
    """For each index ``k`` of a planes tensor's last axis: ``channel[k]``, the original
    channel (or flattened index) it belongs to, and ``plane[k]``, which step it holds."""

    channel: np.ndarray
    plane: np.ndarray

    @classmethod
    def plane_major(cls, channels: int, planes: int) -> Layout:
        """``[s_0 of all channels | s_1 of all channels | ...]`` (convolution outputs)."""
        return cls(np.tile(np.arange(channels), planes), np.repeat(np.arange(planes), channels))

    @classmethod
    def channel_major(cls, channels: int, planes: int, group: int = 1) -> Layout:
        """Channel blocks of ``planes × group`` (depthwise outputs with multiplier ``group``):
        index ``c·planes·group + p·group + m`` holds plane ``p`` of channel ``c·group + m``."""
        index = np.arange(channels * planes * group)
        block, rest = np.divmod(index, planes * group)
        plane, member = np.divmod(rest, group)
        return cls(block * group + member, plane)

    def flattened(self, positions: int, channels: int) -> Layout:
        """The layout after ``Flatten`` of ``positions`` spatial positions."""
        position = np.repeat(np.arange(positions), len(self.channel))
        return Layout(
            position * channels + np.tile(self.channel, positions),
            np.tile(self.plane, positions),
        )

    @property
    def planes(self) -> int:
        return int(self.plane.max()) + 1

    @property
    def is_value(self) -> bool:
        """A single plane in the original channel order: the planes tensor is the value."""
        return self.planes == 1 and bool((self.channel == np.arange(len(self.channel))).all())


def expand_input_axis(kernel: np.ndarray, layout: Layout, axis: int, weight: float) -> np.ndarray:
    """``kernel`` re-indexed along its input ``axis`` to read a planes tensor: position ``k``
    gets ``weight ·`` the original row ``layout.channel[k]``."""
    return weight * np.take(kernel, layout.channel, axis=axis)


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding (before, after) along one axis."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


class LoweredLinear(tf.keras.layers.Layer):
    """A convolution, depthwise convolution or dense layer with constant weights, optional
    explicit constant padding and, when ``emit_planes``, a clip to [-1, 1] that TFLite fuses.
    ``explicit_padding`` is ``((top, bottom), (left, right), value)``. With ``bits_scope``
    (:data:`STEM_BITS_SCOPE` or :data:`STREAM_BITS_SCOPE`) the planes are emitted as float
    bits ``(s + 1) / 2`` in that name scope.
    """

    def __init__(
        self,
        kind: str,
        kernel: np.ndarray,
        bias: np.ndarray,
        strides: tuple[int, int] = (1, 1),
        dilation: tuple[int, int] = (1, 1),
        padding: str = "VALID",
        explicit_padding: tuple[tuple[int, int], tuple[int, int], float] | None = None,
        activation=None,
        emit_planes: bool = False,
        bits_scope: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kind = kind
        self.kernel_value = np.asarray(kernel, np.float32)
        self.bias_value = np.asarray(bias, np.float32)
        self.strides = tuple(strides)
        self.dilation = tuple(dilation)
        self.padding = padding
        self.explicit_padding = explicit_padding
        self.activation = tf.keras.activations.get(activation)
        self.emit_planes = emit_planes
        self.bits_scope = bits_scope

    def build(self, input_shape):
        self.kernel = self.add_weight(
            "kernel",
            shape=self.kernel_value.shape,
            initializer=tf.keras.initializers.Constant(self.kernel_value),
            trainable=False,
        )
        self.bias = self.add_weight(
            "bias",
            shape=self.bias_value.shape,
            initializer=tf.keras.initializers.Constant(self.bias_value),
            trainable=False,
        )
        super().build(input_shape)

    def call(self, inputs):
        x = inputs
        if self.explicit_padding is not None:
            rows, columns, value = self.explicit_padding
            x = tf.pad(x, [[0, 0], list(rows), list(columns), [0, 0]], constant_values=value)
        kernel = self.kernel
        if self.kind == "dense":
            if x.shape.rank == 2:
                y = tf.matmul(x, kernel)
            else:
                y = tf.tensordot(x, kernel, [[x.shape.rank - 1], [0]])
        elif self.kind == "depthwise":
            y = tf.nn.depthwise_conv2d(
                x, kernel, (1, *self.strides, 1), self.padding, dilations=self.dilation
            )
        else:
            y = tf.nn.conv2d(x, kernel, self.strides, self.padding, dilations=self.dilation)
        y = y + self.bias
        if self.bits_scope is not None:
            with tf.name_scope(self.bits_scope):
                return tf.clip_by_value(0.5 * y + 0.5, 0.0, 1.0)
        if self.emit_planes:
            with tf.name_scope(PLANES_SCOPE):
                return tf.clip_by_value(y, -1.0, 1.0)
        return self.activation(y)

    def get_config(self):
        raise NotImplementedError("LoweredLinear exists only inside a conversion.")


class StandalonePlanes(tf.keras.layers.Layer):
    r"""The planes of a staircase of a float tensor, as one 1×1 depthwise convolution with
    multiplier ``P`` (one output per step) and a fused clip:

    .. math:: s_p(x) = \mathrm{clip}\big(G (x - \theta_p) \pm 1, -1, 1\big)

    with ``+1`` for inclusive and ``-1`` for exclusive steps, so ``x = θ_p`` gets the right
    side, and ``G`` from :func:`float_step_gain` (``input_scale``: the int8 scale of ``x``),
    or :data:`STEM_STEP_GAIN` for planes emitted as float bits in ``bits_scope``.
    In int8 this is exact for the int8 value of ``x``; only the rounding of ``x`` itself to
    int8 can move a value across the threshold. Output layout: channel-major.
    """

    def __init__(
        self,
        thresholds: np.ndarray,
        inclusive: tuple[bool, ...],
        input_scale: float,
        bits_scope: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.bits_scope = bits_scope
        self.thresholds = np.asarray(thresholds, np.float64)  # (planes, channels)
        self.inclusive = tuple(inclusive)
        self.gain = STEM_STEP_GAIN if bits_scope else float(float_step_gain(input_scale))

    def call(self, inputs):
        planes, channels = self.thresholds.shape
        offsets = np.where(np.asarray(self.inclusive), 1.0, -1.0)[:, None]
        bias = (offsets - self.gain * self.thresholds).T.reshape(-1)  # channel-major
        x = inputs
        if x.shape.rank != 4:
            x = tf.reshape(x, [-1, 1, 1, channels])
        step = max(1, MAX_DEPTHWISE_OUTPUTS // planes)
        pieces = []
        for start in range(0, channels, step):
            stop = min(channels, start + step)
            piece = x if (start, stop) == (0, channels) else x[..., start:stop]
            kernel = np.full((1, 1, stop - start, planes), self.gain)
            y = tf.nn.depthwise_conv2d(
                piece, tf.constant(kernel, tf.float32), (1, 1, 1, 1), "VALID"
            )
            pieces.append(y + tf.constant(bias[start * planes : stop * planes], tf.float32))
        with tf.name_scope(self.bits_scope or PLANES_SCOPE):
            if self.bits_scope is not None:
                pieces = [tf.clip_by_value(0.5 * y + 0.5, 0.0, 1.0) for y in pieces]
            else:
                pieces = [tf.clip_by_value(y, -1.0, 1.0) for y in pieces]
            y = pieces[0] if len(pieces) == 1 else tf.concat(pieces, axis=-1)
        if inputs.shape.rank != 4:
            y = tf.reshape(y, [-1, *inputs.shape[1:-1], channels * planes])
        return y

    def get_config(self):
        raise NotImplementedError("StandalonePlanes exists only inside a conversion.")


class PlanesToValue(tf.keras.layers.Layer):
    """The staircase value ``w Σ_p s_p`` in the original channel order, for layers that need
    the value rather than the planes (a 1×1 convolution with a 0/w matrix)."""

    def __init__(self, layout: Layout, weight: float, channels: int, **kwargs):
        super().__init__(**kwargs)
        matrix = np.zeros((len(layout.channel), channels), np.float32)
        matrix[np.arange(len(layout.channel)), layout.channel] = weight * INT8_PLANE_GAIN
        self.matrix = matrix

    def call(self, inputs):
        return tf.tensordot(inputs, tf.constant(self.matrix), [[inputs.shape.rank - 1], [0]])

    def get_config(self):
        raise NotImplementedError("PlanesToValue exists only inside a conversion.")
