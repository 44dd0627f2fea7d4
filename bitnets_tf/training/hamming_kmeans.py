r"""k-means in Hamming space, to initialise binary filters from ±1 image patches.

For ±1 vectors p, c of length K the Hamming distance is :math:`d_H(p, c) = (K - p^\top c)/2`,
so the nearest centroid is the one with the largest inner product, and the centroid minimising
the summed Hamming distance to its members is their bitwise majority:
:math:`c_j = \mathrm{sign}\big(\sum_{p \in C_j} p\big)` (ties to +1). Lloyd's iterations with
these two steps decrease the total Hamming distance monotonically.

Background: "Learning Feature Representations with K-means" (Coates & Ng 2012), used here as in
the original bitnets reading list to give the first binary layer data-driven filters.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from bitnets_tf._validation import check_int_at_least

__all__ = ["hamming_kmeans", "sample_patches"]


def hamming_kmeans(
    patches: np.ndarray, clusters: int, iterations: int = 20, seed: int = 0
) -> np.ndarray:
    """Cluster ±1 ``patches`` (rows) into ``clusters`` ±1 centroids, shape (clusters, K).

    Seeded with k-means++ (each next centroid drawn with probability proportional to its
    squared Hamming distance from the nearest one chosen so far; Arthur & Vassilvitskii 2007).
    Deterministic for a given ``seed``. Empty clusters are re-seeded with the patch farthest
    from its centroid; with fewer patches than clusters the rest start as random ±1 vectors.
    """
    clusters = check_int_at_least("clusters", clusters, 1)
    check_int_at_least("iterations", iterations, 1)
    patches = np.asarray(patches, dtype=np.float32)
    if patches.ndim != 2 or not np.all(np.abs(patches) == 1):
        raise ValueError("`patches` must be a 2-D array of ±1 values (one patch per row).")
    rng = np.random.default_rng(seed)
    count, length = patches.shape
    chosen = _kmeans_plus_plus(patches, min(count, clusters), rng)
    extra = rng.choice([-1.0, 1.0], size=(clusters - len(chosen), length))
    centroids = np.concatenate([patches[chosen], extra]).astype(np.float32)
    assignment = np.full(count, -1)
    for _ in range(iterations):
        similarity = patches @ centroids.T
        new_assignment = similarity.argmax(axis=1)
        if np.array_equal(new_assignment, assignment):
            break
        assignment = new_assignment
        sums = np.zeros_like(centroids)
        np.add.at(sums, assignment, patches)
        members = np.bincount(assignment, minlength=clusters)
        centroids = np.where(sums >= 0, 1.0, -1.0).astype(np.float32)
        empty = np.flatnonzero(members == 0)
        if len(empty):
            farthest = np.argsort(similarity.max(axis=1))[: len(empty)]
            centroids[empty] = patches[farthest]
    return centroids


def _kmeans_plus_plus(patches: np.ndarray, clusters: int, rng: np.random.Generator) -> list[int]:
    length = patches.shape[1]
    chosen = [int(rng.integers(len(patches)))]
    nearest = (length - patches @ patches[chosen[0]]) / 2  # Hamming distance to the nearest
    for _ in range(clusters - 1):
        weights = nearest**2
        total = weights.sum()
        if total == 0:  # every patch equals a chosen centroid: pick any unchosen one
            index = int(rng.choice(np.setdiff1d(np.arange(len(patches)), chosen)))
        else:
            index = int(rng.choice(len(patches), p=weights / total))
        chosen.append(index)
        nearest = np.minimum(nearest, (length - patches @ patches[index]) / 2)
    return chosen


def sample_patches(
    to_patches: Callable[[tf.Tensor], tf.Tensor],
    dataset: tf.data.Dataset,
    count: int,
    seed: int = 0,
) -> np.ndarray:
    """Up to ``count`` patch rows drawn at random from the batches of ``dataset``, streamed.

    ``to_patches`` maps a batch of inputs to ±1 patch rows. At most ``count // 10 + 1`` rows are
    taken per batch, so the sample spans at least ten batches when the data allow; memory is
    bounded by ``count`` rows whatever the dataset size.
    """
    count = check_int_at_least("count", count, 1)
    rng = np.random.default_rng(seed)
    per_batch = count // 10 + 1
    collected: list[np.ndarray] = []
    total = 0
    for batch in dataset:
        rows = to_patches(batch[0]).numpy()
        take = min(per_batch, count - total, len(rows))
        collected.append(rows[rng.choice(len(rows), size=take, replace=False)])
        total += take
        if total >= count:
            break
    if not collected:
        raise ValueError("The dataset is empty: no patches to initialise the filters from.")
    return np.concatenate(collected)
