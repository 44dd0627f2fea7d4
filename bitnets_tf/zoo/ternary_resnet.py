"""ResNet-18 with ternary weights: TWN (Li, Zhang & Liu 2016) or TTQ (Zhu, Han, Mao & Dally,
ICLR 2017).

Papers: "Ternary Weight Networks", https://arxiv.org/abs/1605.04711; "Trained Ternary
Quantization", https://arxiv.org/abs/1612.01064 (official code: czhu95/ternarynet).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import tensorflow as tf

from bitnets_tf._validation import check_choice
from bitnets_tf.zoo import arguments, blocks
from bitnets_tf.zoo.arguments import ModelInput

__all__ = ["TernaryResNet18"]

_KERNEL_QUANTIZERS = {"twn": "twn_ternary", "ttq": "ttq"}
_BLOCKS_PER_STAGE = (2, 2, 2, 2)


def _basic_block(
    x: tf.Tensor, filters: int, strides: int, quantization: blocks.Quantization, name: str
) -> tf.Tensor:
    r"""ResNet's basic block (He et al. 2016) with ternary-weight convolutions:

    .. math:: y = \mathrm{ReLU}\big(\mathrm{BN}(W_2 * \mathrm{ReLU}(\mathrm{BN}(W_1 * x)))
              + s(x)\big)

    ``s`` is the identity or, where a stage starts, a ternary 1×1/2 convolution → BN
    (ResNet-18B's projection shortcut).
    """
    residual = x
    if strides != 1 or x.shape[-1] != filters:
        residual = blocks.quant_conv_bn(x, filters, 1, strides, quantization, f"{name}_shortcut")
    y = blocks.quant_conv_bn(x, filters, 3, strides, quantization, f"{name}_1")
    y = tf.keras.layers.ReLU(name=f"{name}_1_relu")(y)
    y = blocks.quant_conv_bn(y, filters, 3, 1, quantization, f"{name}_2")
    y = tf.keras.layers.Add(name=f"{name}_add")([y, residual])
    return tf.keras.layers.ReLU(name=f"{name}_relu")(y)


def _body(inputs: ModelInput, stem: str, quantization: blocks.Quantization) -> tf.Tensor:
    kind = arguments.choose_stem(stem, inputs)
    arguments.check_minimum_size(
        f"TernaryResNet18 with the {kind!r} stem",
        inputs,
        blocks.RESNET_TOTAL_STRIDE[kind],
        "its total stride",
    )
    x = blocks.resnet_stem(inputs.tensor, kind, activation="relu")
    for name, filters, strides in blocks.resnet_plan(_BLOCKS_PER_STAGE):
        x = _basic_block(x, filters, strides, quantization, name)
    return x


@arguments.with_common_arguments_doc
def TernaryResNet18(  # noqa: N802 (keras.applications naming)
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    include_top: bool = True,
    weights: str | os.PathLike | None = None,
    input_tensor: tf.Tensor | None = None,
    variant: str = "twn",
    pooling: str | None = None,
    classifier_activation: str | Callable | None = None,
    stem: str = "auto",
) -> tf.keras.Model:
    r"""ResNet-18 whose convolutions have ternary weights and real activations.

    - ``variant="twn"``: ``α·{-1, 0, +1}`` with ``Δ = 0.7·mean|W|`` (``twn_ternary``).
    - ``variant="ttq"``: ``{-W_n, 0, W_p}`` with ``Δ = 0.05·max|W|`` and two trained scales per
      layer (``ttq``).

    The first convolution (7×7/2 → BN → ReLU → 3×3/2 max-pool; 3×3/1 → BN → ReLU for small
    inputs) and the last dense layer stay full precision, as in TTQ ("we don't quantize the
    first and last layer"); everything else, including the 1×1 projection shortcuts, is
    ternary. Ternary layers convert to float ``CONV_2D`` with the ternary values (activations
    are real, so there is no bitpacked op); the weights take 2 bits each.

    Args:
        variant: ``"twn"`` or ``"ttq"``.
        stem: ``"auto"`` (``"cifar"`` below 112 pixels), ``"imagenet"`` or ``"cifar"``.
            Minimum input (the total stride): 32×32 (ImageNet stem) or 8×8 (CIFAR stem).
    """
    check_choice("variant", variant, _KERNEL_QUANTIZERS)
    quantization = blocks.Quantization(
        input_quantizer=None,
        kernel_quantizer=_KERNEL_QUANTIZERS[variant],
        kernel_constraint=None,
    )
    return arguments.build_model(
        f"ternary_resnet18_{variant}",
        functools.partial(_body, stem=stem, quantization=quantization),
        blocks.pooled_classifier,
        input_shape=input_shape,
        input_tensor=input_tensor,
        include_top=include_top,
        num_classes=num_classes,
        pooling=pooling,
        classifier_activation=classifier_activation,
        weights=weights,
    )
