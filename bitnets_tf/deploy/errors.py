"""Errors of the deployment tools (defined with the interpreters in :mod:`bitnets_tf.tflite`)."""

from bitnets_tf.tflite.errors import DeploymentError, LceRuntimeRequiredError

__all__ = ["DeploymentError", "LceRuntimeRequiredError"]
