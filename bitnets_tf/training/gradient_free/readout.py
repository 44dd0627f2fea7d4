r"""Readouts fitted on streamed ±1 features: the classifier on top of the binary blocks.

A readout is a linear map :math:`z = x^\top W + b` from the d signs of the last block's
(pooled, flattened) output to one score per class. Two ways to fit it from a ``tf.data``
stream of ``(features, labels)`` batches, neither holding more than one batch of examples:

- :class:`StreamingReadout` (:func:`fit_streaming_readout`): minibatch Adam on the softmax
  cross-entropy (or the squared error to ±1 one-hot targets), the learning rate decaying to 0
  along a cosine over ``epochs`` passes. Memory is O(d · classes): the weights and two Adam
  moments.
- :class:`RidgeReadout` (:func:`fit_ridge_readout`): the exact ridge solution from the
  accumulated :math:`X^\top X` in one pass. Memory is O(d²) — float64 — which dominates for
  wide feature maps (d = 18,432 is 2.7 GB per copy).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import tensorflow as tf

from bitnets_tf._validation import (
    check_choice,
    check_int_at_least,
    check_optional_positive,
    check_positive,
)

__all__ = [
    "READOUT_LOSSES",
    "Readout",
    "RidgeReadout",
    "StreamingReadout",
    "fit_ridge_readout",
    "fit_streaming_readout",
]

READOUT_LOSSES = ("crossentropy", "squared")


def _flat_batches(features: tf.data.Dataset):
    """``(x, labels)`` per batch: features flattened to (batch, d) float32, int32 labels."""
    for batch in features:
        x = tf.cast(tf.reshape(batch[0], [tf.shape(batch[0])[0], -1]), tf.float32)
        labels = tf.cast(tf.reshape(batch[1], [-1]), tf.int32)
        yield x, labels


def _signed_one_hot(labels: tf.Tensor, num_classes: int) -> tf.Tensor:
    return 2.0 * tf.one_hot(labels, num_classes) - 1.0


def fit_streaming_readout(
    features: tf.data.Dataset,
    num_classes: int,
    epochs: int = 3,
    learning_rate: float | None = None,
    loss: str = "crossentropy",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Linear readout fitted by minibatch Adam over ``epochs`` passes of streamed features.

    Starts from zero weights; each batch takes one Adam step on the mean loss of the batch
    (``"crossentropy"``: softmax cross-entropy; ``"squared"``: :math:`\lVert z - (2e_y - 1)
    \rVert^2`, the least-squares objective of :func:`fit_ridge_readout` without the ridge
    term), with the learning rate following a cosine from ``learning_rate`` to 0 over all
    steps. Deterministic for a deterministic stream. Memory: the (d, num_classes) weights,
    two Adam moments of that size and one batch; time: ``epochs`` passes over the stream.

    Args:
        features: batched ``(x, labels)`` with ``x`` of any shape (batch, ...), flattened to
            d values (the ±1 features); its number of batches must be known
            (``tf.data.experimental.assert_cardinality``).
        num_classes: classes (>= 2).
        epochs: passes over ``features``.
        learning_rate: Adam's initial learning rate; None takes ``4 / d``. For ±1 features a
            step moves a score by up to ``learning_rate · d``, so that product is what matters.
        loss: ``"crossentropy"`` or ``"squared"``.

    Returns:
        ``(kernel, bias)`` of shapes (d, num_classes) and (num_classes,).
    """
    num_classes = check_int_at_least("num_classes", num_classes, 2)
    epochs = check_int_at_least("epochs", epochs, 1)
    learning_rate = check_optional_positive("learning_rate", learning_rate)
    loss = check_choice("loss", loss, READOUT_LOSSES)
    batches = int(features.cardinality())
    if batches < 0:
        raise ValueError(
            "The readout needs the number of batches of `features` for its learning-rate "
            "schedule; give it with "
            "`dataset.apply(tf.data.experimental.assert_cardinality(batches))`."
        )
    if batches == 0:
        raise ValueError("The dataset is empty: nothing to fit the readout on.")
    width = int(np.prod(features.element_spec[0].shape[1:]))
    learning_rate = 4.0 / width if learning_rate is None else learning_rate
    kernel = tf.Variable(tf.zeros([width, num_classes]))
    bias = tf.Variable(tf.zeros([num_classes]))
    schedule = tf.keras.optimizers.schedules.CosineDecay(learning_rate, epochs * batches)
    optimizer = tf.keras.optimizers.Adam(schedule)

    @tf.function(reduce_retracing=True)
    def step(x: tf.Tensor, labels: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            scores = tf.matmul(x, kernel) + bias
            if loss == "crossentropy":
                losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, scores)
            else:
                errors = scores - _signed_one_hot(labels, num_classes)
                losses = tf.reduce_sum(tf.square(errors), axis=1)
            mean = tf.reduce_mean(losses)
        gradients = tape.gradient(mean, [kernel, bias])
        optimizer.apply_gradients(zip(gradients, [kernel, bias], strict=True))

    for _ in range(epochs):
        for x, labels in _flat_batches(features):
            step(x, labels)
    return kernel.numpy(), bias.numpy()


_READOUT_ROWS_PER_UPDATE = 4096


def _row_chunks(features: tf.data.Dataset, num_classes: int, rows: int):
    """``(X̃, Y)`` for about ``rows`` examples at a time: flattened features with a column of
    ones appended, and ±1 one-hot targets."""
    xs, ys, count = [], [], 0
    for x, labels in _flat_batches(features):
        xs.append(tf.concat([x, tf.ones_like(x[:, :1])], axis=1))
        ys.append(_signed_one_hot(labels, num_classes))
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


class Readout(Protocol):
    """Fits a linear readout: ``fit(features, num_classes) -> (kernel, bias)``."""

    def fit(self, features: tf.data.Dataset, num_classes: int) -> tuple[np.ndarray, np.ndarray]: ...


class StreamingReadout:
    """A readout for :func:`~bitnets_tf.training.gradient_free.train_gradient_free`, fitted by
    :func:`fit_streaming_readout` (memory linear in the feature width); same arguments."""

    def __init__(
        self, epochs: int = 3, learning_rate: float | None = None, loss: str = "crossentropy"
    ):
        self.epochs = check_int_at_least("epochs", epochs, 1)
        self.learning_rate = check_optional_positive("learning_rate", learning_rate)
        self.loss = check_choice("loss", loss, READOUT_LOSSES)

    def fit(self, features: tf.data.Dataset, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
        return fit_streaming_readout(
            features, num_classes, self.epochs, self.learning_rate, self.loss
        )


class RidgeReadout:
    """A readout for :func:`~bitnets_tf.training.gradient_free.train_gradient_free`, fitted by
    :func:`fit_ridge_readout` (exact, memory quadratic in the feature width)."""

    def __init__(self, l2: float = 100.0):
        self.l2 = check_positive("l2", l2)

    def fit(self, features: tf.data.Dataset, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
        return fit_ridge_readout(features, num_classes, self.l2)
