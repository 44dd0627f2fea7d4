"""The ``strategy`` argument shared by the training recipes."""

from __future__ import annotations

import contextlib

import tensorflow as tf


def strategy_scope(strategy: tf.distribute.Strategy | None) -> contextlib.AbstractContextManager:
    """``strategy.scope()``, or a no-op context when ``strategy`` is None."""
    if strategy is None:
        return contextlib.nullcontext()
    if not isinstance(strategy, tf.distribute.Strategy):
        raise ValueError(
            f"`strategy` must be a tf.distribute.Strategy (e.g. tf.distribute.MirroredStrategy()) "
            f"or None, got {strategy!r}."
        )
    return strategy.scope()
