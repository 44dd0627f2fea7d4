"""Building blocks shared by the zoo's families: quantized conv/dense layers, real stems and
projections, the Bi-Real / ReActNet residual block and its downsampling shortcut, the ResNet
stage plan and the pooled classifier.

Every binary convolution here is deployable by construction: a ``QuantConv2D`` whose input and
kernel quantizers are both 1-bit (larq-compute-engine turns it into ``LceBconv2d``), "same"
padding filled with +1 (``pad_values=1.0``, which LCE runs without a float correction and which
lets a producing bconv write bitpacked output) and never depthwise. Binary dense layers are
:class:`bitnets_tf.layers.QuantDense`, which exports as a 1×1 bconv.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from bitnets_tf import layers

__all__ = [
    "RESNET_TOTAL_STRIDE",
    "RESNET_WIDTHS",
    "Quantization",
    "batch_norm",
    "binary_residual_block",
    "conv_bn",
    "pooled_classifier",
    "quant_conv",
    "quant_conv_bn",
    "quant_dense",
    "resnet_plan",
    "resnet_stem",
    "shortcut",
]

RESNET_WIDTHS = (64, 128, 256, 512)
# Total stride of resnet_stem + resnet_plan: the zoo's minimum input for ResNet bodies (the last
# stage must see at least one real pixel).
RESNET_TOTAL_STRIDE = {"imagenet": 32, "cifar": 8}
_BN_MOMENTUM = 0.9  # PyTorch's momentum=0.1, which the papers' code uses


def _per_layer(quantizer):
    """A quantizer argument each layer resolves into its own instance: a Quantizer object
    (a layer, possibly with weights such as RSign's alpha) is passed as its config."""
    if isinstance(quantizer, tf.keras.layers.Layer):
        return tf.keras.utils.serialize_keras_object(quantizer)
    return quantizer


@dataclass(frozen=True)
class Quantization:
    """How a family quantizes its binary (or ternary) layers.

    Args:
        input_quantizer: quantizer of the layer input (None: real-valued activations).
        kernel_quantizer: quantizer of the kernel (None: real-valued weights, as in step 1 of
            two-step training).
        kernel_constraint: applied to quantized kernels only ("weight_clip" keeps latent binary
            weights in [-1, 1], where the STE gradient is non-zero).
    """

    input_quantizer: object = "ste_sign"
    kernel_quantizer: object = "ste_sign"
    kernel_constraint: object = "weight_clip"

    @property
    def quantizes_input(self) -> bool:
        return self.input_quantizer is not None

    def layer_arguments(self) -> dict:
        return {
            "input_quantizer": _per_layer(self.input_quantizer),
            "kernel_quantizer": _per_layer(self.kernel_quantizer),
            "kernel_constraint": (
                None if self.kernel_quantizer is None else self.kernel_constraint
            ),
            "use_bias": False,
        }


def batch_norm(x: tf.Tensor, name: str, epsilon: float = 1e-5) -> tf.Tensor:
    """BatchNormalization with the papers' (PyTorch) momentum 0.1, i.e. Keras momentum 0.9."""
    return tf.keras.layers.BatchNormalization(momentum=_BN_MOMENTUM, epsilon=epsilon, name=name)(x)


def conv_bn(
    x: tf.Tensor,
    filters: int,
    kernel_size: int,
    strides: int,
    name: str,
    activation: str | None = None,
    padding: str = "same",
) -> tf.Tensor:
    """Real-valued ``Conv2D`` (no bias) → BN → optional activation: stems and projections."""
    x = tf.keras.layers.Conv2D(
        filters, kernel_size, strides, padding=padding, use_bias=False, name=f"{name}_conv"
    )(x)
    x = batch_norm(x, f"{name}_bn")
    if activation is not None:
        x = tf.keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def quant_conv(
    x: tf.Tensor,
    filters: int,
    kernel_size: int,
    strides: int,
    quantization: Quantization,
    name: str,
) -> tf.Tensor:
    """``QuantConv2D`` without bias; "same" padding, filled with +1 when the input is quantized
    (the papers pad the binarized input with 0; +1 is what LCE runs fastest, and larq's QuickNet
    trains with it). 1×1 convolutions need no padding and use "valid"."""
    padding = "same" if kernel_size > 1 else "valid"
    pad_values = 1.0 if padding == "same" and quantization.quantizes_input else 0.0
    return layers.QuantConv2D(
        filters,
        kernel_size,
        strides,
        padding=padding,
        pad_values=pad_values,
        name=name,
        **quantization.layer_arguments(),
    )(x)


def quant_conv_bn(
    x: tf.Tensor,
    filters: int,
    kernel_size: int,
    strides: int,
    quantization: Quantization,
    name: str,
) -> tf.Tensor:
    """:func:`quant_conv` → BN (which LCE folds into the bconv's output multiplier/bias)."""
    x = quant_conv(x, filters, kernel_size, strides, quantization, f"{name}_conv")
    return batch_norm(x, f"{name}_bn")


def quant_dense(x: tf.Tensor, units: int, quantization: Quantization, name: str) -> tf.Tensor:
    """:class:`bitnets_tf.layers.QuantDense` without bias (exported as a 1×1 bconv when
    binary)."""
    return layers.QuantDense(units, name=name, **quantization.layer_arguments())(x)


def shortcut(x: tf.Tensor, filters: int, strides: int, name: str) -> tf.Tensor:
    r"""Bi-Real's real-valued shortcut (Liu et al. 2018, Fig. 3; ReActNet keeps it).

    Identity when shape is kept; otherwise ``AvgPool(2, strides)`` (parameter-free, ReActNet-A's
    whole shortcut) and, when the channels change, a real 1×1 convolution + BN:

    .. math:: s(x) = \mathrm{BN}(W_{1\times1} * \mathrm{AvgPool}_{2\times2}(x))
    """
    channels = x.shape[-1]
    if strides != 1:
        x = tf.keras.layers.AveragePooling2D(2, strides, padding="same", name=f"{name}_pool")(x)
    if channels != filters:
        x = conv_bn(x, filters, 1, 1, f"{name}_proj")
    return x


def binary_residual_block(
    x: tf.Tensor,
    filters: int,
    kernel_size: int,
    strides: int,
    quantization: Quantization,
    name: str,
    rprelu: bool,
) -> tf.Tensor:
    r"""Bi-Real Net's block, a real-valued shortcut around every binary convolution
    (Liu et al. 2018, eq. 1), with ReActNet's RPReLU after the addition when ``rprelu``:

    .. math:: y = \mathrm{BN}\big(W_b \circledast q(x)\big) + s(x), \qquad
              y \leftarrow \mathrm{RPReLU}(y)

    where ``q`` is the family's sign (ApproxSign for Bi-Real, RSign for ReActNet) and ``s`` the
    :func:`shortcut`.

    Papers: "Bi-Real Net: Enhancing the Performance of 1-bit CNNs With Improved
    Representational Capability and Advanced Training Algorithm",
    https://arxiv.org/abs/1808.00278; "ReActNet", https://arxiv.org/abs/2003.03488
    """
    residual = shortcut(x, filters, strides, f"{name}_shortcut")
    y = quant_conv_bn(x, filters, kernel_size, strides, quantization, name)
    y = tf.keras.layers.Add(name=f"{name}_add")([y, residual])
    if rprelu:
        y = layers.RPReLU(name=f"{name}_rprelu")(y)
    return y


def resnet_stem(x: tf.Tensor, kind: str, activation: str | None) -> tf.Tensor:
    """The ResNet stem (real-valued; He et al. 2016).

    - ``"imagenet"``: 7×7/2 conv, 64 channels → BN → [activation] → 3×3/2 max-pool (stride 4).
    - ``"cifar"``: 3×3/1 conv, 64 channels → BN → [activation], no max-pool (stride 1), as the
      CIFAR ResNets of the binary-network literature (e.g. IR-Net) do.
    """
    if kind == "cifar":
        return conv_bn(x, RESNET_WIDTHS[0], 3, 1, "stem", activation)
    x = conv_bn(x, RESNET_WIDTHS[0], 7, 2, "stem", activation)
    return tf.keras.layers.MaxPool2D(3, 2, padding="same", name="stem_pool")(x)


def resnet_plan(blocks_per_stage: tuple[int, ...]) -> list[tuple[str, int, int]]:
    """``(name, filters, strides)`` of each block of a 4-stage ResNet: widths 64/128/256/512,
    stride 2 in the first block of stages 2-4 (total stride 8 after the stem)."""
    return [
        (f"stage{stage + 1}_block{block + 1}", width, 2 if block == 0 and stage > 0 else 1)
        for stage, (width, blocks) in enumerate(zip(RESNET_WIDTHS, blocks_per_stage, strict=True))
        for block in range(blocks)
    ]


def pooled_classifier(features: tf.Tensor, num_classes: int) -> tf.Tensor:
    """Global average pooling → real-valued ``Dense`` with bias, the logits."""
    x = tf.keras.layers.GlobalAveragePooling2D(name="avg_pool")(features)
    return tf.keras.layers.Dense(num_classes, name="logits")(x)
