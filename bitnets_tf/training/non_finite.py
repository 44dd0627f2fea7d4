"""Stopping training at the first NaN or Inf in the loss or a metric, with a clear message."""

from __future__ import annotations

import math
import sys

import tensorflow as tf

from bitnets_tf.serialization import register

__all__ = ["StopOnNonFinite"]

HINTS = (
    "lower the learning rate (e.g. 10x), check the inputs for NaN/Inf and their scaling, "
    "or clip gradients (clipnorm=1.0)"
)


@register()
class StopOnNonFinite(tf.keras.callbacks.Callback):
    """Stops ``model.fit`` after the first batch whose loss or a metric is NaN or ±Inf.

    The message (printed to stderr, kept in ``self.message``) names the quantity, the epoch and
    the batch (both 1-based) and what to try; ``self.stopped_at`` is ``(epoch, batch)`` or None.
    """

    def __init__(self):
        super().__init__()
        self.message: str | None = None
        self.stopped_at: tuple[int, int] | None = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.message, self.stopped_at = None, None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                self.stopped_at = (self._epoch + 1, batch + 1)
                self.message = (
                    f"Training stopped: {key} = {float(value)} at epoch {self._epoch + 1}, "
                    f"batch {batch + 1}. Try to {HINTS}."
                )
                print(self.message, file=sys.stderr)
                self.model.stop_training = True
                return

    def get_config(self) -> dict:
        return {}
