"""XNOR-Net and BWN AlexNet (Rastegari, Ordonez, Redmon & Farhadi, ECCV 2016).

Paper: "XNOR-Net: ImageNet Classification Using Binary Convolutional Neural Networks",
https://arxiv.org/abs/1603.05279 (official code: allenai/XNOR-Net, ``models/alexnetxnor.lua``
and ``alexnet.lua``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import tensorflow as tf

from bitnets_tf._validation import check_choice, check_int_at_least
from bitnets_tf.zoo import arguments, blocks
from bitnets_tf.zoo.arguments import ModelInput

__all__ = ["XNORNet"]

_VARIANTS = ("bwn", "xnor")
_STEM_FILTERS = 96
# (filters, kernel size, followed by a 3×3/2 max-pool): conv2 to conv5.
_CONVOLUTIONS = ((256, 5, True), (384, 3, False), (384, 3, False), (256, 3, True))
# Smallest input for which the three valid 3×3/2 max-pools still get 3×3 maps.
_MINIMUM_SIZE = {"imagenet": 63, "cifar": 7}


def _max_pool(x: tf.Tensor, name: str) -> tf.Tensor:
    return tf.keras.layers.MaxPool2D(3, 2, name=name)(x)


def _layer(
    x: tf.Tensor, variant: str, quantized_op: Callable[[tf.Tensor], tf.Tensor], name: str
) -> tf.Tensor:
    """XNOR-Net's block order BN → sign → binary op (the sign is the op's input quantizer),
    or BWN's ordinary order binary-weight op → BN → ReLU."""
    if variant == "xnor":
        return quantized_op(blocks.batch_norm(x, f"{name}_bn"))
    x = blocks.batch_norm(quantized_op(x), f"{name}_bn")
    return tf.keras.layers.ReLU(name=f"{name}_relu")(x)


def _dense(x: tf.Tensor, units: int, quantization: blocks.Quantization, name: str) -> tf.Tensor:
    """fc6/fc7; fc6 flattens the conv5 map first (after XNOR's per-channel BN, as the official
    6×6 convolution sees it)."""
    if x.shape.rank > 2:
        x = tf.keras.layers.Flatten(name="flatten")(x)
    return blocks.quant_dense(x, units, quantization, name)


def _body(
    inputs: ModelInput, variant: str, stem: str, quantization: blocks.Quantization
) -> tf.Tensor:
    kind = arguments.choose_stem(stem, inputs)
    arguments.check_minimum_size(
        f"XNORNet with the {kind!r} stem",
        inputs,
        _MINIMUM_SIZE[kind],
        "its three 3×3/2 max-pools need 3×3 inputs",
    )
    if kind == "imagenet":
        x = tf.keras.layers.ZeroPadding2D(2, name="conv1_pad")(inputs.tensor)
        x = blocks.conv_bn(x, _STEM_FILTERS, 11, 4, "conv1", "relu", padding="valid")
        x = _max_pool(x, "conv1_pool")
    else:
        x = blocks.conv_bn(inputs.tensor, _STEM_FILTERS, 3, 1, "conv1", "relu")
    for index, (filters, kernel_size, pool) in enumerate(_CONVOLUTIONS, start=2):
        name = f"conv{index}"
        conv = functools.partial(
            blocks.quant_conv,
            filters=filters,
            kernel_size=kernel_size,
            strides=1,
            quantization=quantization,
            name=name,
        )
        x = _layer(x, variant, conv, name)
        if pool:
            x = _max_pool(x, f"{name}_pool")
    return x


def _classifier(
    variant: str, hidden_units: int, quantization: blocks.Quantization
) -> Callable[[tf.Tensor, int], tf.Tensor]:
    def classifier(features: tf.Tensor, num_classes: int) -> tf.Tensor:
        x = features
        for name in ("fc6", "fc7"):
            dense = functools.partial(
                _dense, units=hidden_units, quantization=quantization, name=name
            )
            x = _layer(x, variant, dense, name)
        if variant == "xnor":
            x = blocks.batch_norm(x, "fc8_bn")
            x = tf.keras.layers.ReLU(name="fc8_relu")(x)
        return tf.keras.layers.Dense(num_classes, name="logits")(x)

    return classifier


@arguments.with_common_arguments_doc
def XNORNet(  # noqa: N802 (keras.applications naming)
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    include_top: bool = True,
    weights: str | os.PathLike | None = None,
    input_tensor: tf.Tensor | None = None,
    variant: str = "xnor",
    pooling: str | None = None,
    classifier_activation: str | Callable | None = None,
    stem: str = "auto",
    hidden_units: int = 4096,
    kernel_quantizer: object = "xnor_weight_scale",
) -> tf.keras.Model:
    r"""AlexNet with XNOR-Net (binary weights and activations) or BWN (binary weights) layers.

    Weights of conv2-conv5, fc6 and fc7 are ``α_c·sign(W)`` with ``α_c = mean|W|`` per output
    channel (``xnor_weight_scale``); conv1 and the classifier are real-valued, as in the
    official code.

    - ``variant="xnor"``: each binary layer is BN → sign → binary conv (→ 3×3/2 max-pool), the
      official order; binary layers become ``LceBconv2d``. The paper's activation scale K is not
      used (the official code does not implement it either, and LCE cannot fold it).
    - ``variant="bwn"``: real activations, binary-weight conv → BN → ReLU (→ max-pool); these
      convert to float ``CONV_2D`` with ±α weights (no bitpacked op: the activations are
      real).

    Layout: conv1 96@11×11/4 (pad 2) → BN → ReLU → max-pool; conv2 256@5×5; conv3, conv4
    384@3×3; conv5 256@3×3 (max-pool after conv2 and conv5, all 3×3/2 valid); fc6, fc7
    ``hidden_units`` (4096); [BN → ReLU]; fc8 to classes. The flattened conv5 map makes fc6's
    size depend on the input (6×6×256 at 224×224). Small inputs (``stem="cifar"``): conv1 is
    96@3×3/1 and its max-pool is dropped. Differences from the official code: no biases on the
    layers followed by BN, BN epsilon 1e-5 throughout, no dropout, no weight mean-centring,
    binary "same" convolutions pad with +1.

    Args:
        variant: ``"xnor"`` or ``"bwn"``.
        stem: ``"auto"`` (``"cifar"`` below 112 pixels), ``"imagenet"`` or ``"cifar"``.
            Minimum input: 63×63 with the ImageNet stem, 7×7 with the CIFAR stem.
        hidden_units: width of fc6 and fc7.
        kernel_quantizer: the binary layers' weight quantizer.
    """
    check_choice("variant", variant, _VARIANTS)
    hidden_units = check_int_at_least("hidden_units", hidden_units, 1)
    quantization = blocks.Quantization("ste_sign" if variant == "xnor" else None, kernel_quantizer)
    return arguments.build_model(
        f"xnornet_alexnet_{variant}",
        functools.partial(_body, variant=variant, stem=stem, quantization=quantization),
        _classifier(variant, hidden_units, quantization),
        input_shape=input_shape,
        input_tensor=input_tensor,
        include_top=include_top,
        num_classes=num_classes,
        pooling=pooling,
        classifier_activation=classifier_activation,
        weights=weights,
    )
