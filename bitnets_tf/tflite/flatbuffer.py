"""Reading and annotating TFLite flatbuffers: operators, tensors and the metadata table.

A ``.tflite`` file is a FlatBuffer with the file identifier ``TFL3`` at bytes 4–8 (schema:
tensorflow/lite/schema/schema.fbs). Only the first subgraph is inspected, which is the whole
model for everything Keras and larq-compute-engine produce.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

_IDENTIFIER = b"TFL3"
_BUILTIN_NAMES = {
    code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")
}
_TYPE_NAMES = {
    code: name for name, code in vars(schema.TensorType).items() if not name.startswith("_")
}
_TYPE_BYTES = {"FLOAT32": 4, "INT32": 4, "INT64": 8, "INT16": 2, "INT8": 1, "UINT8": 1, "BOOL": 1}
_FUSED_ACTIVATIONS = {
    code: name
    for name, code in vars(schema.ActivationFunctionType).items()
    if not name.startswith("_")
}


def load_flatbuffer(source: bytes | bytearray | str | os.PathLike) -> bytes:
    """The flatbuffer bytes of ``source`` (bytes or a path to a ``.tflite`` file).

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the content is not a TFLite flatbuffer.
    """
    if isinstance(source, (bytes, bytearray)):
        flatbuffer, where = bytes(source), "the given bytes"
    else:
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No such .tflite file: {path!r}.")
        with open(path, "rb") as file:
            flatbuffer, where = file.read(), repr(path)
    if len(flatbuffer) < 8 or flatbuffer[4:8] != _IDENTIFIER:
        raise ValueError(
            f"{where} is not a TFLite flatbuffer (no 'TFL3' identifier): the file is corrupt, "
            "truncated or of another format. Re-run the conversion to produce it again."
        )
    try:
        problem = _structure_problem(flatbuffer)
    except Exception as error:  # flatbuffers raises struct/index/value errors on garbage
        problem = f"{type(error).__name__}: {error}"
    if problem is not None:
        raise ValueError(
            f"{where} is a corrupt TFLite flatbuffer ({problem}): the file is damaged or "
            "truncated. Re-run the conversion to produce it again."
        )
    return flatbuffer


def _structure_problem(flatbuffer: bytes) -> str | None:
    """What is wrong with the flatbuffer's structure, or None. Reads every table (a damaged
    offset raises) and checks every index an interpreter would follow."""
    flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    if model.SubgraphsLength() < 1:
        return "no subgraph"
    codes, buffers = model.OperatorCodesLength(), model.BuffersLength()
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        count = graph.TensorsLength()
        for i in range(count):
            if not 0 <= graph.Tensors(i).Buffer() < max(buffers, 1):
                return f"tensor {i} refers to a missing buffer"
        for i in range(graph.OperatorsLength()):
            operator = graph.Operators(i)
            if not 0 <= operator.OpcodeIndex() < codes:
                return f"operator {i} has an unknown operator code"
            code = model.OperatorCodes(operator.OpcodeIndex())
            if not code.CustomCode() and _builtin_code(code) not in _BUILTIN_NAMES:
                return f"operator {i} is an unknown builtin"
            used = [*_indices(operator.InputsAsNumpy()), *_indices(operator.OutputsAsNumpy())]
            if any(not -1 <= t < count for t in used):
                return f"operator {i} refers to a missing tensor"
        if any(
            not 0 <= t < count
            for t in (*_indices(graph.InputsAsNumpy()), *_indices(graph.OutputsAsNumpy()))
        ):
            return "a model input or output refers to a missing tensor"
    return None


def _indices(values) -> list[int]:
    return [] if isinstance(values, int) else [int(v) for v in values]


def _builtin_code(operator_code) -> int:
    # Codes above 127 live in BuiltinCode; older writers only fill DeprecatedBuiltinCode.
    return max(operator_code.BuiltinCode(), operator_code.DeprecatedBuiltinCode())


def _operator_name(model, operator) -> str:
    code = model.OperatorCodes(operator.OpcodeIndex())
    custom = code.CustomCode()
    return custom.decode() if custom else _BUILTIN_NAMES[_builtin_code(code)]


def operator_names(flatbuffer: bytes, subgraph: int = 0) -> list[str]:
    """Names of the operators of ``subgraph`` in execution order: builtin names such as
    ``CONV_2D`` and custom codes such as ``LceBconv2d``."""
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    graph = model.Subgraphs(subgraph)
    return [_operator_name(model, graph.Operators(i)) for i in range(graph.OperatorsLength())]


def operator_counts(flatbuffer: bytes) -> dict[str, int]:
    """How often each operator occurs, most frequent first."""
    return dict(Counter(operator_names(flatbuffer)).most_common())


def custom_operators(flatbuffer: bytes) -> list[str]:
    """The custom operators (e.g. larq-compute-engine's ``Lce*``) the model needs, sorted."""
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    names = {model.OperatorCodes(i).CustomCode() for i in range(model.OperatorCodesLength())}
    return sorted(name.decode() for name in names if name)


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of the first subgraph."""

    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    constant_bytes: int  # size of its constant data in the file (0 for activations)
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]


@dataclass(frozen=True)
class OperatorInfo:
    """One operator of the first subgraph: its name, tensor indices and fused activation."""

    index: int
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    fused_activation: str | None


def tensors(flatbuffer: bytes) -> list[TensorInfo]:
    """Every tensor of the first subgraph with its type, shape, constant size and
    quantization parameters."""
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    graph = model.Subgraphs(0)
    result = []
    for index in range(graph.TensorsLength()):
        tensor = graph.Tensors(index)
        buffer = model.Buffers(tensor.Buffer())
        quantization = tensor.Quantization()
        has_scales = quantization is not None and quantization.ScaleLength()
        scales = tuple(quantization.ScaleAsNumpy()) if has_scales else ()
        zero_points = (
            tuple(int(z) for z in quantization.ZeroPointAsNumpy())
            if quantization and quantization.ZeroPointLength()
            else ()
        )
        result.append(
            TensorInfo(
                index=index,
                name=tensor.Name().decode(errors="replace"),
                dtype=_TYPE_NAMES.get(tensor.Type(), str(tensor.Type())),
                shape=tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else (),
                constant_bytes=max(buffer.DataLength(), int(buffer.Size())) if buffer else 0,
                scales=tuple(float(s) for s in scales),
                zero_points=zero_points,
            )
        )
    return result


def _fused_activation(operator) -> str | None:
    options = operator.BuiltinOptions()
    if options is None:
        return None
    option_classes = {
        schema.BuiltinOptions.Conv2DOptions: schema.Conv2DOptions,
        schema.BuiltinOptions.DepthwiseConv2DOptions: schema.DepthwiseConv2DOptions,
        schema.BuiltinOptions.FullyConnectedOptions: schema.FullyConnectedOptions,
        schema.BuiltinOptions.AddOptions: schema.AddOptions,
        schema.BuiltinOptions.MulOptions: schema.MulOptions,
        schema.BuiltinOptions.SubOptions: schema.SubOptions,
    }
    option_class = option_classes.get(operator.BuiltinOptionsType())
    if option_class is None:
        return None
    parsed = option_class()
    parsed.Init(options.Bytes, options.Pos)
    return _FUSED_ACTIVATIONS.get(parsed.FusedActivationFunction())


def operators(flatbuffer: bytes) -> list[OperatorInfo]:
    """Every operator of the first subgraph in execution order."""
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    graph = model.Subgraphs(0)
    result = []
    for index in range(graph.OperatorsLength()):
        operator = graph.Operators(index)
        result.append(
            OperatorInfo(
                index=index,
                name=_operator_name(model, operator),
                inputs=tuple(int(i) for i in operator.InputsAsNumpy())
                if operator.InputsLength()
                else (),
                outputs=tuple(int(i) for i in operator.OutputsAsNumpy())
                if operator.OutputsLength()
                else (),
                fused_activation=_fused_activation(operator),
            )
        )
    return result


def io_tensors(flatbuffer: bytes) -> tuple[list[int], list[int]]:
    """Indices of the model's input and output tensors."""
    graph = schema.Model.GetRootAsModel(flatbuffer, 0).Subgraphs(0)
    return [int(i) for i in graph.InputsAsNumpy()], [int(i) for i in graph.OutputsAsNumpy()]


def write_metadata(flatbuffer: bytes, name: str, data: bytes) -> bytes:
    """``flatbuffer`` with ``data`` stored in its metadata table under ``name`` (an existing
    entry of that name is replaced). Interpreters ignore metadata they do not know."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    kept = []
    for entry in model.metadata or []:
        if _decode(entry.name) == name:
            model.buffers[entry.buffer].data = None  # the replaced entry's data
        else:
            kept.append(entry)
    model.metadata = kept
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(data, dtype=np.uint8).copy()
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def read_metadata_entry(flatbuffer: bytes, name: str) -> bytes | None:
    """The bytes stored under ``name`` in the metadata table, or None if there is none."""
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if _decode(entry.Name()) == name:
            return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None


def metadata_names(flatbuffer: bytes) -> list[str]:
    """Names of all metadata entries (TFLite itself adds e.g. ``min_runtime_version``)."""
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    return [_decode(model.Metadata(i).Name()) for i in range(model.MetadataLength())]


def _decode(name: bytes | str | None) -> str:
    if isinstance(name, bytes):
        return name.decode(errors="replace")
    return name or ""


def signature_io(flatbuffer: bytes) -> tuple[dict[str, int], dict[str, int]] | None:
    """From the first signature: input and output names mapped to their positions among the
    subgraph's inputs and outputs (the interpreter's order); None without a signature, or
    when the signature names tensors that are not the subgraph's inputs and outputs (a file
    whose outputs were edited)."""
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    if not model.SignatureDefsLength():
        return None
    signature = model.SignatureDefs(0)
    inputs, outputs = io_tensors(flatbuffer)

    def positions(count, entry, order) -> dict[str, int] | None:
        maps = [entry(i) for i in range(count)]
        if any(m.TensorIndex() not in order for m in maps):
            return None
        return {_decode(m.Name()): order.index(m.TensorIndex()) for m in maps}

    named_inputs = positions(signature.InputsLength(), signature.Inputs, inputs)
    named_outputs = positions(signature.OutputsLength(), signature.Outputs, outputs)
    if named_inputs is None or named_outputs is None:
        return None
    return named_inputs, named_outputs


# Keys of signatures traced from a concrete function with positional arguments (the int8
# target): "inputs_0", "inputs_1", ... and "output_0", ...
_POSITIONAL_KEYS = {"input": re.compile(r"inputs_(\d+)"), "output": re.compile(r"output_(\d+)")}


def keras_order(
    flatbuffer: bytes, input_names: Sequence[str], output_names: Sequence[str]
) -> tuple[list[int], list[int]]:
    """For each interpreter input and output (in the interpreter's order), the position of the
    Keras input or output it is, matched by the signature's names, not by position (the
    converters reorder them).

    Raises:
        ValueError: a model with several inputs or outputs whose signature does not name them.
    """
    inputs, outputs = io_tensors(flatbuffer)
    signature = signature_io(flatbuffer) or ({}, {})
    return (
        _order("input", len(inputs), list(input_names), signature[0]),
        _order("output", len(outputs), list(output_names), signature[1]),
    )


def _order(kind: str, count: int, names: list[str], by_name: dict[str, int]) -> list[int]:
    if not names or (count == 1 and len(names) <= 1):  # no names asked for: file order
        return list(range(count))
    result: list[int | None] = [None] * count
    for key, position in by_name.items():
        positional = _POSITIONAL_KEYS[kind].fullmatch(key)
        if key in names:
            result[position] = names.index(key)
        elif positional is not None:
            result[position] = int(positional.group(1))
    if sorted(i for i in result if i is not None) != list(range(len(names))) or None in result:
        raise ValueError(
            f"Cannot match the .tflite model's {count} {kind}s (signature names "
            f"{sorted(by_name)}) to the Keras model's {kind}s {names} by name."
        )
    return [int(i) for i in result]
