"""What a deployed ``.tflite`` needs to know about its input and output, stored in the file.

The converters store a JSON object in the flatbuffer's metadata table under ``"bitnets_tf"``
(:func:`bitnets_tf.converters.read_metadata`). The runner, the benchmark and the Android
demo (``android_demo/core``, which parses the same JSON) read these keys:

========================  =====================================================================
``labels``                list of class names; ``labels[i]`` names output ``i``
``input_mean``            per-channel mean in pixel units (0..255), or one number for all
``input_std``             per-channel std in pixel units: ``x = (pixel - mean[c]) / std[c]``
``input_shape``           ``[height, width, channels]`` of one input image
``target``                ``"lce"``, ``"int8"`` or ``"float"`` (what the converter produced)
``output``                ``"logits"`` (default) or ``"probabilities"``
``dataset``               optional: the ``bitnets_tf.data`` name the model was trained on
========================  =====================================================================
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real

from bitnets_tf._targets import TARGETS
from bitnets_tf.deploy.errors import DeploymentError
from bitnets_tf.tflite.metadata import read_metadata

OUTPUT_KINDS = ("logits", "probabilities")
REQUIRED_KEYS = ("labels", "input_mean", "input_std", "input_shape")


@dataclass(frozen=True)
class ModelMetadata:
    """The validated ``"bitnets_tf"`` metadata of a model (see the module docstring)."""

    labels: tuple[str, ...]
    input_mean: tuple[float, ...]
    input_std: tuple[float, ...]
    input_shape: tuple[int, int, int]
    target: str | None = None
    output: str = "logits"
    dataset: str | None = None

    def to_dict(self) -> dict:
        """The JSON-ready dict that :meth:`from_dict` reads back."""
        result = {
            "labels": list(self.labels),
            "input_mean": list(self.input_mean),
            "input_std": list(self.input_std),
            "input_shape": list(self.input_shape),
            "output": self.output,
        }
        if self.target is not None:
            result["target"] = self.target
        if self.dataset is not None:
            result["dataset"] = self.dataset
        return result

    @classmethod
    def from_dict(cls, values: Mapping, where: str = "the model's metadata") -> ModelMetadata:
        """Validate ``values``; mean/std given as one number apply to every channel.

        Raises:
            DeploymentError: a key is missing or has the wrong type or value.
        """
        if not isinstance(values, Mapping):
            raise DeploymentError(f"{where} must be a JSON object, got {type(values).__name__}.")
        missing = [key for key in REQUIRED_KEYS if key not in values]
        if missing:
            raise DeploymentError(
                f"{where} lacks {', '.join(missing)}. Convert the model with "
                "metadata=deployment_metadata(dataset, target) (CLI: --dataset), or pass "
                "--mean and --std to the runner."
            )
        shape = _shape(values["input_shape"], where)
        channels = shape[2]
        mean = _per_channel(values["input_mean"], channels, "input_mean", where)
        std = _per_channel(values["input_std"], channels, "input_std", where)
        if any(s <= 0 for s in std):
            raise DeploymentError(f"{where}: input_std must be > 0, got {list(std)}.")
        labels = values["labels"]
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise DeploymentError(f"{where}: labels must be a list of strings.")
        target = values.get("target")
        if target is not None and target not in TARGETS:
            raise DeploymentError(f"{where}: target must be one of {TARGETS}, got {target!r}.")
        output = values.get("output", "logits")
        if output not in OUTPUT_KINDS:
            raise DeploymentError(f"{where}: output must be one of {OUTPUT_KINDS}, got {output!r}.")
        dataset = values.get("dataset")
        if dataset is not None and not isinstance(dataset, str):
            raise DeploymentError(f"{where}: dataset must be a string.")
        return cls(tuple(labels), mean, std, shape, target, output, dataset)


def _shape(value: object, where: str) -> tuple[int, int, int]:
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise DeploymentError(
            f"{where}: input_shape must be [height, width, channels] of positive integers, "
            f"got {value!r}."
        )
    return (value[0], value[1], value[2])


def _per_channel(value: object, channels: int, key: str, where: str) -> tuple[float, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(_is_finite_number(v) for v in items):
        raise DeploymentError(f"{where}: {key} must be a number or a list of numbers.")
    if len(items) == 1:
        items = items * channels
    if len(items) != channels:
        raise DeploymentError(
            f"{where}: {key} has {len(items)} values for an input with {channels} channels."
        )
    return tuple(float(v) for v in items)


def _is_finite_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def deployment_metadata(
    dataset: str,
    target: str,
    input_shape: Sequence[int] | None = None,
    output: str = "logits",
) -> dict:
    """The metadata dict for ``convert(..., metadata=...)`` of a model trained on ``dataset``
    with ``bitnets_tf.data`` (labels and normalisation from ``bitnets_tf.data.info``).

    ``input_shape`` defaults to the dataset's model input shape.
    """
    from bitnets_tf import data

    meta = data.info(dataset)
    shape = list(input_shape) if input_shape is not None else list(meta.input_shape)
    values = {
        "labels": list(meta.label_names),
        "input_mean": list(meta.mean),
        "input_std": list(meta.std),
        "input_shape": shape,
        "target": target,
        "output": output,
        "dataset": dataset,
    }
    return ModelMetadata.from_dict(values, f"deployment metadata for {dataset!r}").to_dict()


def model_metadata(model: bytes | str | os.PathLike) -> ModelMetadata | None:
    """The validated metadata of a ``.tflite`` (bytes or path); None when it has none.

    Raises:
        FileNotFoundError, ValueError: not a readable TFLite file.
        DeploymentError: the metadata is present but invalid.
    """
    values = read_metadata(model)
    if values is None:
        return None
    return ModelMetadata.from_dict(values)
