"""BinaryNet (Courbariaux, Hubara et al. 2016): the MNIST MLP and the CIFAR-10 ConvNet.

Paper: "Binarized Neural Networks: Training Deep Neural Networks with Weights and Activations
Constrained to +1 or -1", https://arxiv.org/abs/1602.02830 (official code:
MatthieuCourbariaux/BinaryNet, ``Train-time/mnist.py`` and ``cifar10.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable

import tensorflow as tf

from bitnets_tf._validation import check_choice, check_int_at_least
from bitnets_tf.zoo import arguments, blocks
from bitnets_tf.zoo.arguments import ModelInput

__all__ = ["BinaryNet"]

_VARIANTS = ("cnn", "mlp")
_DEFAULT_INPUT_SHAPES = {"mlp": (28, 28, 1), "cnn": (32, 32, 3)}
_DEFAULT_HIDDEN_UNITS = {"mlp": 4096, "cnn": 1024}
_MLP_HIDDEN_LAYERS = 3
_MLP_DROPOUT = (0.2, 0.5)  # on the input, after each hidden layer (the paper's MNIST MLP)
_CNN_STAGES = ((128, "stage1"), (256, "stage2"), (512, "stage3"))
_CNN_MINIMUM_SIZE = 8  # three 2×2 max-pools
_EPSILON = 1e-4  # the official code's BN epsilon (momentum 0.1 there, 0.9 in Keras terms)


def _binary_dense_bn(
    x: tf.Tensor, units: int, quantization: blocks.Quantization, name: str
) -> tf.Tensor:
    x = blocks.quant_dense(x, units, quantization, f"{name}_dense")
    return blocks.batch_norm(x, f"{name}_bn", epsilon=_EPSILON)


def _mlp_body(
    inputs: ModelInput, hidden_units: int, quantization: blocks.Quantization
) -> tf.Tensor:
    x = tf.keras.layers.Flatten(name="flatten")(inputs.tensor)
    x = tf.keras.layers.Dropout(_MLP_DROPOUT[0], name="input_dropout")(x)
    # The first layer sees the real-valued pixels: binary weights, real input.
    first = dataclasses.replace(quantization, input_quantizer=None)
    for index in range(_MLP_HIDDEN_LAYERS):
        layer_quantization = first if index == 0 else quantization
        x = _binary_dense_bn(x, hidden_units, layer_quantization, f"hidden{index + 1}")
        x = tf.keras.layers.Dropout(_MLP_DROPOUT[1], name=f"hidden{index + 1}_dropout")(x)
    return x


def _cnn_body(inputs: ModelInput, quantization: blocks.Quantization) -> tf.Tensor:
    arguments.check_minimum_size(
        "BinaryNet (cnn)", inputs, _CNN_MINIMUM_SIZE, "it has three 2×2 max-pools"
    )
    x = inputs.tensor
    # The first layer sees the real-valued pixels: binary weights, real input.
    first = dataclasses.replace(quantization, input_quantizer=None)
    for filters, stage in _CNN_STAGES:
        for index in (1, 2):
            layer_quantization = first if stage == "stage1" and index == 1 else quantization
            name = f"{stage}_conv{index}"
            x = blocks.quant_conv(x, filters, 3, 1, layer_quantization, name)
            if index == 2:
                x = tf.keras.layers.MaxPool2D(2, name=f"{stage}_pool")(x)
            x = blocks.batch_norm(x, f"{name}_bn", epsilon=_EPSILON)
    return x


def _classifier(
    hidden_layers: int, hidden_units: int, quantization: blocks.Quantization
) -> Callable[[tf.Tensor, int], tf.Tensor]:
    def classifier(features: tf.Tensor, num_classes: int) -> tf.Tensor:
        x = features
        if features.shape.rank > 2:
            x = tf.keras.layers.Flatten(name="flatten")(features)
        for index in range(hidden_layers):
            x = _binary_dense_bn(x, hidden_units, quantization, f"fc{index + 1}")
        return _binary_dense_bn(x, num_classes, quantization, "logits")

    return classifier


@arguments.with_common_arguments_doc
def BinaryNet(  # noqa: N802 (keras.applications naming)
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    include_top: bool = True,
    weights: str | os.PathLike | None = None,
    input_tensor: tf.Tensor | None = None,
    variant: str = "cnn",
    pooling: str | None = None,
    classifier_activation: str | Callable | None = None,
    hidden_units: int | None = None,
    input_quantizer: object = "ste_sign",
    kernel_quantizer: object = "ste_sign",
) -> tf.keras.Model:
    r"""BinaryNet: every weight binary, every hidden activation ``sign`` (STE gradient
    ``1{|x| <= 1}``); BN after every layer, including the last (its output is the logits).

    - ``variant="mlp"`` (MNIST, default input 28×28×1): flatten → dropout 0.2 →
      3 × [binary dense(``hidden_units``, default 4096) → BN → dropout 0.5] → binary
      dense(classes) → BN. 36.8M parameters at the default size.
    - ``variant="cnn"`` (CIFAR-10, default input 32×32×3):
      2×128C3 → MP2 → 2×256C3 → MP2 → 2×512C3 → MP2 → 2×``hidden_units`` (default 1024) FC →
      classes FC, each conv/FC followed by (pool and) BN. Needs inputs of at least 8×8. The
      flattened features grow with the input (at 224×224: 401,408 of them, 417M parameters),
      so use it for small images.

    The first layer has binary weights but sees the real image (binarizing the image would lose
    it); every other layer has binary inputs and weights and converts to ``LceBconv2d``. Same
    convolutions pad the binarized input with +1 (the paper pads with 0). Biases are left out:
    each layer is followed by BN. ``num_classes`` defaults to 10. The paper trains with the
    squared hinge loss; the default logits work with any loss.

    Args:
        variant: ``"cnn"`` or ``"mlp"``.
        hidden_units: width of the hidden dense layers (None: 4096 for mlp, 1024 for cnn).
        input_quantizer: quantizer of the binary layers' inputs.
        kernel_quantizer: quantizer of the binary layers' weights.
    """
    check_choice("variant", variant, _VARIANTS)
    if hidden_units is None:
        hidden_units = _DEFAULT_HIDDEN_UNITS[variant]
    hidden_units = check_int_at_least("hidden_units", hidden_units, 1)
    quantization = blocks.Quantization(input_quantizer, kernel_quantizer)
    if variant == "mlp":
        body = functools.partial(_mlp_body, hidden_units=hidden_units, quantization=quantization)
        classifier = _classifier(0, hidden_units, quantization)
    else:
        body = functools.partial(_cnn_body, quantization=quantization)
        classifier = _classifier(2, hidden_units, quantization)
    return arguments.build_model(
        f"binarynet_{variant}",
        body,
        classifier,
        input_shape=input_shape,
        input_tensor=input_tensor,
        include_top=include_top,
        num_classes=num_classes,
        pooling=pooling,
        classifier_activation=classifier_activation,
        weights=weights,
        default_input_shape=_DEFAULT_INPUT_SHAPES[variant],
        default_num_classes=10,
    )
