r"""Optimizer setups for binary networks, including larq's Bop inside a CaseOptimizer.

- ``"adam"`` / ``"sgd"``: one optimizer for everything; binary kernels keep real-valued latent
  weights, clipped to [-1, 1] by their ``weight_clip`` constraint (BinaryNet, Courbariaux et
  al. 2016; see :mod:`bitnets_tf.training.clipping`).
- ``"bop"``: Bop (Helwegen et al. 2019) for the binary weights and Adam for the real ones,
  combined by ``lq.optimizers.CaseOptimizer``. Bop keeps an exponential moving average of the
  gradient and flips a weight when the average is large and agrees with the weight's sign:

  .. math:: m_t = (1-\gamma)\, m_{t-1} + \gamma\, g_t, \qquad
            w_t = \begin{cases} -w_{t-1} & |m_t| > \tau \text{ and }
            \mathrm{sign}(m_t) = \mathrm{sign}(w_{t-1}) \\ w_{t-1} & \text{otherwise}\end{cases}

  Bop and CaseOptimizer derive from the legacy Keras optimizer class
  (``tf.keras.optimizers.legacy.Optimizer``), so every optimizer inside a CaseOptimizer must be
  a legacy one; :func:`as_legacy_optimizer` converts a current-style optimizer by its
  hyperparameters.

Papers: "Binarized Neural Networks", https://arxiv.org/abs/1602.02830; "Latent Weights Do Not
Exist: Rethinking Binarized Neural Network Optimization", https://arxiv.org/abs/1906.02107
"""

from __future__ import annotations

import inspect

import larq as lq
import tensorflow as tf

from bitnets_tf._validation import check_choice, check_non_negative, check_positive
from bitnets_tf.introspect import is_binary_variable

__all__ = [
    "OPTIMIZER_KINDS",
    "as_legacy_optimizer",
    "bnn_optimizer",
    "bop_optimizer",
    "exponential_decay",
    "linear_decay",
]

OPTIMIZER_KINDS = ("adam", "bop", "sgd")

LearningRate = float | tf.keras.optimizers.schedules.LearningRateSchedule

# Current-style settings that legacy optimizers lack, with the value that means "unused".
_UNSUPPORTED_BY_LEGACY = {"weight_decay": (None, 0.0), "use_ema": (False,)}


def bnn_optimizer(
    kind: str = "adam",
    learning_rate: LearningRate = 1e-3,
    *,
    bop_threshold: float = 1e-8,
    bop_gamma: float = 1e-4,
    momentum: float = 0.9,
) -> tf.keras.optimizers.Optimizer | tf.keras.optimizers.legacy.Optimizer:
    """The optimizer for ``kind`` (one of :data:`OPTIMIZER_KINDS`).

    Args:
        kind: ``"adam"`` (Adam on latent and real weights), ``"sgd"`` (SGD with ``momentum``)
            or ``"bop"`` (Bop on binary weights, legacy Adam with ``learning_rate`` on the rest).
        learning_rate: a float or a ``LearningRateSchedule`` (see :func:`exponential_decay`,
            :func:`linear_decay`).
        bop_threshold: Bop's threshold τ (``"bop"`` only).
        bop_gamma: Bop's adaptivity rate γ (``"bop"`` only).
        momentum: SGD momentum (``"sgd"`` only).

    Raises:
        ValueError: unknown ``kind``, or a non-positive learning rate / Bop parameter.
    """
    check_choice("kind", kind, OPTIMIZER_KINDS)
    if not isinstance(learning_rate, tf.keras.optimizers.schedules.LearningRateSchedule):
        check_positive("learning_rate", learning_rate)
    if kind == "adam":
        return tf.keras.optimizers.Adam(learning_rate)
    if kind == "sgd":
        return tf.keras.optimizers.SGD(
            learning_rate, momentum=check_non_negative("momentum", momentum)
        )
    return bop_optimizer(
        tf.keras.optimizers.legacy.Adam(learning_rate), threshold=bop_threshold, gamma=bop_gamma
    )


