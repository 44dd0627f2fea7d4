"""Subcommands of the ``bitnets-tf`` CLI: one module each, with ``register(subparsers)``."""
