"""``bitnets-tf data``: dataset metadata, and importing local IDX files for tensorflow-datasets.

bitnets-tf data info NAME
bitnets-tf data import NAME DIR [--data-dir OUT]
"""

from __future__ import annotations

import argparse

SHOWN_LABELS = 10


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("data", help="dataset metadata and offline import")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    info = actions.add_parser("info", help="classes, input shape and normalisation of NAME")
    info.add_argument("name", metavar="NAME", help="e.g. mnist, fashion_mnist, cifar10")
    info.set_defaults(handler=run_info)

    imports = actions.add_parser(
        "import",
        help="store local IDX files as a tensorflow-datasets dataset",
        description=(
            "Store the four IDX files of NAME (mnist or fashion_mnist) found in DIR (directly "
            "or in a sub-folder named like the dataset; gzipped or not) as a prepared "
            "tensorflow-datasets copy, so that tfds.load(NAME, data_dir=OUT) and "
            "bitnets_tf.data.load(NAME, ..., data_dir=OUT) work without network."
        ),
    )
    imports.add_argument("name", metavar="NAME", help="mnist or fashion_mnist")
    imports.add_argument("source_dir", metavar="DIR", help="directory with the IDX files")
    imports.add_argument(
        "--data-dir",
        metavar="OUT",
        default=None,
        help="tensorflow-datasets data directory to write (default: $TFDS_DATA_DIR or "
        "~/tensorflow_datasets)",
    )
    imports.set_defaults(handler=run_import)


def run_info(args: argparse.Namespace) -> int:
    from bitnets_tf import data

    meta = data.info(args.name)
    labels = ", ".join(meta.label_names[:SHOWN_LABELS])
    if len(meta.label_names) > SHOWN_LABELS:
        labels += ", ..."
    print(f"name           {meta.name}")
    print(f"classes        {meta.num_classes} ({labels})")
    print(f"input shape    {meta.input_shape}")
    splits = ", ".join(meta.splits)
    print(f"splits         {splits} (train: {meta.train_split}, eval: {meta.eval_split})")
    print(f"normalisation  (pixel - mean) / std, mean={meta.mean}, std={meta.std}")
    print(f"preprocessing  {meta.preprocessing}")
    print(f"augmentation   {meta.augmentation}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from bitnets_tf import data

    written = data.import_idx(args.name, args.source_dir, args.data_dir)
    print(f"prepared {args.name} in {written}")
    return 0
