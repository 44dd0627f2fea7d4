"""Every zoo model at a small input: one model.fit step, a .keras save/load round trip, and
conversion with larq-compute-engine in which every binary layer becomes a bitpacked
LceBconv2d and the LCE interpreter agrees with Keras.

One model is alive at a time (module-scoped, parametrized fixture: pytest runs all tests of one
model, in file order, before building the next). The round trip runs before the fit step so
that the saved file holds no optimizer state (tf-keras reads a .keras file's weights in time
that grows with the file size). Each family is built at both 28×28×1 and 32×32×3.
"""

import tempfile
import warnings

import larq_compute_engine as lce
import numpy as np
import pytest
import tensorflow as tf
from larq_compute_engine.tflite.python.interpreter import Interpreter

from bitnets_tf.tflite.flatbuffer import operator_names
from bitnets_tf.zoo import create_model
from bitnets_tf.zoo.profile import layer_operations

NUM_CLASSES = 3
GRAY, RGB = (28, 28, 1), (32, 32, 3)
# (test id, registry name, input shape, builder arguments): small dense layers keep the
# AlexNet / BinaryNet classifiers (tens of millions of weights at the defaults) fast to save.
CASES = [
    ("binarynet_mlp", "binarynet_mlp", GRAY, {"hidden_units": 64}),
    ("binarynet_cnn", "binarynet_cnn", RGB, {"hidden_units": 64}),
    ("xnornet_alexnet-xnor", "xnornet_alexnet", RGB, {"hidden_units": 64}),
    ("xnornet_alexnet-bwn", "xnornet_alexnet", GRAY, {"variant": "bwn", "hidden_units": 64}),
    ("birealnet18", "birealnet18", GRAY, {}),
    ("birealnet34", "birealnet34", RGB, {}),
    ("reactnet_a", "reactnet_a", RGB, {}),
    ("reactnet_resnet18", "reactnet_resnet18", GRAY, {}),
    ("ternary_resnet18-twn", "ternary_resnet18", GRAY, {"variant": "twn"}),
    ("ternary_resnet18-ttq", "ternary_resnet18", RGB, {"variant": "ttq"}),
]
FLOAT_MATMULS = ("CONV_2D", "FULLY_CONNECTED", "DEPTHWISE_CONV_2D")
# LCE vs Keras: a deep BNN may legitimately flip a sign whose input sits within float rounding
# of its threshold, so we require argmax agreement on 7 of 8 inputs and a median absolute
# difference below 1e-3 of the largest output.
ARGMAX_AGREEMENT = 7 / 8
MEDIAN_RELATIVE_TOLERANCE = 1e-3


@pytest.fixture(scope="module", params=CASES, ids=[case[0] for case in CASES])
def case(request):
    _, name, shape, kwargs = request.param
    tf.keras.utils.set_random_seed(0)
    model = create_model(name, input_shape=shape, num_classes=NUM_CLASSES, **kwargs)
    yield model
    del model
    tf.keras.backend.clear_session()


def _inputs(model, count, seed=0):
    return np.random.default_rng(seed).normal(size=(count, *model.input_shape[1:])).astype("f4")


def _predict(model, x):
    """Inference without tracing a predict function (seconds for the deep models)."""
    return model(x, training=False).numpy()


def _randomize_batch_norms(model):
    """Non-trivial BN statistics, so that the thresholds LCE folds are not at integers."""
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape) * rng.choice([-1, 1], gamma.shape),
                    rng.normal(0, 0.5, beta.shape),
                    rng.normal(0, 0.5, mean.shape),
                    rng.uniform(0.5, 2.0, variance.shape),
                ]
            )


def convert(model) -> bytes:
    """What ``lce.convert_keras_model`` does (SavedModel → ``lce.convert_saved_model``) without
    Keras' per-layer SavedModel traces, 2-5× faster on the deep models with the same ops
    (``test_fast_conversion_matches_convert_keras_model`` checks it)."""
    module = tf.Module()
    module.tracked = [getattr(v, "latent_variable", v) for v in model.weights]
    spec = tf.TensorSpec([1, *model.input_shape[1:]])
    module.serve = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    with tempfile.TemporaryDirectory() as directory:
        tf.saved_model.save(module, directory, signatures=module.serve)
        return lce.convert_saved_model(directory)


def test_fast_conversion_matches_convert_keras_model():
    model = create_model(
        "binarynet_cnn", input_shape=(8, 8, 3), num_classes=NUM_CLASSES, hidden_units=8
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # LCE only warns when its SavedModel path fails
        reference = lce.convert_keras_model(model)
    assert operator_names(convert(model)) == operator_names(reference)


def test_binary_layers_become_bitpacked_and_match_keras(case):
    model = case
    _randomize_batch_norms(model)
    binary = floating = 0
    for layer in model.layers:
        binary_macs, float_macs = layer_operations(layer)
        binary += binary_macs > 0
        floating += float_macs > 0
    flatbuffer = convert(model)
    ops = operator_names(flatbuffer)
    assert ops.count("LceBconv2d") == binary
    # Every float matmul belongs to a real-valued (or binary-weight-only) layer.
    assert sum(ops.count(op) for op in FLOAT_MATMULS) == floating
    assert "LceDequantize" not in ops
    x = _inputs(model, 8)
    expected = _predict(model, x)
    actual = Interpreter(flatbuffer, num_threads=1).predict(x)
    assert (actual.argmax(1) == expected.argmax(1)).mean() >= ARGMAX_AGREEMENT
    difference = np.median(np.abs(actual - expected))
    assert difference <= MEDIAN_RELATIVE_TOLERANCE * np.abs(expected).max()


def test_save_and_load_round_trip(case, tmp_path):
    model = case
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    x = _inputs(model, 2, seed=3)
    np.testing.assert_array_equal(_predict(loaded, x), _predict(model, x))


def test_one_fit_step_gives_a_finite_loss(case):
    model = case
    # One eager step: tracing the training graph of the deep models costs ~10× the step
    # (graph-mode fit of the same layers is covered by test_layers and test_training_*).
    model.compile(
        "adam",
        tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        run_eagerly=True,
    )
    labels = np.array([0, NUM_CLASSES - 1])
    history = model.fit(_inputs(model, 2), labels, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
