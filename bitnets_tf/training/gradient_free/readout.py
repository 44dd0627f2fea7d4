"""Readouts fitted on streamed ±1 features: the classifier on top of the binary blocks."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bitnets_tf._validation import check_positive

__all__ = ["fit_ridge_readout"]


_READOUT_ROWS_PER_UPDATE = 4096


def _row_chunks(features: tf.data.Dataset, num_classes: int, rows: int):
    """``(X̃, Y)`` for about ``rows`` examples at a time: flattened features with a column of
    ones appended, and ±1 one-hot targets."""
    xs, ys, count = [], [], 0
    for batch in features:
        x = tf.cast(tf.reshape(batch[0], [tf.shape(batch[0])[0], -1]), tf.float32)
        xs.append(tf.concat([x, tf.ones_like(x[:, :1])], axis=1))
        labels = tf.cast(tf.reshape(batch[1], [-1]), tf.int32)
        ys.append(2.0 * tf.one_hot(labels, num_classes) - 1.0)
        count += int(x.shape[0])
        if count >= rows:
            yield tf.concat(xs, 0), tf.concat(ys, 0)
            xs, ys, count = [], [], 0
    if xs:
        yield tf.concat(xs, 0), tf.concat(ys, 0)


def fit_ridge_readout(
    features: tf.data.Dataset, num_classes: int, l2: float = 100.0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Least-squares readout from streamed ±1 features, without gradients.

    Accumulates :math:`G = \tilde X^\top \tilde X` and :math:`B = \tilde X^\top Y` batch by
    batch (:math:`\tilde X = [X, 1]`, :math:`Y` = ±1 one-hot targets) and solves the ridge
    normal equations :math:`(G + \lambda I)\,[W; b] = B`. Memory is O(d²) for d features,
    independent of the number of examples; time is linear in it.

    Returns:
        ``(kernel, bias)`` of shapes (d, num_classes) and (num_classes,).
    """
    check_positive("l2", l2)
    gram = moments = None
    for x, y in _row_chunks(features, num_classes, _READOUT_ROWS_PER_UPDATE):
        # A chunk's sums of ±1 products are integers of at most the chunk's rows, exact in
        # float32; the running sums are float64, added in place once per chunk, so memory is
        # one float64 d×d matrix plus one float32 one (the Gram matrix dominates for wide
        # feature maps) and the d×d additions stay few.
        chunk_gram = tf.matmul(x, x, transpose_a=True).numpy()
        chunk_moments = tf.matmul(x, y, transpose_a=True).numpy()
        if gram is None:
            gram, moments = chunk_gram.astype(np.float64), chunk_moments.astype(np.float64)
        else:
            gram += chunk_gram
            moments += chunk_moments
    if gram is None:
        raise ValueError("The dataset is empty: nothing to fit the readout on.")
    diagonal = np.arange(gram.shape[0] - 1)  # the bias (last row and column) is not regularised
    gram[diagonal, diagonal] += l2
    solution = np.linalg.solve(gram, moments)
    return solution[:-1].astype("float32"), solution[-1].astype("float32")
