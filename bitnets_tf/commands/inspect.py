"""``bitnets-tf inspect MODEL.tflite``: operators, tensors, sizes, the custom operators (and so
the runtime) it needs, and the metadata ``bitnets-tf convert --metadata`` embedded."""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter

_RUNTIMES = {"Lce": "larq-compute-engine runtime (LCE interpreter / lce_benchmark_model)"}


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "inspect",
        help="operators, tensors, sizes, custom ops and metadata of a .tflite file",
        description=__doc__,
    )
    parser.add_argument("model", help="the .tflite file")
    parser.set_defaults(handler=run)


def _io_lines(title: str, indices, tensors) -> list[str]:
    lines = []
    for index in indices:
        tensor = tensors[index]
        quantization = ""
        if tensor.scales:
            quantization = f" scale={tensor.scales[0]:.6g} zero_point={tensor.zero_points[0]}"
        lines.append(f"{title}: {tensor.name} {tensor.dtype}{list(tensor.shape)}{quantization}")
    return lines


def run(args: argparse.Namespace) -> int:
    from bitnets_tf.converters.report import format_table
    from bitnets_tf.tflite import flatbuffer
    from bitnets_tf.tflite.metadata import METADATA_NAME, read_metadata

    model = flatbuffer.load_flatbuffer(args.model)
    metadata = read_metadata(model)
    tensors = flatbuffer.tensors(model)
    constant_bytes = Counter()
    for tensor in tensors:
        constant_bytes[tensor.dtype] += tensor.constant_bytes
    print(f"file: {os.path.abspath(args.model)} ({os.path.getsize(args.model) / 1024:.1f} KB)")
    inputs, outputs = flatbuffer.io_tensors(model)
    for line in _io_lines("input", inputs, tensors) + _io_lines("output", outputs, tensors):
        print(line)
    print()
    print(format_table(["operator", "count"], list(flatbuffer.operator_counts(model).items())))
    print()
    custom = flatbuffer.custom_operators(model)
    runtimes = sorted(
        {r for prefix, r in _RUNTIMES.items() for op in custom if op.startswith(prefix)}
    )
    print("custom ops: " + (", ".join(custom) if custom else "none"))
    print("runtime: " + ("; ".join(runtimes) if runtimes else "any stock TFLite / LiteRT runtime"))
    weights = ", ".join(
        f"{dtype} {size / 1024:.1f} KB" for dtype, size in constant_bytes.most_common() if size
    )
    print(f"tensors: {len(tensors)}; constant data: {weights or 'none'}")
    print(f"metadata entries: {', '.join(flatbuffer.metadata_names(model)) or 'none'}")
    if metadata is not None:
        print(f"{METADATA_NAME} metadata:")
        print(json.dumps(metadata, indent=2, sort_keys=True))
    return 0
