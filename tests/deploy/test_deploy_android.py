"""The Android demo's JVM fixtures (android_demo/core/src/test/resources, made by
android_demo/core/make_fixtures.py) still describe what the Python side computes: the JVM
tests check that org.bitnets.core reads and preprocesses the same files identically."""

from pathlib import Path

import numpy as np
import pytest

from bitnets_tf.converters import read_metadata
from bitnets_tf.deploy.images import load_image, normalise, to_model_pixels
from bitnets_tf.deploy.metadata import ModelMetadata, deployment_metadata

RESOURCES = (
    Path(__file__).resolve().parents[2] / "android_demo" / "core" / "src" / "test" / "resources"
)
MODELS = {"fashion": "fashion_mnist", "cifar": "cifar10"}


@pytest.mark.parametrize("model, dataset", MODELS.items())
def test_fixture_models_carry_the_metadata_the_converter_writes_today(model, dataset):
    stored = read_metadata(RESOURCES / f"{model}_lce.tflite")
    assert stored == deployment_metadata(dataset, "lce")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("photo", ["photo_large", "photo_small"])
def test_python_preprocessing_matches_the_values_the_jvm_tests_expect(model, photo):
    meta = ModelMetadata.from_dict(read_metadata(RESOURCES / f"{model}_lce.tflite"))
    pixels, notes = to_model_pixels(load_image(RESOURCES / f"{photo}.png"), meta.input_shape)
    values = normalise(pixels, meta.input_mean, meta.input_std)
    expected = np.fromfile(RESOURCES / f"expected_{model}_{photo}.f32", dtype="<f4")
    np.testing.assert_array_equal(values.reshape(-1), expected)  # bit-identical
    assert any(note.startswith("resized the image") for note in notes)


def test_fixtures_stay_small():
    assert sum(path.stat().st_size for path in RESOURCES.iterdir()) < 100_000
