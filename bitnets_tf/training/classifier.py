"""The classifier training loop that ``bitnets-tf train`` and ``bitnets-tf demo`` share:
``bnn_optimizer`` with a learning-rate schedule, sparse categorical cross-entropy (on logits
unless the model ends in a softmax), accuracy, then ``model.fit``."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from bitnets_tf._validation import check_choice
from bitnets_tf.training._distribute import strategy_scope
from bitnets_tf.training.optimizers import bnn_optimizer, exponential_decay, linear_decay

__all__ = ["SCHEDULES", "fit_classifier", "learning_rate_schedule", "outputs_probabilities"]

SCHEDULES = ("constant", "exponential", "linear")


def learning_rate_schedule(
    kind: str, learning_rate: float, total_steps: int
) -> float | tf.keras.optimizers.schedules.LearningRateSchedule:
    """``learning_rate`` for ``"constant"``; decaying over ``total_steps`` (at least 1) to
    ``learning_rate / 100`` for ``"exponential"`` (BinaryNet) or to 0 for ``"linear"``
    (ReActNet).

    Raises:
        ValueError: an unknown ``kind``.
    """
    check_choice("schedule", kind, SCHEDULES)
    if kind == "constant":
        return learning_rate
    total_steps = max(1, total_steps)
    if kind == "exponential":
        return exponential_decay(learning_rate, learning_rate / 100, total_steps)
    return linear_decay(learning_rate, total_steps)


def outputs_probabilities(model: tf.keras.Model) -> bool:
    """True when the model ends in a softmax (so the loss must not apply one again)."""
    last = model.layers[-1]
    return isinstance(last, tf.keras.layers.Softmax) or (
        getattr(last, "activation", None) is tf.keras.activations.softmax
    )


def fit_classifier(
    model: tf.keras.Model,
    train: tf.data.Dataset,
    validation: tf.data.Dataset | None = None,
    *,
    epochs: int,
    learning_rate: float | tf.keras.optimizers.schedules.LearningRateSchedule,
    optimizer: str = "adam",
    steps_per_epoch: int | None = None,
    callbacks: Sequence[tf.keras.callbacks.Callback] = (),
    verbose: int | str = "auto",
    strategy: tf.distribute.Strategy | None = None,
) -> tf.keras.callbacks.History:
    """Compile ``model`` with ``bnn_optimizer(optimizer, learning_rate)``, sparse categorical
    cross-entropy and accuracy (under ``strategy``, which must be the one the model was built
    in), then ``model.fit`` it on ``(image, label)`` batches.

    Raises:
        ValueError: an unknown optimizer kind or a bad ``strategy``.
    """
    with strategy_scope(strategy):
        model.compile(
            bnn_optimizer(optimizer, learning_rate),
            tf.keras.losses.SparseCategoricalCrossentropy(
                from_logits=not outputs_probabilities(model)
            ),
            metrics=["accuracy"],
        )
    return model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=list(callbacks),
        verbose=verbose,
    )
