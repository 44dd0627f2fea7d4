r"""Parameters, binary and floating-point operations and memory of a Keras model, counted from
layer shapes only (a model built at 224×224 never has to run).

The convention of Bi-Real Net, ReActNet and Real-to-Binary (one multiply-add is one operation,
no factor 2):

.. math:: \mathrm{MACs}_{conv} = C_{in} \cdot C_{out} \cdot H_{out} \cdot W_{out} \cdot k_h k_w
          / \mathrm{groups}, \qquad \mathrm{MACs}_{dense} = C_{in} \cdot C_{out}

.. math:: \mathrm{OPs} = \mathrm{BOPs} / 64 + \mathrm{FLOPs}

- BOPs: MACs of layers whose input **and** kernel quantizers are both 1-bit (larq
  ``precision == 1``): the layers LCE runs as bitpacked XNOR-popcount.
- FLOPs: MACs of every other convolution and dense layer (real, binary-weight-only and
  ternary-weight layers alike; a ternary weight times a real activation is still a float MAC).
- Not counted, as in the papers: BatchNorm, (R)PReLU, biases, pooling, additions, sign.

Memory: every weight at 32 bits except quantized kernels, which take their quantizer's
``precision`` in bits (1 for binary, 2 for ternary) — larq's ``lq.models.summary`` convention,
BatchNorm moving statistics included. Parameters are ``model.count_params()`` (also including
the BatchNorm moving statistics, which PyTorch counts as buffers, not parameters).

Layers are found recursively through nested models; a layer is counted once per call in the
graph it was built in.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bitnets_tf.introspect import has_binary_inputs_and_kernel, leaf_layers, weight_bits

__all__ = ["count_operations", "layer_operations"]

_BINARY_OPS_PER_FLOP = 64


_CONVOLUTIONS = (
    tf.keras.layers.Conv1D,
    tf.keras.layers.Conv2D,
    tf.keras.layers.Conv3D,
    tf.keras.layers.DepthwiseConv1D,
    tf.keras.layers.DepthwiseConv2D,
)
_TRANSPOSED = (
    tf.keras.layers.Conv1DTranspose,
    tf.keras.layers.Conv2DTranspose,
    tf.keras.layers.Conv3DTranspose,
)
_DEPTHWISE = (tf.keras.layers.DepthwiseConv1D, tf.keras.layers.DepthwiseConv2D)
_SEPARABLE = (tf.keras.layers.SeparableConv1D, tf.keras.layers.SeparableConv2D)


def _conv_macs(layer, input_shape, output_shape) -> int:
    kernel = int(np.prod(layer.kernel_size))
    if isinstance(layer, _DEPTHWISE):  # every output channel sees one input channel
        return int(np.prod(output_shape[1:])) * kernel
    channels_last = layer.data_format == "channels_last"
    in_channels = input_shape[-1] if channels_last else input_shape[1]
    # A transposed convolution spreads each input position over the kernel.
    shape = input_shape if isinstance(layer, _TRANSPOSED) else output_shape
    spatial = int(np.prod(shape[1:-1] if channels_last else shape[2:]))
    return spatial * in_channels * layer.filters * kernel // layer.groups


def _node_macs(layer, input_shape, output_shape) -> int | None:
    if isinstance(layer, tf.keras.layers.Dense):
        return int(np.prod(output_shape[1:])) * input_shape[-1]
    if isinstance(layer, _CONVOLUTIONS):
        return _conv_macs(layer, input_shape, output_shape)
    return None


def layer_operations(layer: tf.keras.layers.Layer) -> tuple[int, int]:
    """``(binary MACs, float MACs)`` of one layer over all its calls; (0, 0) for layers the
    convention does not count.

    Raises:
        ValueError: a separable convolution (its two halves would need separate precisions).
    """
    if isinstance(layer, _SEPARABLE):
        raise ValueError(
            f"count_operations does not support separable convolutions ({layer.name!r}); build "
            "them as a depthwise convolution followed by a 1×1 convolution."
        )
    counts = [
        _node_macs(layer, node.input_shapes, node.output_shapes) for node in layer.inbound_nodes
    ]
    macs = sum(count for count in counts if count is not None)
    if has_binary_inputs_and_kernel(layer):
        return macs, 0
    return 0, macs


def count_operations(model: tf.keras.Model) -> dict[str, float]:
    """Count a built model's parameters, operations and memory (see the module docstring).

    Returns:
        ``{"params", "binary_params", "bops", "flops", "ops", "memory_bytes"}``: parameter
        count, 1-bit weights among them, binary MACs, float MACs, ``bops / 64 + flops`` and the
        model size in bytes with quantized kernels at their bit width.
    """
    bops = flops = 0
    for layer in leaf_layers(model):
        binary, floating = layer_operations(layer)
        bops += binary
        flops += floating
    sizes = [(int(np.prod(weight.shape)), weight_bits(weight)) for weight in model.weights]
    return {
        "params": sum(size for size, _ in sizes),
        "binary_params": sum(size for size, bits in sizes if bits == 1),
        "bops": bops,
        "flops": flops,
        "ops": bops / _BINARY_OPS_PER_FLOP + flops,
        "memory_bytes": sum(size * bits for size, bits in sizes) / 8,
    }
