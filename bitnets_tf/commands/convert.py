"""``bitnets-tf convert MODEL.keras -o OUT.tflite --target lce|int8|float``.

Converts, verifies the result against Keras in the matching interpreter, writes the file
atomically (nothing is written when anything fails) and prints the report. Exit status: 0 on
success, 1 when the conversion or its verification fails, 2 for bad arguments or files.

``.keras`` files load in Keras's safe mode. Legacy ``.h5`` files and SavedModel directories can
run code stored in the file while loading (Lambda layers), so they need ``--allow-unsafe``.
"""

from __future__ import annotations

import argparse
import json

from bitnets_tf._targets import TARGETS


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "convert",
        help="convert a .keras model to a verified .tflite (lce, int8 or float)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="the .keras model file (or .h5 / SavedModel, see below)")
    add_allow_unsafe_argument(parser)
    parser.add_argument("-o", "--output", required=True, help="the .tflite file to write")
    parser.add_argument("--target", default="lce", choices=TARGETS)
    parser.add_argument(
        "--representative-data",
        metavar="FILE.npy",
        help="int8 calibration inputs, shaped (samples, *input_shape); a few hundred real ones",
    )
    parser.add_argument(
        "--sample-inputs", metavar="FILE.npy", help="verification inputs (default: generated)"
    )
    parser.add_argument(
        "--input-shape", metavar="H,W,C", help="fix a dynamic input shape, e.g. 32,32,3"
    )
    parser.add_argument(
        "--metadata", metavar="JSON", help="metadata to embed: a JSON object or a .json file"
    )
    parser.add_argument("--no-verify", action="store_true", help="skip verification (unsafe)")
    parser.add_argument(
        "--full-integer",
        action="store_true",
        help="int8: quantize the float stem and head too (no float32 ops at all; signs of a "
        "residual stream then read int8-rounded values and are refused where rounding could "
        "flip them)",
    )
    parser.add_argument(
        "--approximate-int8",
        action="store_true",
        help="int8: compute signs of a residual stream from its int8-rounded values (smaller "
        "and faster, approximate; judged on end-to-end rates) instead of in float32",
    )
    parser.set_defaults(handler=run)


def add_allow_unsafe_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-unsafe",
        action="store_true",
        help="load .h5 files and SavedModel directories (and .keras files outside safe mode), "
        "which can run code stored in the file; only for files you trust",
    )


def _load_array(option: str, path: str | None):
    """The array in the .npy file ``path``, checked to be finite with at least one sample."""
    if path is None:
        return None
    import numpy as np

    from bitnets_tf._validation import check_samples

    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{option}: no such file {path!r}.") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"{option}: could not read {path!r} as a .npy array: {error}") from None
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{option}: {path!r} holds {array.dtype} values; expected numbers.")
    return check_samples(f"{option} {path}", [array.astype(np.float32)])[0]


def _metadata(text: str | None) -> dict | None:
    if text is None:
        return None
    if text.strip().startswith("{"):
        source, content = "--metadata", text
    else:
        try:
            with open(text, encoding="utf-8") as file:
                source, content = text, file.read()
        except OSError as error:
            raise ValueError(f"--metadata: {error}") from None
    try:
        value = json.loads(content)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f'{source} must be a JSON object, e.g. \'{{"labels": ["cat"]}}\'.')
    return value


def _shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--input-shape must be integers like 32,32,3, got {text!r}.") from None
    if any(d <= 0 for d in shape):
        raise ValueError(f"--input-shape must be positive, got {text!r}.")
    return shape


def run(args: argparse.Namespace) -> int:
    from bitnets_tf.converters import convert

    result = convert(
        args.model,
        args.output,
        target=args.target,
        verify=not args.no_verify,
        sample_inputs=_load_array("--sample-inputs", args.sample_inputs),
        representative_data=_load_array("--representative-data", args.representative_data),
        metadata=_metadata(args.metadata),
        input_shape=_shape(args.input_shape),
        float_head=not args.full_integer,
        float_stem=not args.full_integer,
        exact_int8=not args.approximate_int8,
        progress=lambda message: print(f"... {message}", flush=True),
        allow_unsafe=args.allow_unsafe,
    )
    print(result.report.to_text())
    return 0
