"""Training recipes for binary networks that run through ``model.fit``.

One module per recipe:

- :mod:`~bitnets_tf.training.optimizers`: ``bnn_optimizer("adam" | "sgd" | "bop")``, Bop in a
  CaseOptimizer with a legacy optimizer for the real weights, BinaryNet/ReActNet LR schedules.
- :mod:`~bitnets_tf.training.clipping`: latent-weight clipping of binary kernels.
- :mod:`~bitnets_tf.training.distillation`: ``Distiller`` (teacher → student, saves the student)
  and ReActNet's distributional loss.
- :mod:`~bitnets_tf.training.two_step`: ReActNet's two-step schedule.
- :mod:`~bitnets_tf.training.layerwise`: greedy layer-wise training with a pluggable block
  trainer, streaming features through tf.data.
- :mod:`~bitnets_tf.training.gradient_free`: bit-level training of binary layers without
  gradients (``train_gradient_free``, ``BitFlipBlockTrainer``, streamed readouts).
- :mod:`~bitnets_tf.training.flip_ratio`, :mod:`~bitnets_tf.training.non_finite`,
  :mod:`~bitnets_tf.training.checkpoints`: callbacks (flip ratio, NaN/Inf stop, atomic best
  model; exact resume with ``tf.keras.callbacks.BackupAndRestore``).
- :mod:`~bitnets_tf.training.curves`: training curves, inline or as a PNG from a CSV log.
- :mod:`~bitnets_tf.training.classifier`: the compile-and-fit loop of ``bitnets-tf train``
  and ``bitnets-tf demo`` (``fit_classifier``, ``learning_rate_schedule``).

Every recipe that builds variables takes a ``strategy`` (``tf.distribute``);
:mod:`~bitnets_tf.training.multi_worker` starts and runs workers under
``MultiWorkerMirroredStrategy``.
"""

from bitnets_tf.introspect import binary_weights, is_binary_variable
from bitnets_tf.training.checkpoints import BestModelCheckpoint, completed_epochs
from bitnets_tf.training.classifier import fit_classifier, learning_rate_schedule
from bitnets_tf.training.clipping import clip_latent_weights
from bitnets_tf.training.curves import history_figure, plot_training_curves
from bitnets_tf.training.distillation import DistillationLoss, Distiller, reactnet_distiller
from bitnets_tf.training.flip_ratio import FlipRatio
from bitnets_tf.training.gradient_free import (
    BitFlipBlockTrainer,
    BitLayerState,
    RidgeReadout,
    StreamingReadout,
    fit_ridge_readout,
    fit_streaming_readout,
    train_gradient_free,
)
from bitnets_tf.training.layerwise import (
    BlockStage,
    GradientBlockTrainer,
    LayerwiseResult,
    LayerwiseTrainer,
)
from bitnets_tf.training.non_finite import StopOnNonFinite
from bitnets_tf.training.optimizers import (
    OPTIMIZER_KINDS,
    as_legacy_optimizer,
    bnn_optimizer,
    bop_optimizer,
    exponential_decay,
    linear_decay,
)
from bitnets_tf.training.two_step import TwoStepResult, TwoStepTrainer, transfer_weights

__all__ = [
    "OPTIMIZER_KINDS",
    "BestModelCheckpoint",
    "BitFlipBlockTrainer",
    "BitLayerState",
    "BlockStage",
    "DistillationLoss",
    "Distiller",
    "FlipRatio",
    "GradientBlockTrainer",
    "LayerwiseResult",
    "LayerwiseTrainer",
    "RidgeReadout",
    "StopOnNonFinite",
    "StreamingReadout",
    "TwoStepResult",
    "TwoStepTrainer",
    "as_legacy_optimizer",
    "binary_weights",
    "bnn_optimizer",
    "bop_optimizer",
    "clip_latent_weights",
    "completed_epochs",
    "exponential_decay",
    "fit_classifier",
    "fit_ridge_readout",
    "fit_streaming_readout",
    "history_figure",
    "is_binary_variable",
    "learning_rate_schedule",
    "linear_decay",
    "plot_training_curves",
    "reactnet_distiller",
    "train_gradient_free",
    "transfer_weights",
]
