"""Per-layer audit: precision, the TFLite op each target makes of it, bitpacked or not (and
why), and an estimated size — before converting anything.

The LCE predictions encode larq-compute-engine 0.16's measured behaviour: binary convolutions
(sign activations, ±1 weights with an optional per-channel scale) become ``LceBconv2d``; binary
dense layers do too once rewritten as 1×1 convolutions; binary depthwise convolutions, XNOR-Net
activation scaling, ternary or float weights and non-sign activation quantizers stay float.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from bitnets_tf import layers as our_layers
from bitnets_tf.converters.graph import LayerGraph, Node, inline_nested_models
from bitnets_tf.converters.int8_plan import Int8Plan, plan_int8, quantizer_layer_staircase
from bitnets_tf.converters.report import format_table
from bitnets_tf.converters.rewrite import lce_bconv_count, planned_rewrites
from bitnets_tf.converters.semantics import LinearLayer, padding_value

_FLOAT_OPS = {"conv": "CONV_2D", "dense": "FULLY_CONNECTED", "depthwise": "DEPTHWISE_CONV_2D"}
_LAYER_OPS = {
    "Flatten": "RESHAPE",
    "Reshape": "RESHAPE",
    "GlobalAveragePooling2D": "MEAN",
    "AveragePooling2D": "AVERAGE_POOL_2D",
    "MaxPooling2D": "MAX_POOL_2D",
    "Add": "ADD",
    "Subtract": "SUB",
    "Multiply": "MUL",
    "Concatenate": "CONCATENATION",
    "ReLU": "RELU",
    "PReLU": "PRELU",
    "RPReLU": "SUB, PRELU, ADD",
    "Softmax": "SOFTMAX",
    "ZeroPadding2D": "PAD",
    "Dropout": "(removed)",
    "BatchNormalization": "MUL, ADD",
}
_ACTIVATION_OPS = {"relu": "RELU", "softmax": "SOFTMAX", "linear": "(removed)", "relu6": "RELU6"}
_LCE_WORD_BITS = 32


@dataclass(frozen=True)
class LayerAudit:
    """One row of the audit."""

    name: str
    layer_type: str
    precision: str
    macs: int
    binary: bool  # binary activations and binary weights
    ops: dict[str, str]  # target -> predicted TFLite op(s)
    bitpacked: bool | None  # LCE; None for layers without quantizers
    bconvs: int  # LceBconv2d ops it becomes
    note: str
    size_bytes: dict[str, int]  # target -> estimated bytes of its constants


@dataclass(frozen=True)
class ModelAudit:
    """The audit of a whole model."""

    layers: list[LayerAudit]

    @property
    def binary_macs(self) -> int:
        return sum(row.macs for row in self.layers if row.binary)

    @property
    def bitpacked_macs(self) -> int:
        return sum(row.macs for row in self.layers if row.binary and row.bitpacked)

    @property
    def expected_bconvs(self) -> int:
        """How many ``LceBconv2d`` the LCE conversion must contain."""
        return sum(row.bconvs for row in self.layers if row.bitpacked)

    @property
    def not_bitpacked(self) -> list[LayerAudit]:
        return [row for row in self.layers if row.bitpacked is False]

    def estimated_size(self, target: str) -> int:
        return sum(row.size_bytes[target] for row in self.layers)

    def table(self) -> str:
        header = [
            "layer",
            "type",
            "precision",
            "MACs",
            "lce op",
            "bitpacked",
            "int8 op",
            "float op",
            "KB lce/int8/float",
            "note",
        ]
        rows = []
        for row in self.layers:
            bitpacked = {True: "yes", False: "NO", None: "-"}[row.bitpacked]
            sizes = "/".join(f"{row.size_bytes[t] / 1024:.1f}" for t in ("lce", "int8", "float"))
            rows.append(
                [
                    row.name,
                    row.layer_type,
                    row.precision,
                    f"{row.macs:,}",
                    row.ops["lce"],
                    bitpacked,
                    row.ops["int8"],
                    row.ops["float"],
                    sizes,
                    row.note,
                ]
            )
        return format_table(header, rows)


def _bitpacking(linear: LinearLayer, rewrite: str | None) -> tuple[str, bool | None, str]:
    """(LCE op, bitpacked, reason) for a convolution/dense layer."""
    float_op = _FLOAT_OPS[linear.kind]
    staircase = linear.input_staircase
    binary_input = staircase is not None and staircase.name == "binary"
    if binary_input and linear.kernel.kind == "binary":
        if linear.kind == "depthwise":
            return (
                f"LceQuantize, LceDequantize, {float_op}",
                False,
                ("LCE has no binary depthwise kernel"),
            )
        if linear.activation_scaling:
            return float_op, False, "XNOR activation scaling K cannot be fused by LCE"
        if (getattr(linear.layer, "groups", 1) or 1) != 1:
            return float_op, False, "grouped binary convolution is not bitpacked"
        fan_in = linear.kernel.kernel.shape[-2]
        notes = []
        if rewrite:
            notes.append(f"rewritten: {rewrite}")
        same = str(getattr(linear.layer, "padding", "")).lower() == "same"
        if same and linear.kind == "conv" and not padding_value(linear.layer):
            notes.append(
                "zero padding: cannot write bitpacked output for a next binary "
                "layer (pad_values=1.0 can)"
            )
        if fan_in % _LCE_WORD_BITS:
            unused = 1 - fan_in / (_LCE_WORD_BITS * -(-fan_in // _LCE_WORD_BITS))
            notes.append(f"{fan_in} input channels: {unused:.0%} of packed bits unused")
        return "LceBconv2d", True, "; ".join(notes)
    if binary_input:
        reason = f"{linear.kernel.kind} weights: LCE bitpacks ±1 weights only"
        return f"LceQuantize, LceDequantize, {float_op}", False, reason
    if staircase is not None:
        return (
            f"compare ops, {float_op}",
            False,
            ("ternary activations: no ternary kernel in LCE (run as float ops)"),
        )
    if linear.input_quantizer != "-":
        return float_op, False, f"input quantizer {linear.input_quantizer} is not a sign"
    if linear.kernel.kind != "float":
        return float_op, False, f"float input ({linear.kernel.kind} weights): a float op"
    return float_op, None, ""


def _linear_sizes(linear: LinearLayer, bitpacked: bool, plan: Int8Plan, name: str) -> dict:
    kernel = linear.kernel.kernel
    outputs = kernel.shape[-1] if linear.kind != "depthwise" else int(np.prod(kernel.shape[2:]))
    weights = int(np.prod(kernel.shape))
    float_bytes = 4 * (weights + outputs)
    input_planes = plan.reads_planes[name].staircase.levels - 1 if name in plan.reads_planes else 1
    output_planes = plan.emits[name].staircase.levels - 1 if name in plan.emits else 1
    int8_bytes = weights * input_planes * output_planes + 8 * outputs * output_planes
    if bitpacked:
        words = -(-kernel.shape[-2] // _LCE_WORD_BITS)
        lce_bytes = 4 * words * weights // kernel.shape[-2] + 12 * outputs
    else:
        lce_bytes = float_bytes
    return {"lce": lce_bytes, "int8": int8_bytes, "float": float_bytes}


def _other_layer(node: Node, graph: LayerGraph, binary_consumers: set[str]) -> tuple[str, str]:
    """(float op, LCE op) for a layer that is not a convolution/dense layer."""
    layer = node.layer
    name = type(layer).__name__
    if quantizer_layer_staircase(layer) is not None:
        return "SIGN-like float ops", "LceQuantize (fused into the next binary layer)"
    if name == "BatchNormalization":
        producer = graph.producer.get(node.inputs[0])
        if producer is not None and hasattr(producer.layer, "kernel"):
            return "(folded into the previous layer)", "(folded into the previous layer)"
    if name == "Activation":
        activation = layer.get_config()["activation"]  # a name, or a dict for a function
        op = _ACTIVATION_OPS.get(activation, "TF ops") if isinstance(activation, str) else "TF ops"
        return op, op
    op = _LAYER_OPS.get(name, f"TF ops of {name}")
    if name == "MaxPooling2D" and node.outputs[0] in binary_consumers:
        return op, "LceBMaxPool2d"
    return op, op


def audit_model(model: tf.keras.Model) -> ModelAudit:
    """Audit ``model`` (functional or Sequential) for all three targets.

    Raises:
        ValueError: see :func:`bitnets_tf.converters.graph.inline_nested_models`.
    """
    model = inline_nested_models(model)  # nested blocks' layers are audited one by one
    plan = plan_int8(model)
    graph = plan.graph
    rewritten = {r.layer: r.change for r in planned_rewrites(model) if "convolution" in r.change}
    binary_consumers = {
        node.inputs[0]
        for node in graph.nodes
        if node.name in plan.linear and plan.linear[node.name].is_binary
    }
    rows = []
    for node in graph.nodes:
        linear = plan.linear.get(node.name)
        int8_op = plan.notes.get(node.name) or "int8 (post-training quantization)"
        if linear is not None:
            lce_op, bitpacked, note = _bitpacking(linear, rewritten.get(node.name))
            exports_as_conv = linear.is_binary and isinstance(node.layer, our_layers.QuantDense)
            float_op = "CONV_2D" if exports_as_conv else _FLOAT_OPS[linear.kind]
            rows.append(
                LayerAudit(
                    name=node.name,
                    layer_type=type(node.layer).__name__,
                    precision=linear.precision,
                    macs=linear.macs,
                    binary=linear.is_binary,
                    ops={"lce": lce_op, "int8": int8_op, "float": float_op},
                    bitpacked=bitpacked,
                    bconvs=lce_bconv_count(node.layer) if bitpacked else 0,
                    note=note,
                    size_bytes=_linear_sizes(linear, bool(bitpacked), plan, node.name),
                )
            )
            continue
        float_op, lce_op = _other_layer(node, graph, binary_consumers)
        weights = sum(int(np.prod(w.shape)) for w in node.layer.weights)
        folded = "folded" in float_op
        rows.append(
            LayerAudit(
                name=node.name,
                layer_type=type(node.layer).__name__,
                precision="float" if weights else "-",
                macs=0,
                binary=False,
                ops={"lce": lce_op, "int8": int8_op, "float": float_op},
                bitpacked=None,
                bconvs=0,
                note="",
                size_bytes={t: 0 if folded else 4 * weights for t in ("lce", "int8", "float")},
            )
        )
    return ModelAudit(rows)
