"""``bitnets-tf audit MODEL.keras``: per layer, its precision, the TFLite op each target makes
of it, whether LCE bitpacks it (and why not), and the estimated size — without converting."""

from __future__ import annotations

import argparse

from bitnets_tf.commands.convert import add_allow_unsafe_argument


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "audit",
        help="per-layer precision, TFLite op per target, bitpacked or not and why",
        description=__doc__,
    )
    parser.add_argument("model", help="the .keras model file (.h5 / SavedModel: --allow-unsafe)")
    add_allow_unsafe_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from bitnets_tf.converters import audit_model
    from bitnets_tf.converters.files import load_keras_model
    from bitnets_tf.converters.quiet import captured_output

    with captured_output():
        audit = audit_model(load_keras_model(args.model, allow_unsafe=args.allow_unsafe))
    print(audit.table())
    print()
    if audit.binary_macs:
        share = audit.bitpacked_macs / audit.binary_macs
        print(f"binary MACs: {audit.binary_macs:,}; bitpacked with lce: {share:.1%}")
    else:
        print("no binary layers (binary activations and binary weights)")
    sizes = ", ".join(
        f"{t} {audit.estimated_size(t) / 1024:.1f} KB" for t in ("lce", "int8", "float")
    )
    print(f"estimated weights: {sizes}")
    for row in audit.not_bitpacked:
        print(f"NOT bitpacked: {row.name}: {row.note}")
    return 0
