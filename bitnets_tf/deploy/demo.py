"""``bitnets-tf demo`` lives in :mod:`bitnets_tf.demo` (an application on top of training,
the converters and deploy); its names stay importable from here, loaded on first use so that
importing :mod:`bitnets_tf.deploy` never loads training or the converters."""

from __future__ import annotations

import importlib

_MOVED = ("DemoConfig", "demo_model", "run_demo")


def __getattr__(name: str):
    if name in _MOVED:
        return getattr(importlib.import_module("bitnets_tf.demo"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
