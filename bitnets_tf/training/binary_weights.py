"""Finding the binary (1-bit) weights of a Keras model and the layers that own them."""

from __future__ import annotations

from collections.abc import Iterator

import tensorflow as tf

# (quantizer attribute, constraint attribute) of larq's Quant* layers, one pair per kernel.
QUANTIZED_KERNELS = (
    ("kernel_quantizer", "kernel_constraint"),
    ("depthwise_quantizer", "depthwise_constraint"),
    ("pointwise_quantizer", "pointwise_constraint"),
)


def leaf_layers(model: tf.keras.Model) -> Iterator[tf.keras.layers.Layer]:
    """Every layer of ``model`` that is not itself a model, nested models flattened in order."""
    for layer in model.layers:
        if isinstance(layer, tf.keras.Model):
            yield from leaf_layers(layer)
        else:
            yield layer


def is_binary_variable(variable: tf.Variable) -> bool:
    """True for larq ``QuantizedVariable`` s whose quantizer has ``precision == 1``.

    The same test as ``lq.optimizers.Bop.is_binary_variable``, so the flip ratio, clipping and
    Bop all agree on which weights are binary.
    """
    return getattr(variable, "precision", None) == 1


def binary_weights(model: tf.keras.Model) -> list[tf.Variable]:
    """The latent (real-valued, stored) variables behind every binary weight of ``model``."""
    return [
        getattr(variable, "latent_variable", variable)
        for variable in model.weights
        if is_binary_variable(variable)
    ]


def binary_kernel_constraints(layer: tf.keras.layers.Layer) -> list[str]:
    """Names of the constraint arguments of ``layer`` whose kernels are quantized to 1 bit."""
    return [
        constraint
        for quantizer, constraint in QUANTIZED_KERNELS
        if getattr(getattr(layer, quantizer, None), "precision", None) == 1
    ]
