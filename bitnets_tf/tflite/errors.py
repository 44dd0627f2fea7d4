"""Errors of loading and running ``.tflite`` models: each names the problem and what to do."""

from __future__ import annotations


class DeploymentError(ValueError):
    """A model, image or option that the runner or benchmark cannot use as given."""


class LceRuntimeRequiredError(DeploymentError):
    """The model contains larq-compute-engine custom operators (``Lce*``) and the chosen
    runtime does not have them."""
