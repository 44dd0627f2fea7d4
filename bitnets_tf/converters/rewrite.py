"""Exact rewrites applied before larq-compute-engine conversion.

- larq's binary ``QuantDense`` → :class:`bitnets_tf.layers.QuantDense` (same weights): LCE
  turns the former into a float ``FULLY_CONNECTED`` and the latter, exported as a 1×1 binary
  convolution, into a bitpacked ``LceBconv2d``.
- binary dense layers of more than 2^24 weights → :class:`ChunkedBinaryDense` (LCE 0.16 fails
  on binary kernels of 2^25 elements); binary convolutions of more than 2^24 weights →
  :class:`ChunkedBinaryConv2D`, the same split over output channels.
- quantized kernels that are not binary (ternary, k-bit) → their precomputed values with
  :class:`PrecomputedKernel` (LCE does not fold such quantizers).
- zero-padded binary convolutions on inputs smaller than their kernel → one-padded ones minus
  the padding's constant contribution (:mod:`zero_padding`; LCE 0.16 miscomputes them).
- larq's ``ste_tern`` activation ``sign(sign(x+t) + sign(x-t))`` → :class:`ExactSteTern`,
  ``1{x ≥ t} - 1{x ≤ -t}``: the same values, including at ``x = ±t``, but not the
  ``sign(sign(y) + c)`` pattern LCE 0.16 mistakes for a binary sign (it silently drops the
  second term and the zero level).
"""

from __future__ import annotations

from dataclasses import dataclass

import larq as lq
import numpy as np
import tensorflow as tf

from bitnets_tf import layers as our_layers
from bitnets_tf.converters.chunked import (
    LCE_MAX_KERNEL_ELEMENTS,
    ChunkedBinaryDense,
    chunk_units,
    chunked_conv,
    conv_pieces,
    conv_pieces_are_exact,
)
from bitnets_tf.converters.cloning import clone_model
from bitnets_tf.converters.semantics import (
    activation_staircase,
    classify_kernel,
    linear_kind,
    quantized_kernel,
)
from bitnets_tf.converters.zero_padding import corrected_clone, lce_miscomputes_zero_padding
from bitnets_tf.serialization import register


@register()
class ExactSteTern(lq.quantizers.Quantizer):
    r"""larq's ``ste_tern`` activation written so that LCE converts it correctly.

    .. math:: q(x) = 1\{x \ge t\} - 1\{x \le -t\}

    which equals ``sign(sign(x + t) + sign(x - t))`` everywhere, also at ``x = ±t``. The
    gradient is the straight-through estimator ``1{|x| ≤ clip_value}`` like larq's.
    """

    precision = 2

    def __init__(self, threshold_value: float = 0.05, clip_value: float | None = 1.0, **kwargs):
        self.threshold_value = float(threshold_value)
        self.clip_value = clip_value
        super().__init__(**kwargs)

    def call(self, inputs):
        threshold, clip_value = self.threshold_value, self.clip_value

        @tf.custom_gradient
        def forward(x):
            def grad(dy):
                if clip_value is None:
                    return dy
                return tf.where(tf.abs(x) <= clip_value, dy, tf.zeros_like(dy))

            outputs = tf.cast(x >= threshold, x.dtype) - tf.cast(x <= -threshold, x.dtype)
            return outputs, grad

        return forward(inputs)

    def get_config(self):
        return {
            **super().get_config(),
            "threshold_value": self.threshold_value,
            "clip_value": self.clip_value,
        }


