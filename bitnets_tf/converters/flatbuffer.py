"""Reading TFLite flatbuffers: operator names, in execution order."""

from __future__ import annotations

from tensorflow.lite.python import schema_py_generated as schema

_BUILTIN_NAMES = {
    code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")
}


def _builtin_code(operator_code) -> int:
    # Codes above 127 live in BuiltinCode; older writers only fill DeprecatedBuiltinCode.
    return max(operator_code.BuiltinCode(), operator_code.DeprecatedBuiltinCode())


def operator_names(flatbuffer: bytes, subgraph: int = 0) -> list[str]:
    """Names of the operators of ``subgraph`` in execution order: builtin names such as
    ``CONV_2D`` and custom codes such as ``LceBconv2d``."""
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    graph = model.Subgraphs(subgraph)
    names = []
    for index in range(graph.OperatorsLength()):
        code = model.OperatorCodes(graph.Operators(index).OpcodeIndex())
        custom = code.CustomCode()
        names.append(custom.decode() if custom else _BUILTIN_NAMES[_builtin_code(code)])
    return names