def bop_optimizer(
    real_optimizer: str | tf.keras.optimizers.Optimizer | tf.keras.optimizers.legacy.Optimizer,
    threshold: float = 1e-8,
    gamma: float = 1e-4,
) -> lq.optimizers.CaseOptimizer:
    """``CaseOptimizer((is_binary_variable, Bop(threshold, gamma)), default=real_optimizer)``.

    ``real_optimizer`` trains every non-binary variable; a name or a current-style optimizer is
    converted with :func:`as_legacy_optimizer`.
    """
    bop = lq.optimizers.Bop(
        threshold=check_positive("bop_threshold", threshold),
        gamma=check_positive("bop_gamma", gamma),
    )
    return lq.optimizers.CaseOptimizer(
        (is_binary_variable, bop), default_optimizer=as_legacy_optimizer(real_optimizer)
    )


def as_legacy_optimizer(
    optimizer: str | tf.keras.optimizers.Optimizer | tf.keras.optimizers.legacy.Optimizer,
) -> tf.keras.optimizers.legacy.Optimizer:
    """The ``tf.keras.optimizers.legacy`` optimizer with the same class and hyperparameters.

    Only hyperparameters carry over (not slot variables), so convert before training.

    Raises:
        ValueError: no legacy class of that name (e.g. AdamW, Lion), or settings legacy
            optimizers lack (``weight_decay``, ``use_ema``).
    """
    legacy = tf.keras.optimizers.legacy
    if isinstance(optimizer, legacy.Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        optimizer = tf.keras.optimizers.get(optimizer)
    if not isinstance(optimizer, tf.keras.optimizers.Optimizer):
        raise ValueError(f"Expected an optimizer or an optimizer name, got {optimizer!r}.")
    name = type(optimizer).__name__
    allowed = sorted(n for n in dir(legacy) if n[0].isupper() and n != "Optimizer")
    if name not in allowed:
        raise ValueError(
            f"Bop's CaseOptimizer needs a legacy Keras optimizer for the real-valued weights and "
            f"there is no tf.keras.optimizers.legacy.{name}. Use one of {allowed}."
        )
    config = optimizer.get_config()
    for key, unused in _UNSUPPORTED_BY_LEGACY.items():
        if config.get(key) not in unused:
            raise ValueError(
                f"Legacy Keras optimizers have no `{key}` (set to {config[key]!r} on {name}); "
                f"remove it, or use tf.keras.optimizers.legacy.{name} directly."
            )
    legacy_class = getattr(legacy, name)
    accepted = set(inspect.signature(legacy_class.__init__).parameters) | {
        "clipnorm",
        "clipvalue",
        "global_clipnorm",
    }
    return legacy_class.from_config(
        {key: value for key, value in config.items() if key in accepted and value is not None}
    )


def exponential_decay(
    start: float, end: float, total_steps: int
) -> tf.keras.optimizers.schedules.ExponentialDecay:
    r"""BinaryNet's schedule: ``lr(t) = start · (end/start)^{t / total_steps}``."""
    start, end = check_positive("start", start), check_positive("end", end)
    return tf.keras.optimizers.schedules.ExponentialDecay(
        start, decay_steps=check_positive("total_steps", total_steps), decay_rate=end / start
    )


def linear_decay(
    start: float, total_steps: int, end: float = 0.0
) -> tf.keras.optimizers.schedules.PolynomialDecay:
    r"""ReActNet's schedule: ``lr(t) = start + (end − start) · min(t, T) / T``, T = total_steps."""
    return tf.keras.optimizers.schedules.PolynomialDecay(
        check_positive("start", start),
        decay_steps=check_positive("total_steps", total_steps),
        end_learning_rate=check_non_negative("end", end),
        power=1.0,
    )
