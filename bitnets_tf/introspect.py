"""Which layers and weights of a Keras model are binary or ternary, and the layers that own them.

Precision follows larq's convention: a quantizer (and the ``QuantizedVariable`` it produces)
carries ``precision`` in bits, 1 for binary and 2 for ternary; anything without it is full
precision. Bop, the flip ratio, latent-weight clipping, the operation counts of the zoo and the
bitpackable export of ``QuantDense`` all ask the functions here, so they agree on what is binary.
"""

from __future__ import annotations

from collections.abc import Iterator

import tensorflow as tf

__all__ = [
    "QUANTIZED_KERNELS",
    "binary_kernel_constraints",
    "binary_weights",
    "has_binary_inputs_and_kernel",
    "is_binary",
    "is_binary_variable",
    "is_ternary",
    "leaf_layers",
    "precision",
    "weight_bits",
]

FULL_PRECISION_BITS = 32

# (quantizer attribute, constraint attribute) of larq's Quant* layers, one pair per kernel.
QUANTIZED_KERNELS = (
    ("kernel_quantizer", "kernel_constraint"),
    ("depthwise_quantizer", "depthwise_constraint"),
    ("pointwise_quantizer", "pointwise_constraint"),
)


def precision(quantized: object) -> int | None:
    """The bit width of a quantizer or ``QuantizedVariable`` (1 binary, 2 ternary), or None
    for anything full precision (no quantizer, a float variable, a custom callable)."""
    return getattr(quantized, "precision", None)


def is_binary(quantized: object) -> bool:
    """True for a quantizer or ``QuantizedVariable`` of ``precision == 1``."""
    return precision(quantized) == 1


def is_ternary(quantized: object) -> bool:
    """True for a quantizer or ``QuantizedVariable`` of ``precision == 2``."""
    return precision(quantized) == 2


def is_binary_variable(variable: tf.Variable) -> bool:
    """True for larq ``QuantizedVariable`` s whose quantizer has ``precision == 1``.

    The same test as ``lq.optimizers.Bop.is_binary_variable``, so the flip ratio, clipping and
    Bop all agree on which weights are binary.
    """
    return is_binary(variable)


def weight_bits(variable: tf.Variable) -> int:
    """Bits one element of ``variable`` takes: its quantizer's precision, else 32."""
    return precision(variable) or FULL_PRECISION_BITS


def has_binary_inputs_and_kernel(layer: tf.keras.layers.Layer) -> bool:
    """Whether ``layer`` quantizes both its input and its (or its depthwise) kernel to 1 bit:
    the layers larq-compute-engine runs as bitpacked XNOR-popcount."""
    kernel_quantizer = getattr(layer, "kernel_quantizer", None) or getattr(
        layer, "depthwise_quantizer", None
    )
    return is_binary(getattr(layer, "input_quantizer", None)) and is_binary(kernel_quantizer)


def leaf_layers(model: tf.keras.Model) -> Iterator[tf.keras.layers.Layer]:
    """Every layer of ``model`` that is not itself a model, nested models flattened in order."""
    for layer in model.layers:
        if isinstance(layer, tf.keras.Model):
            yield from leaf_layers(layer)
        else:
            yield layer


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
        if is_binary(getattr(layer, quantizer, None))
    ]
