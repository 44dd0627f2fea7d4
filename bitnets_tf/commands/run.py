"""``bitnets-tf run MODEL.tflite --input IMAGE``: top-k classes of an image.

The image (PNG, JPEG, ...) is converted to the model's channels and size and normalised with
the mean/std stored in the model's metadata; every change is printed. ``lce`` models run in
larq-compute-engine's interpreter, the others in the stock TFLite interpreter.
"""

from __future__ import annotations

import argparse

from bitnets_tf.commands._deploy_args import add_runtime_arguments, float_list


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "run",
        help="classify an image with a .tflite model (top-k with label names)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="the .tflite file")
    parser.add_argument(
        "--input",
        required=True,
        help="image file (PNG, JPEG, ...); boot.png, if no such file exists, is the example "
        "image shipped with bitnets-tf (a Fashion-MNIST ankle boot)",
    )
    parser.add_argument("--top", type=int, default=5, help="how many classes to show")
    parser.add_argument(
        "--mean", type=float_list, default=None, help="override the normalisation mean, e.g. 127.5"
    )
    parser.add_argument(
        "--std", type=float_list, default=None, help="override the normalisation std, e.g. 127.5"
    )
    add_runtime_arguments(parser)
    parser.add_argument("--threads", type=int, default=1, help="interpreter threads")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from bitnets_tf.deploy.runner import classify

    result = classify(
        args.model,
        args.input,
        top=args.top,
        runtime=args.runtime,
        num_threads=args.threads,
        mean=args.mean,
        std=args.std,
    )
    for note in result.notes:
        print(f"note: {note}")
    width = max(len(p.label) for p in result.predictions)
    for rank, prediction in enumerate(result.predictions, 1):
        print(
            f"{rank}. {prediction.label:<{width}}  {100 * prediction.probability:6.2f} %  "
            f"(class {prediction.index}, score {prediction.score:.4g})"
        )
    print(f"latency: {result.latency_ms:.3f} ms ({result.runtime}, {args.threads} thread(s))")
    return 0
