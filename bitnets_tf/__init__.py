"""bitnets-tf: binary and ternary neural networks for Keras, deployable as TFLite.

Importing this package binds ``tf.keras`` to Keras 2 (tf-keras), which larq requires.
"""

from bitnets_tf._keras import select_legacy_keras

select_legacy_keras()

from bitnets_tf import layers, quantizers  # noqa: E402

__version__ = "0.1.0"
__all__ = ["__version__", "layers", "quantizers"]
