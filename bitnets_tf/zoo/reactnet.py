"""ReActNet-A (MobileNetV1-based) and ReActNet's ResNet-18 variant (Liu, Shen, Savvides &
Cheng, ECCV 2020).

Paper: "ReActNet: Towards Precise Binary Neural Network with Generalized Activation
Functions", https://arxiv.org/abs/2003.03488 (official code: liuzechun/ReActNet,
``mobilenet/2_step2/reactnet.py`` and ``resnet/2_step2/birealnet.py``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import tensorflow as tf

from bitnets_tf import layers
from bitnets_tf._validation import check_choice
from bitnets_tf.zoo import arguments, blocks
from bitnets_tf.zoo.arguments import ModelInput
from bitnets_tf.zoo.birealnet import binary_resnet_body

__all__ = ["ReActNet"]

_VARIANTS = ("A", "resnet18")
_STEM_FILTERS = 32
# ReActNet-A's 13 blocks (MobileNetV1's, with the 3×3 depthwise conv made a full binary conv):
# (output channels, stride of the 3×3 conv); the stem has 32 channels.
_BLOCKS_A = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    *((512, 1),) * 5,
    (1024, 2),
    (1024, 1),
)
# Total stride (stem × the four stride-2 blocks), the minimum input.
_MINIMUM_SIZE_A = {"imagenet": 32, "cifar": 16}


def _block_a(
    x: tf.Tensor, filters: int, strides: int, quantization: blocks.Quantization, name: str
) -> tf.Tensor:
    r"""ReActNet-A's block (official ``BasicBlock``):

    .. math:: x_1 = \mathrm{RPReLU}\big(\mathrm{BN}(W_{3\times3} \circledast
              \mathrm{RSign}(x)) + \mathrm{AvgPool}(x)\big)

    .. math:: y = \mathrm{RPReLU}\big(\mathrm{BN}(W_{1\times1} \circledast
              \mathrm{RSign}(x_1)) + x_1\big)

    When the channels double, the 1×1 stage is two binary 1×1 convolutions, each added to
    ``x_1`` and concatenated (the "duplication" of the paper's Fig. 4; each has its own RSign
    threshold, as in the figure). The AvgPool is there only with stride 2.
    """
    channels = x.shape[-1]
    x = blocks.binary_residual_block(
        x, channels, 3, strides, quantization, f"{name}_3x3", rprelu=True
    )
    if filters == channels:
        return blocks.binary_residual_block(
            x, filters, 1, 1, quantization, f"{name}_1x1", rprelu=True
        )
    halves = [
        blocks.binary_residual_block(
            x, channels, 1, 1, quantization, f"{name}_1x1_{half}", rprelu=False
        )
        for half in (1, 2)
    ]
    x = tf.keras.layers.Concatenate(name=f"{name}_1x1_concat")(halves)
    return layers.RPReLU(name=f"{name}_1x1_rprelu")(x)


def _body_a(inputs: ModelInput, stem: str, quantization: blocks.Quantization) -> tf.Tensor:
    kind = arguments.choose_stem(stem, inputs)
    arguments.check_minimum_size(
        f"ReActNet-A with the {kind!r} stem", inputs, _MINIMUM_SIZE_A[kind], "its total stride"
    )
    stem_strides = 2 if kind == "imagenet" else 1
    x = blocks.conv_bn(inputs.tensor, _STEM_FILTERS, 3, stem_strides, "stem")
    for index, (filters, strides) in enumerate(_BLOCKS_A, start=1):
        x = _block_a(x, filters, strides, quantization, f"block{index}")
    return x


@arguments.with_common_arguments_doc
def ReActNet(  # noqa: N802 (keras.applications naming)
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    include_top: bool = True,
    weights: str | os.PathLike | None = None,
    input_tensor: tf.Tensor | None = None,
    variant: str = "A",
    pooling: str | None = None,
    classifier_activation: str | Callable | None = None,
    stem: str = "auto",
    input_quantizer: object = "rsign",
    kernel_quantizer: object = "magnitude_aware_sign",
) -> tf.keras.Model:
    r"""ReActNet: Bi-Real-style shortcuts around every binary convolution, RSign
    (``sign(x - α_c)``, learnable per-channel threshold) in front of each one and RPReLU
    (``PReLU(x - γ_c) + ζ_c``) after each addition; magnitude-aware binary weights
    ``mean|W|·sign(W)`` per output channel.

    - ``variant="A"``: MobileNetV1 with each 3×3 depthwise convolution replaced by a full binary
      3×3 convolution (no binary depthwise convolution: LCE cannot bitpack them). Real-valued
      stem 32@3×3/2 → BN (stride 1 for small inputs); 13 blocks
      (see :func:`_block_a`) with a parameter-free AvgPool shortcut where they downsample;
      global average pool → dense. 4.82e9 BOPs, 1.19e7 FLOPs at 224×224.
    - ``variant="resnet18"``: Bi-Real-18's layout and shortcuts (AvgPool → real 1×1 conv → BN
      where a stage starts) with RSign and RPReLU ("ReActNet (Bi-Real based)" in the official
      README).

    Every binary convolution becomes ``LceBconv2d``; RSign converts to a SUB before it and
    RPReLU to SUB → PRELU → ADD. Binary convolutions pad with +1 (the paper pads with 0).
    The paper trains in two steps (step 1 with ``kernel_quantizer=None``) with a distillation
    loss; see ``bitnets_tf.training``.

    Args:
        variant: ``"A"`` or ``"resnet18"``.
        stem: ``"auto"`` (``"cifar"`` below 112 pixels), ``"imagenet"`` or ``"cifar"``.
            Minimum input (the total stride): ReActNet-A 32×32 / 16×16, ResNet-18 32×32 / 8×8
            with the ImageNet / CIFAR stem.
        input_quantizer: quantizer of the binary convolutions' inputs.
        kernel_quantizer: quantizer of the binary convolutions' weights.
    """
    check_choice("variant", variant, _VARIANTS)
    quantization = blocks.Quantization(input_quantizer, kernel_quantizer)
    if variant == "A":
        body = functools.partial(_body_a, stem=stem, quantization=quantization)
    else:
        body = functools.partial(
            binary_resnet_body,
            depth=18,
            stem=stem,
            quantization=quantization,
            rprelu=True,
            model_name="ReActNet-ResNet18",
        )
    return arguments.build_model(
        "reactnet_a" if variant == "A" else "reactnet_resnet18",
        body,
        blocks.pooled_classifier,
        input_shape=input_shape,
        input_tensor=input_tensor,
        include_top=include_top,
        num_classes=num_classes,
        pooling=pooling,
        classifier_activation=classifier_activation,
        weights=weights,
    )