@register()
class PrecomputedKernel(lq.quantizers.Quantizer):
    """Identity kernel quantizer for a kernel that already holds its quantized values.

    LCE 0.16 does not constant-fold kernel quantizers that reduce over the kernel (TWN's
    ``Δ = 0.7·mean|W|``, TTQ's ``t·max|W|``): it keeps the float latent weights *and* the
    quantization ops, which doubled a ternary ResNet-18 file and made it 5× slower. Binary
    kernels keep their quantizer: LCE only folds a scaled binary kernel correctly when it sees
    the ``scale · sign(W)`` ops (as a precomputed constant its scale was lost).
    """

    def __init__(self, precision: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.precision = precision

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {**super().get_config(), "precision": self.precision}


@dataclass(frozen=True)
class Rewrite:
    """One layer changed before conversion, and why."""

    layer: str
    change: str


def _larq_ste_tern(quantizer) -> ExactSteTern | None:
    staircase = activation_staircase(quantizer)
    larq_tern = isinstance(quantizer, lq.quantizers.SteTern) or quantizer is lq.quantizers.ste_tern
    if staircase is None or not larq_tern:
        return None
    clip_value = getattr(quantizer, "clip_value", 1.0)
    return ExactSteTern(float(staircase.steps[0].threshold), clip_value=clip_value)


def _is_binary_dense(layer) -> bool:
    if not isinstance(layer, lq.layers.QuantDense) or not layer.built:
        return False
    staircase = activation_staircase(layer.input_quantizer)
    kernel = classify_kernel(quantized_kernel(layer), "dense")
    return staircase is not None and staircase.name == "binary" and kernel.kind == "binary"


def _is_larq_binary_dense(layer) -> bool:
    return type(layer) is lq.layers.QuantDense and _is_binary_dense(layer)


def too_large_for_lce(layer) -> bool:
    """A binary dense layer on flat inputs whose kernel LCE cannot convert in one piece."""
    return (
        _is_binary_dense(layer)
        and len(layer.input_shape) == 2
        and int(np.prod(layer.kernel.shape)) > LCE_MAX_KERNEL_ELEMENTS
    )


def conv_too_large_for_lce(layer) -> bool:
    """A binary 2-D convolution whose kernel LCE cannot convert in one piece, and which can be
    split over its output channels exactly."""
    if not isinstance(layer, lq.layers.QuantConv2D) or not layer.built:
        return False
    staircase = activation_staircase(layer.input_quantizer)
    return (
        staircase is not None
        and staircase.name == "binary"
        and int(np.prod(layer.kernel.shape)) > LCE_MAX_KERNEL_ELEMENTS
        and not lce_miscomputes_zero_padding(layer)
        and classify_kernel(quantized_kernel(layer), "conv").kind == "binary"
        and conv_pieces_are_exact(layer)
    )


def _pieces(layer) -> list[int]:
    if isinstance(layer, lq.layers.QuantConv2D):
        return conv_pieces(layer)
    return chunk_units(int(layer.kernel.shape[0]), layer.units)


def lce_bconv_count(layer) -> int:
    """How many ``LceBconv2d`` a bitpackable layer becomes after the rewrites."""
    return len(_pieces(layer)) if too_large_for_lce(layer) or conv_too_large_for_lce(layer) else 1


def _kernel_quantizer_attribute(layer) -> str | None:
    """The name of a quantized kernel's quantizer attribute when LCE should get the kernel
    precomputed (a quantized kernel that is not binary), else None."""
    kind = linear_kind(layer)
    attribute = "depthwise_quantizer" if kind == "depthwise" else "kernel_quantizer"
    if kind is None or getattr(layer, attribute, None) is None or not layer.built:
        return None
    levels = classify_kernel(quantized_kernel(layer), kind)
    return None if levels.kind == "binary" else attribute


def planned_rewrites(model: tf.keras.Model) -> list[Rewrite]:
    """The rewrites :func:`rewrite_for_lce` would make, without making them."""
    rewrites = []
    for layer in model.layers:
        if too_large_for_lce(layer):
            change = (
                f"binary dense → {len(_pieces(layer))} 1×1 binary convolutions (LCE size limit)"
            )
            rewrites.append(Rewrite(layer.name, change))
        elif conv_too_large_for_lce(layer):
            change = (
                f"binary convolution → {len(_pieces(layer))} over output channels (LCE size limit)"
            )
            rewrites.append(Rewrite(layer.name, change))
        elif _is_larq_binary_dense(layer):
            rewrites.append(Rewrite(layer.name, "larq QuantDense → 1×1 binary convolution"))
        elif lce_miscomputes_zero_padding(layer):
            rewrites.append(
                Rewrite(layer.name, "zero padding → one padding minus its constant contribution")
            )
        quantizer = layer if isinstance(layer, lq.quantizers.Quantizer) else None
        quantizer = quantizer or getattr(layer, "input_quantizer", None)
        if _larq_ste_tern(quantizer) is not None:
            rewrites.append(Rewrite(layer.name, "ste_tern → exact comparison form"))
        if _kernel_quantizer_attribute(layer) is not None:
            rewrites.append(Rewrite(layer.name, "quantized kernel precomputed"))
    return rewrites


def _replacement(layer):
    config = layer.get_config()
    if too_large_for_lce(layer):
        return ChunkedBinaryDense(
            layer.units,
            _pieces(layer),
            layer.input_quantizer,
            layer.use_bias,
            layer.activation,
            name=layer.name,
        )
    if conv_too_large_for_lce(layer):
        return chunked_conv(layer)
    if _is_larq_binary_dense(layer):
        return our_layers.QuantDense.from_config(config)
    if lce_miscomputes_zero_padding(layer):
        return corrected_clone(layer)
    if isinstance(layer, lq.quantizers.Quantizer) and _larq_ste_tern(layer) is not None:
        exact = _larq_ste_tern(layer)
        return ExactSteTern(exact.threshold_value, exact.clip_value, name=layer.name)
    exact = _larq_ste_tern(getattr(layer, "input_quantizer", None))
    precomputed = _kernel_quantizer_attribute(layer)
    if exact is None and precomputed is None:
        return None
    if precomputed is not None:
        precision = getattr(getattr(layer, precomputed), "precision", 32)
        config[precomputed] = tf.keras.utils.serialize_keras_object(PrecomputedKernel(precision))
    clone = layer.__class__.from_config(config)
    if exact is not None:
        clone.input_quantizer = exact
    return clone


def rewrite_for_lce(model: tf.keras.Model) -> tuple[tf.keras.Model, list[Rewrite]]:
    """``model`` with the rewrites applied (a copy; the original is unchanged), and the list.
    Returns ``model`` itself when nothing needs rewriting."""
    rewrites = planned_rewrites(model)
    if not rewrites:
        return model, []
    clone = clone_model(model, replace=_replacement)
    for rewrite in rewrites:
        if rewrite.change == "quantized kernel precomputed":
            original = model.get_layer(rewrite.layer)
            target = clone.get_layer(rewrite.layer)
            attribute = "depthwise_kernel" if hasattr(target, "depthwise_kernel") else "kernel"
            getattr(target, attribute).assign(quantized_kernel(original))
    return clone, rewrites
