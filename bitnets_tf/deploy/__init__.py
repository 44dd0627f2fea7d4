"""Running converted ``.tflite`` models: classify an image, benchmark, compare on ARM.

- :func:`classify` — top-k classes of one image, preprocessing from the model's metadata;
- :func:`benchmark` — size, operators and median latency per thread count;
- :class:`ModelRunner` — a model in the interpreter that can run it (larq-compute-engine for
  ``lce`` models, stock TFLite otherwise);
- :func:`deployment_metadata` / :func:`model_metadata` — the ``"bitnets_tf"`` metadata
  (labels, normalisation, input shape) that the runner and the Android demo read;
- :mod:`bitnets_tf.deploy.arm` — the same models on emulated ARM Linux, compared with x86;
- ``bitnets-tf demo`` is an application on top of deploy: :mod:`bitnets_tf.demo`.
"""

from bitnets_tf.deploy.bench import BenchmarkResult, LatencyStats, benchmark
from bitnets_tf.deploy.errors import DeploymentError, LceRuntimeRequiredError
from bitnets_tf.deploy.interpreters import RUNTIMES, ModelRunner
from bitnets_tf.deploy.metadata import ModelMetadata, deployment_metadata, model_metadata
from bitnets_tf.deploy.runner import Classification, Prediction, classify, top_k

__all__ = [
    "RUNTIMES",
    "BenchmarkResult",
    "Classification",
    "DeploymentError",
    "LatencyStats",
    "LceRuntimeRequiredError",
    "ModelMetadata",
    "ModelRunner",
    "Prediction",
    "benchmark",
    "classify",
    "deployment_metadata",
    "model_metadata",
    "top_k",
]
