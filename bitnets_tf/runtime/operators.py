"""The ``Lce*`` operators of a ``.tflite`` file, each cut out into a one-operator model (its
constant inputs kept, its other inputs made model inputs), with its options and binary
multiply-accumulate count: for per-operator comparisons and benchmarks."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from flatbuffers import flexbuffers
from tensorflow.lite.tools import flatbuffer_utils


@dataclass(frozen=True)
class LceOperator:
    """One ``Lce*`` operator: its name, position in the graph, custom options, and a model with
    only this operator. ``binary_macs`` is set for ``LceBconv2d`` (output pixels × output
    channels × filter taps × input channels per group)."""

    name: str
    index: int
    options: dict
    flatbuffer: bytes
    binary_macs: int | None


def lce_operators(flatbuffer: bytes) -> list[LceOperator]:
    """Every ``Lce*`` operator of the model (first subgraph), in graph order."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    graph = model.subgraphs[0]

    def constant(i: int) -> bool:
        data = model.buffers[graph.tensors[i].buffer].data
        return data is not None and len(data) > 0

    result = []
    for index, operator in enumerate(graph.operators):
        code = model.operatorCodes[operator.opcodeIndex]
        name = code.customCode.decode() if code.customCode else ""
        if not name.startswith("Lce"):
            continue
        raw = operator.customOptions
        options = flexbuffers.Loads(bytes(raw)) if raw is not None and len(raw) else {}
        single = copy.deepcopy(model)
        subgraph = single.subgraphs[0]
        subgraph.operators = [copy.deepcopy(operator)]
        subgraph.inputs = [i for i in operator.inputs if i >= 0 and not constant(i)]
        subgraph.outputs = list(operator.outputs)
        single.signatureDefs = []
        macs = None
        if name == "LceBconv2d":
            out_shape = graph.tensors[operator.outputs[0]].shape
            filter_shape = graph.tensors[operator.inputs[1]].shape
            in_words = graph.tensors[operator.inputs[0]].shape[3]
            groups = max(int(in_words) // int(filter_shape[3]), 1)
            channels = int(options["channels_in"]) // groups
            pixels = int(out_shape[0]) * int(out_shape[1]) * int(out_shape[2])
            macs = pixels * int(filter_shape[0]) * int(filter_shape[1] * filter_shape[2]) * channels
        result.append(
            LceOperator(
                name,
                index,
                options,
                bytes(flatbuffer_utils.convert_object_to_bytearray(single)),
                macs,
            )
        )
    return result
