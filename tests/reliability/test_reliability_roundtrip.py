"""Every zoo model survives ``model.save`` + ``tf.keras.models.load_model`` (no custom_objects)
in all three formats, ``.keras``, legacy ``.h5`` and a SavedModel directory, bit-exactly:
the same weights and the same predictions."""

import numpy as np
import pytest
import tensorflow as tf

from bitnets_tf.zoo import create_model, list_models

# Small inputs and classifiers keep saving fast; each entry is one registry name.
SMALL = {
    "binarynet_mlp": ((8, 8, 1), {"hidden_units": 16}),
    "binarynet_cnn": ((16, 16, 3), {"hidden_units": 16}),
    "xnornet_alexnet": ((32, 32, 3), {"hidden_units": 16}),
    "birealnet18": ((16, 16, 1), {}),
    "birealnet34": ((16, 16, 1), {}),
    "reactnet_a": ((16, 16, 3), {}),
    "reactnet_resnet18": ((16, 16, 1), {}),
    "ternary_resnet18": ((16, 16, 1), {"variant": "ttq"}),
}
FORMATS = {"keras": "model.keras", "h5": "model.h5", "savedmodel": "saved_model"}
# Tracing a deep ResNet into a SavedModel takes 20-60 s each on a small machine, and the
# default suite already round-trips every zoo model through .keras (test_zoo_models.py).
DEEP = ("birealnet18", "birealnet34", "reactnet_a", "reactnet_resnet18", "ternary_resnet18")
CASES = [
    pytest.param(name, fmt, marks=pytest.mark.slow) if fmt != "h5" and name in DEEP else (name, fmt)
    for name in sorted(SMALL)
    for fmt in FORMATS
]


def test_every_zoo_model_is_covered():
    assert sorted(SMALL) == list_models()


@pytest.mark.parametrize(("name", "fmt"), CASES)
def test_round_trip_is_bit_exact(name, fmt, tmp_path):
    shape, kwargs = SMALL[name]
    tf.keras.utils.set_random_seed(0)
    model = create_model(name, input_shape=shape, num_classes=3, **kwargs)
    x = np.random.default_rng(0).normal(size=(4, *shape)).astype(np.float32)
    expected = model(x, training=False).numpy()
    path = str(tmp_path / FORMATS[fmt])
    model.save(path)
    loaded = tf.keras.models.load_model(path, compile=False)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers
    ]
    for want, got in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(loaded(x, training=False).numpy(), expected)
    tf.keras.backend.clear_session()
