"""Binary and ternary networks from the literature, built like ``keras.applications``.

Builders: :func:`BinaryNet`, :func:`XNORNet`, :func:`BiRealNet`, :func:`ReActNet`,
:func:`TernaryResNet18`; by name: :func:`create_model` / :func:`list_models`; counting:
:func:`count_operations`. Every model outputs logits by default, builds for small (28×28×1,
32×32×3) and ImageNet-size inputs, saves and loads without ``custom_objects``, and converts
every binary layer to a bitpacked ``LceBconv2d`` with larq-compute-engine.
"""

from bitnets_tf.zoo.binarynet import BinaryNet
from bitnets_tf.zoo.birealnet import BiRealNet
from bitnets_tf.zoo.profile import count_operations
from bitnets_tf.zoo.reactnet import ReActNet
from bitnets_tf.zoo.registry import create_model, list_models
from bitnets_tf.zoo.ternary_resnet import TernaryResNet18
from bitnets_tf.zoo.xnornet import XNORNet

__all__ = [
    "BiRealNet",
    "BinaryNet",
    "ReActNet",
    "TernaryResNet18",
    "XNORNet",
    "count_operations",
    "create_model",
    "list_models",
]
