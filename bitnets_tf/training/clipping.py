r"""Latent-weight clipping for binary kernels (BinaryNet, Courbariaux et al. 2016, Alg. 1).

Binary layers keep real-valued *latent* weights ``W`` and use ``sign(W)`` in the forward pass.
After every optimizer update the latent weights are clipped,

.. math:: W \leftarrow \mathrm{clip}(W, -c, c), \qquad c = 1,

because the straight-through estimator passes no gradient where ``|W| > 1`` (a latent weight
that leaves the interval could never flip back) and because the magnitude of ``W`` beyond 1
carries no information. larq implements the clip as the ``"weight_clip"`` constraint, applied
by every Keras optimizer right after the update; :func:`clip_latent_weights` adds it to a model
whose builder did not set it.

Paper: "Binarized Neural Networks: Training Deep Neural Networks with Weights and Activations
Constrained to +1 or -1", https://arxiv.org/abs/1602.02830
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from bitnets_tf._validation import check_positive
from bitnets_tf.introspect import binary_kernel_constraints
from bitnets_tf.training._clone import clone_with_layer_changes

__all__ = ["clip_latent_weights"]


def clip_latent_weights(model: tf.keras.Model, clip_value: float = 1.0) -> tf.keras.Model:
    """A copy of ``model`` (same weights) with ``weight_clip(clip_value)`` on every binary kernel.

    Binary kernels that already have a constraint keep it. Call before ``compile``.

    Raises:
        ValueError: ``clip_value <= 0``, or ``model`` is a subclassed model.
    """
    clip_value = check_positive("clip_value", clip_value)

    def add_clip(layer: tf.keras.layers.Layer) -> dict:
        return {
            constraint: lq.constraints.WeightClip(clip_value)
            for constraint in binary_kernel_constraints(layer)
            if getattr(layer, constraint, None) is None
        }

    return clone_with_layer_changes(model, add_clip)
