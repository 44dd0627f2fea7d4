"""``bitnets-tf demo``: Fashion-MNIST → binary ConvNet → ``lce`` / ``int8`` / ``float``
.tflite files, checked, timed and summarised (:func:`run_demo`)."""

from bitnets_tf.demo.model import demo_model
from bitnets_tf.demo.pipeline import DemoConfig, run_demo

__all__ = ["DemoConfig", "demo_model", "run_demo"]
