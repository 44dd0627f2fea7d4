"""Classify one image with a ``.tflite`` model: preprocessing from the model's metadata,
the right interpreter, top-k classes with their label names."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bitnets_tf.deploy.edge import ranked
from bitnets_tf.deploy.errors import DeploymentError
from bitnets_tf.deploy.images import example_image, load_image, normalise, to_model_pixels
from bitnets_tf.deploy.interpreters import ModelRunner
from bitnets_tf.deploy.metadata import ModelMetadata, model_metadata


@dataclass(frozen=True)
class Prediction:
    """One class: its index, label name, probability (softmax of the logits) and raw score."""

    index: int
    label: str
    probability: float
    score: float


@dataclass
class Classification:
    """Top-k predictions, the interpreter's time for the one invocation, and what the
    preprocessing changed (notes)."""

    predictions: list[Prediction]
    latency_ms: float
    runtime: str
    notes: list[str] = field(default_factory=list)


def top_k(
    scores: np.ndarray, k: int, labels: Sequence[str] = (), output: str = "logits"
) -> list[Prediction]:
    """The ``k`` best classes of a score vector, best first (ties: lower index first).

    ``output="logits"`` turns scores into probabilities with a softmax
    (``exp(z_i - max z) / sum_j exp(z_j - max z)``); ``"probabilities"`` uses them as they are.
    """
    return [Prediction(*best) for best in ranked(scores, k, labels, output)]


def resolve_metadata(
    runner: ModelRunner,
    metadata: ModelMetadata | None,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
) -> ModelMetadata:
    """The model's metadata with ``mean``/``std`` overrides; without metadata, both are
    required.

    Raises:
        DeploymentError: no normalisation is known, or the metadata's input shape disagrees
            with the model.
    """
    shape = runner.input.shape
    if len(shape) != 3:
        raise DeploymentError(
            f"The model input has shape {shape}; image classification needs (height, width, "
            "channels)."
        )
    if metadata is None and (mean is None or std is None):
        raise DeploymentError(
            "The model has no bitnets_tf metadata, so its input normalisation is unknown. Pass "
            "--mean and --std (pixel units, e.g. --mean 127.5 --std 127.5), or convert it with "
            "metadata (bitnets_tf.deploy.deployment_metadata)."
        )
    values = metadata.to_dict() if metadata is not None else {"labels": []}
    values["input_shape"] = list(shape)
    if metadata is not None and tuple(metadata.input_shape) != tuple(shape):
        raise DeploymentError(
            f"The metadata says input_shape {list(metadata.input_shape)} but the model takes "
            f"{list(shape)}: the metadata belongs to another model. Convert it again."
        )
    if mean is not None:
        values["input_mean"] = list(mean)
    if std is not None:
        values["input_std"] = list(std)
    return ModelMetadata.from_dict(values, "the normalisation options")


def classify(
    model: bytes | str | os.PathLike,
    image: str | os.PathLike,
    top: int = 5,
    runtime: str = "auto",
    num_threads: int = 1,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> Classification:
    """Top-``top`` classes of ``image`` (a PNG/JPEG path) according to ``model``.

    When no file ``image`` exists and it names an example image shipped with the package
    (``"boot.png"``, :data:`~bitnets_tf.deploy.images.EXAMPLE_IMAGES`), that image is used and
    a note says so.

    The image is converted to the model's channels and size (noted in the result) and
    normalised with the metadata's mean/std (or the ``mean``/``std`` given).

    Raises:
        FileNotFoundError: the model or image does not exist.
        ValueError / DeploymentError: a corrupt model or image, missing normalisation, a model
            that needs LCE on a runtime without it (:class:`LceRuntimeRequiredError`).
    """
    runner = ModelRunner(model, runtime=runtime, num_threads=num_threads)
    meta = resolve_metadata(runner, model_metadata(runner.flatbuffer), mean, std)
    shipped = None if os.path.exists(image) else example_image(image)
    pixels, notes = to_model_pixels(load_image(shipped or image), meta.input_shape)
    if shipped is not None:
        notes.insert(0, f"{os.fspath(image)}: the example image shipped with bitnets-tf")
    output, seconds = runner.run(normalise(pixels, meta.input_mean, meta.input_std))
    if meta.labels and len(meta.labels) != output.size:
        notes.append(f"the metadata has {len(meta.labels)} labels for {output.size} outputs")
    predictions = top_k(output, min(top, output.size), meta.labels, meta.output)
    return Classification(predictions, seconds * 1e3, runner.runtime, notes)
