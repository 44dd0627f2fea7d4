r"""XLA-fused twins of larq's ``SteSign`` and ``WeightClip``: same values and gradients, fewer
passes over memory.

larq computes ``ste_sign`` as three element-wise TensorFlow kernels in the forward pass,
``sign(sign(x) + 0.1)``, and four in the backward pass, ``where(|x| <= c, dy, zeros_like(dy))``,
each reading and writing the whole tensor. In a binary network these run on every binary
activation and every latent kernel in every step. :func:`fused_ste_sign` computes exactly the
same expressions, each compiled by XLA into one loop (one read, one write), so the values and
gradients are bit-identical (element-wise operations only: no reduction whose order could
change). For latent kernels, which a clip constraint keeps inside ``[-c, c]``, the backward
pass first checks whether every value is inside and then passes ``dy`` on unchanged (the mask
would keep all of it). Likewise the latent-weight clip ``clip_by_value(w, -c, c)`` (a minimum
and a maximum kernel) that the optimizer applies after every update becomes one loop.

bitnets_tf's ``QuantConv2D``, ``QuantDense`` and ``QuantDepthwiseConv2D`` use the fused twins in
place of a plain ``SteSign`` or ``WeightClip`` (their saved configs still name ``"ste_sign"``
and ``"weight_clip"``). While a model is traced for export (``tf.saved_model.save``, which the
TFLite and LCE converters use) the sign twin runs larq's own ``ste_sign``, so the converters
see the graph they know.
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf
from tensorflow.python.saved_model import save_context

__all__ = [
    "FusedSteSign",
    "FusedWeightClip",
    "fused_ste_sign",
    "fused_twin",
]


@tf.function(jit_compile=True)
def _sign(x: tf.Tensor) -> tf.Tensor:
    return lq.math.sign(x)


@tf.function(jit_compile=True)
def _clipped_gradient(x: tf.Tensor, dy: tf.Tensor, clip_value: tf.Tensor) -> tf.Tensor:
    return tf.where(tf.abs(x) <= clip_value, dy, tf.zeros_like(dy))


@tf.function(jit_compile=True)
def _all_within(x: tf.Tensor, clip_value: tf.Tensor) -> tf.Tensor:
    return tf.reduce_all(tf.abs(x) <= clip_value)


def _latent_weight_gradient(x: tf.Tensor, dy: tf.Tensor, clip_value: tf.Tensor) -> tf.Tensor:
    """``_clipped_gradient`` for latent weights, which a clip constraint keeps inside
    ``[-c, c]``: when every value is inside, the mask keeps all of ``dy``, so ``dy`` is returned
    as it is (one read of ``x`` instead of reading ``x`` and ``dy`` and writing the result)."""
    return tf.cond(
        _all_within(x, clip_value),
        lambda: tf.identity(dy),
        lambda: _clipped_gradient(x, dy, clip_value),
    )


def fused_ste_sign(
    x: tf.Tensor, clip_value: float | None = 1.0, latent_weights: bool = False
) -> tf.Tensor:
    """``lq.quantizers.ste_sign(x, clip_value)`` with each pass fused by XLA.

    ``latent_weights=True`` is for a kernel kept inside ``[-clip_value, clip_value]`` by a clip
    constraint: the gradient first checks whether every value is inside and then skips the
    mask. The values are the same either way.
    """
    gradient = _latent_weight_gradient if latent_weights else _clipped_gradient

    @tf.custom_gradient
    def _call(x):
        def grad(dy):
            if clip_value is None:
                return dy
            return gradient(x, dy, tf.constant(clip_value, x.dtype))

        return _sign(x), grad

    return _call(x)


class FusedSteSign(lq.quantizers.SteSign):
    """``SteSign`` computed by :func:`fused_ste_sign` (larq's ``ste_sign`` during export);
    ``latent_weights`` as there."""

    def __init__(self, *args, latent_weights: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.latent_weights = latent_weights

    def call(self, inputs):
        if save_context.in_save_context():
            return super().call(inputs)
        outputs = fused_ste_sign(
            inputs, clip_value=self.clip_value, latent_weights=self.latent_weights
        )
        return lq.quantizers._BaseQuantizer.call(self, outputs)


@tf.function(jit_compile=True)
def _clip(x: tf.Tensor, clip_value: tf.Tensor) -> tf.Tensor:
    return tf.clip_by_value(x, -clip_value, clip_value)


class FusedWeightClip(lq.constraints.WeightClip):
    """``WeightClip`` with ``clip_by_value``'s two passes (minimum, maximum) fused by XLA."""

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        x = tf.convert_to_tensor(x)
        return _clip(x, tf.constant(self.clip_value, x.dtype))


def fused_twin(quantizer, latent_weights: bool = False):
    """The fused twin of a larq ``SteSign`` (``latent_weights`` for kernels, see
    :func:`fused_ste_sign`) or ``WeightClip``; anything else unchanged."""
    if type(quantizer) in (lq.constraints.WeightClip, lq.constraints.weight_clip):
        return FusedWeightClip(quantizer.clip_value)
    if type(quantizer) is not lq.quantizers.SteSign:
        return quantizer
    return FusedSteSign(
        clip_value=quantizer.clip_value,
        metrics=quantizer._custom_metrics,
        name=quantizer.name,
        latent_weights=latent_weights,
    )
