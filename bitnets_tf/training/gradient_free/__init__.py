r"""Gradient-free, bit-level training of binary layers (the original bitnets idea).

Binary layers hold ±1 weights and integer thresholds only, no real-valued latent weights. Each
is trained greedily, block by block against an auxiliary head that decodes the class from
code words, by exact bit flips and threshold moves that never make the objective on a window
of minibatches worse; the first block starts from Hamming k-means centroids of image patches.
Features are streamed through ``tf.data``, so memory does not grow with the dataset. A readout
fitted on the last block's ±1 features classifies; the result is an ordinary Keras model.

Modules, one concern each:

- :mod:`~bitnets_tf.training.gradient_free.bit_state`: the ±1 weights and thresholds of one
  layer, its objective and the exact, never-worsening window step (:class:`BitLayerState`);
  the class code words (:func:`hadamard_codes`).
- :mod:`~bitnets_tf.training.gradient_free.blocks`: binary convolution blocks and their
  code-decoding auxiliary heads.
- :mod:`~bitnets_tf.training.gradient_free.trainer`: :class:`BitFlipBlockTrainer`, the
  block trainer for :class:`~bitnets_tf.training.layerwise.LayerwiseTrainer` (Hamming k-means
  initialisation, windows of streamed minibatches).
- :mod:`~bitnets_tf.training.gradient_free.readout`: linear classifiers fitted on the last
  block's streamed ±1 features (:class:`StreamingReadout`, memory linear in their width;
  :class:`RidgeReadout`, exact, quadratic).
- :mod:`~bitnets_tf.training.gradient_free.recipe`: :func:`train_gradient_free`, the whole
  ConvNet in one call.
"""

from bitnets_tf.training.gradient_free.bit_state import (
    OBJECTIVES,
    BitFlipStep,
    BitLayerState,
    hadamard_codes,
)
from bitnets_tf.training.gradient_free.blocks import binary_conv_block, code_head_factory
from bitnets_tf.training.gradient_free.readout import (
    READOUT_LOSSES,
    Readout,
    RidgeReadout,
    StreamingReadout,
    fit_ridge_readout,
    fit_streaming_readout,
)
from bitnets_tf.training.gradient_free.recipe import train_gradient_free
from bitnets_tf.training.gradient_free.trainer import BitFlipBlockTrainer

__all__ = [
    "OBJECTIVES",
    "READOUT_LOSSES",
    "BitFlipBlockTrainer",
    "BitFlipStep",
    "BitLayerState",
    "Readout",
    "RidgeReadout",
    "StreamingReadout",
    "binary_conv_block",
    "code_head_factory",
    "fit_ridge_readout",
    "fit_streaming_readout",
    "hadamard_codes",
    "train_gradient_free",
]
