"""Bi-Real Net 18 and 34 (Liu, Wu, Luo, Yang, Liu & Cheng, ECCV 2018), and the binary ResNet
body it shares with ReActNet's ResNet-18 variant.

Paper: "Bi-Real Net: Enhancing the Performance of 1-bit CNNs With Improved Representational
Capability and Advanced Training Algorithm", https://arxiv.org/abs/1808.00278 (official code:
liuzechun/Bi-Real-net, ``pytorch_implementation/BiReal18_34/birealnet.py``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from numbers import Integral

import tensorflow as tf

from bitnets_tf.zoo import arguments, blocks
from bitnets_tf.zoo.arguments import ModelInput

__all__ = ["BiRealNet", "binary_resnet_body"]

# Single-conv blocks per stage: Bi-Real-18/34 have one shortcut per binary 3×3 convolution,
# twice the basic blocks of ResNet-18/34 ([2, 2, 2, 2] and [3, 4, 6, 3]).
BLOCKS_PER_STAGE = {18: (4, 4, 4, 4), 34: (6, 8, 12, 6)}


def binary_resnet_body(
    inputs: ModelInput,
    depth: int,
    stem: str,
    quantization: blocks.Quantization,
    rprelu: bool,
    model_name: str,
) -> tf.Tensor:
    """ResNet stem (no ReLU) → the Bi-Real blocks of ``depth`` (with RPReLU when ``rprelu``)."""
    kind = arguments.choose_stem(stem, inputs)
    arguments.check_minimum_size(
        f"{model_name} with the {kind!r} stem",
        inputs,
        blocks.RESNET_TOTAL_STRIDE[kind],
        "its total stride",
    )
    x = blocks.resnet_stem(inputs.tensor, kind, activation=None)
    for name, filters, strides in blocks.resnet_plan(BLOCKS_PER_STAGE[depth]):
        x = blocks.binary_residual_block(x, filters, 3, strides, quantization, name, rprelu)
    return x


def check_depth(depth: object) -> int:
    if isinstance(depth, bool) or not isinstance(depth, Integral) or depth not in BLOCKS_PER_STAGE:
        raise ValueError(f"`depth` must be one of {sorted(BLOCKS_PER_STAGE)}, got {depth!r}.")
    return int(depth)


@arguments.with_common_arguments_doc
def BiRealNet(  # noqa: N802 (keras.applications naming)
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    include_top: bool = True,
    weights: str | os.PathLike | None = None,
    input_tensor: tf.Tensor | None = None,
    depth: int = 18,
    pooling: str | None = None,
    classifier_activation: str | Callable | None = None,
    stem: str = "auto",
    input_quantizer: object = "approx_sign",
    kernel_quantizer: object = "magnitude_aware_sign",
) -> tf.keras.Model:
    r"""Bi-Real Net: a real-valued shortcut around every binary 3×3 convolution.

    .. math:: y = \mathrm{BN}\big(\bar{\alpha}\,\mathrm{sign}(W) \circledast
              \mathrm{sign}(x)\big) + s(x)

    with ApproxSign's piecewise-quadratic gradient for the activations (``approx_sign``) and
    magnitude-aware weights ``mean|W|·sign(W)`` per output channel (``magnitude_aware_sign``).
    The shortcut ``s`` is the identity, or AvgPool 2×2/2 → real 1×1 conv → BN where a stage
    starts (16 binary convolutions for depth 18 in [4, 4, 4, 4] blocks, 32 for depth 34 in
    [6, 8, 12, 6]).

    Real-valued: the stem (7×7/2 conv → BN → 3×3/2 max-pool; 3×3/1 conv → BN for small inputs),
    the three 1×1 shortcut convolutions and the classifier (global average pool → dense). Binary
    convolutions pad with +1 (the paper pads the binarized input with 0).

    Args:
        depth: 18 or 34.
        stem: ``"auto"`` (``"cifar"`` below 112 pixels), ``"imagenet"`` or ``"cifar"``.
            Minimum input: the total stride, 32×32 (ImageNet stem) or 8×8 (CIFAR stem).
        input_quantizer: quantizer of the binary convolutions' inputs.
        kernel_quantizer: quantizer of the binary convolutions' weights (e.g. ``None`` for
            step 1 of two-step training).
    """
    depth = check_depth(depth)
    quantization = blocks.Quantization(input_quantizer, kernel_quantizer)
    name = f"birealnet{depth}"
    return arguments.build_model(
        name,
        functools.partial(
            binary_resnet_body,
            depth=depth,
            stem=stem,
            quantization=quantization,
            rprelu=False,
            model_name=f"BiRealNet-{depth}",
        ),
        blocks.pooled_classifier,
        input_shape=input_shape,
        input_tensor=input_tensor,
        include_top=include_top,
        num_classes=num_classes,
        pooling=pooling,
        classifier_activation=classifier_activation,
        weights=weights,
    )
