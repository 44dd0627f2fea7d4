"""Passes over a dataset whose randomness depends only on the seed and a per-pass key.

:func:`bitnets_tf.data.load` builds one pass (shuffle, augmentation, batching) as a function
of a key tensor, and :func:`passes` says which keys the dataset iterates over:

- without ``epochs``: one pass per iteration, keyed by a number tf.data draws afresh (and
  reproducibly, from the seed) each time the dataset is iterated, so ``model.fit`` reshuffles
  every epoch;
- with ``epochs``: the passes of epochs ``first_epoch .. epochs - 1`` back to back, keyed by
  the epoch number itself, for ``model.fit(..., steps_per_epoch=...)``. Epoch ``k``'s order
  and augmentation are then the same in every process, so a run resumed at epoch ``k`` sees
  exactly the data an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

_MIX = 1_000_003  # combines seed and key into one int64 seed for stateful tf.data ops


def resolve_seed(seed: int | None) -> int:
    """``seed``, or one derived from TensorFlow's global seed (``set_random_seed``) the way
    tf.data's own ops derive theirs; random when no global seed is set."""
    if seed is not None:
        return int(seed)
    global_seed, op_seed = tf.compat.v1.get_seed(None)
    if op_seed is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    return (int(global_seed) * _MIX + int(op_seed)) % 2**31


def passes(seed: int, first_epoch: int, epochs: int | None) -> tf.data.Dataset:
    """The keys of the passes (module docstring)."""
    if epochs is None:
        return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return tf.data.Dataset.range(first_epoch, epochs)


def seed_pair(seed: int, key: tf.Tensor) -> tf.Tensor:
    """The stateless seed of a pass (for ``tf.random.experimental.stateless_*``)."""
    return tf.stack([tf.constant(seed, tf.int64), tf.cast(key, tf.int64)])


def mixed_seed(seed: int, key: tf.Tensor) -> tf.Tensor:
    """One int64 seed of a pass (for ``Dataset.shuffle``)."""
    return tf.constant(seed, tf.int64) * _MIX + tf.cast(key, tf.int64)


def element_seeds(seed: int, key: tf.Tensor) -> tf.data.Dataset:
    """Endless stateless seed pairs ``[seed·M + key, i]`` for the ``i``-th element of a pass
    (zip it with the pass's elements)."""
    return tf.data.Dataset.counter(dtype=tf.int64).map(
        lambda i: tf.stack([mixed_seed(seed, key), i])
    )


@dataclass(frozen=True)
class PassSource:
    """A dataset source: ``examples(key)`` is one pass over its ``count`` unbatched examples
    (shuffled as a function of the key, when the source shuffles)."""

    examples: Callable[[tf.Tensor], tf.data.Dataset]
    count: int
