r"""Per-epoch flip ratio of the binary weights (Helwegen et al. 2019, Sec. 5).

.. math:: \mathrm{flip\_ratio}_e = \frac{1}{N} \sum_{i=1}^{N}
          1\{\mathrm{sign}(w_i^{(e)}) \ne \mathrm{sign}(w_i^{(e-1)})\}

over all N latent binary weights, comparing the signs at the end of epoch e with those at its
start (sign(0) = +1, larq's convention). It shows whether binary training still moves (high
early, falling as training converges; zero means the binary weights are stuck).

Paper: "Latent Weights Do Not Exist: Rethinking Binarized Neural Network Optimization",
https://arxiv.org/abs/1906.02107
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bitnets_tf.introspect import binary_weights
from bitnets_tf.serialization import register

__all__ = ["FlipRatio"]


@register()
class FlipRatio(tf.keras.callbacks.Callback):
    """Logs ``logs[name]``, the fraction of binary weights whose sign flipped this epoch.

    Put it before CSVLogger in the callback list so the CSV has the column; ``model.fit``'s
    History always records it.
    """

    def __init__(self, name: str = "flip_ratio"):
        super().__init__()
        self.name = name
        self._signs_at_epoch_start: list[np.ndarray] = []

    def _signs(self) -> list[np.ndarray]:
        variables = binary_weights(self.model)
        if not variables:
            raise ValueError(
                "FlipRatio found no binary weights (variables with a 1-bit kernel quantizer such "
                "as kernel_quantizer='ste_sign') in the model; remove the callback for this model."
            )
        return [variable.numpy() >= 0 for variable in variables]

    def on_epoch_begin(self, epoch, logs=None):
        self._signs_at_epoch_start = self._signs()

    def on_epoch_end(self, epoch, logs=None):
        flipped = sum(
            int(np.count_nonzero(before != after))
            for before, after in zip(self._signs_at_epoch_start, self._signs(), strict=True)
        )
        total = sum(signs.size for signs in self._signs_at_epoch_start)
        if logs is not None:
            logs[self.name] = flipped / total

    def get_config(self) -> dict:
        return {"name": self.name}
