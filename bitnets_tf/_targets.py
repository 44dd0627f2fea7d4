"""The names of the conversion targets, shared by the converters, the deployment code and the
command line (which must not import each other)."""

TARGETS = ("lce", "int8", "float")
"""``lce``: larq-compute-engine's bitpacked operators; ``int8``: stock TFLite builtins with
exact binary and ternary layers; ``float``: stock float32 builtins, the reference."""
