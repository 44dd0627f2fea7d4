"""The XLA-fused SteSign and WeightClip equal larq's bit for bit; bitnets_tf's layers use them
and pad natively with a border correction, training like larq's layers (up to float summation
order) without changing what they save."""

import contextlib
from unittest import mock

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from bitnets_tf import layers, zoo
from bitnets_tf.fused_quantizers import FusedSteSign, FusedWeightClip, fused_ste_sign, fused_twin


def _value_and_gradient(function, x, dy):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
    return y.numpy(), tape.gradient(y, x, output_gradients=tf.constant(dy)).numpy()


@pytest.mark.parametrize("latent_weights", [False, True])
@pytest.mark.parametrize(
    ("clip_value", "values"),
    [
        (1.0, [0.0, -0.0, 1.0, -1.0, np.nan, np.inf]),
        (0.5, [0.0, -0.0, 1.0, -1.0, np.nan, np.inf]),
        (None, [0.0, -0.0, 1.0, -1.0, np.nan, np.inf]),
        (1.0, [0.0, -0.0, 1.0, -1.0]),  # then clipped: every value inside [-1, 1]
        (1.0, [0.0, -0.0, 1.0, np.nextafter(1.0, 2.0)]),  # one value just outside
        (1.0, [0.0, -0.0, 1.0, np.nan]),
    ],
)
def test_fused_ste_sign_matches_larq_bit_for_bit(clip_value, values, latent_weights):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1.5, (4, 5, 6, 7)).astype("float32")
    if len(values) < 6:
        x = np.clip(x, -1.0, 1.0)
    x.flat[: len(values)] = values
    dy = rng.normal(size=x.shape).astype("float32")
    dy.flat[:2] = [-0.0, np.nan]
    expected = _value_and_gradient(lambda t: lq.quantizers.ste_sign(t, clip_value), x, dy)
    fused = lambda t: fused_ste_sign(t, clip_value, latent_weights)  # noqa: E731
    for run in (fused, tf.function(fused)):
        actual = _value_and_gradient(run, x, dy)
        np.testing.assert_array_equal(actual[0].view("u4"), expected[0].view("u4"))
        np.testing.assert_array_equal(actual[1].view("u4"), expected[1].view("u4"))


def test_fused_weight_clip_matches_larq_bit_for_bit():
    x = np.random.default_rng(0).normal(0, 2, (50, 40)).astype("float32")
    x.flat[:5] = [1.0, -1.0, 0.0, np.inf, -np.inf]
    variable = tf.Variable(x)
    for clip_value in (1.0, 0.25):
        expected = lq.constraints.WeightClip(clip_value)(variable).numpy()
        np.testing.assert_array_equal(FusedWeightClip(clip_value)(variable).numpy(), expected)
    assert isinstance(fused_twin(tf.keras.constraints.get("weight_clip")), FusedWeightClip)


def test_fused_twin_only_replaces_plain_ste_sign():
    assert isinstance(fused_twin(lq.quantizers.SteSign(clip_value=0.5)), FusedSteSign)
    assert fused_twin(lq.quantizers.SteSign(clip_value=0.5)).clip_value == 0.5
    approx = lq.quantizers.ApproxSign()
    assert fused_twin(approx) is approx and fused_twin(None) is None


def test_layers_train_like_larqs_and_save_their_configured_quantizers(tmp_path):
    binary = {
        "input_quantizer": "ste_sign",
        "kernel_quantizer": "ste_sign",
        "kernel_constraint": "weight_clip",
        "use_bias": False,
    }

    def model(conv, dense):
        tf.keras.utils.set_random_seed(0)
        return tf.keras.Sequential(
            [
                tf.keras.Input((6, 6, 2)),
                conv(4, 3, padding="same", pad_values=1.0, **binary),
                tf.keras.layers.Flatten(),
                dense(3, **binary),
            ]
        )

    ours = model(layers.QuantConv2D, layers.QuantDense)
    larqs = model(lq.layers.QuantConv2D, lq.layers.QuantDense)
    assert isinstance(ours.layers[0].kernel.quantizer, FusedSteSign)
    assert ours.layers[0].kernel.quantizer.latent_weights
    assert not ours.layers[0]._fused_input_quantizer().latent_weights
    assert isinstance(ours.layers[0].kernel.constraint, FusedWeightClip)
    x = np.random.default_rng(1).normal(size=(8, 6, 6, 2)).astype("float32")
    y = np.arange(8) % 3
    for m in (ours, larqs):
        m.compile(tf.keras.optimizers.SGD(0.1), tf.keras.losses.SparseCategoricalCrossentropy(True))
        m.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(ours.get_weights(), larqs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # float summation order

    config = ours.layers[0].get_config()
    assert config["input_quantizer"]["class_name"] == "SteSign"
    assert config["kernel_constraint"] == larqs.layers[0].get_config()["kernel_constraint"]
    assert len(list(ours.layers[0]._flatten_layers(include_self=False))) == len(
        list(larqs.layers[0]._flatten_layers(include_self=False))
    )
    ours.save(tmp_path / "m.keras")
    loaded = tf.keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), ours.predict(x, verbose=0))


def _larqs_path() -> contextlib.ExitStack:
    """bitnets_tf's layers computed as larq computes them: larq's own ``ste_sign`` and
    ``weight_clip`` and its ``tf.pad`` + VALID convolution for a non-zero ``pad_values``."""
    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch.object(layers, "fused_twin", lambda quantizer, **_: quantizer))
    stack.enter_context(
        mock.patch.object(layers.QuantConv2D, "_border_paddings", lambda self, inputs: None)
    )
    return stack


def _output_and_gradients(layer_or_model, x):
    """The output (training mode) and the gradients of a position-weighted sum of it with
    respect to the input and every trainable weight."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer_or_model(x, training=True)
        weights = tf.reshape(tf.range(tf.size(y), dtype=y.dtype), y.shape) / 100
        loss = tf.reduce_sum(y * weights)
    return [y, *tape.gradient(loss, [x, *layer_or_model.trainable_weights])]


@pytest.mark.parametrize(
    ("arguments", "input_shape"),
    [
        ({"kernel_size": 3, "strides": 1}, (7, 7, 4)),
        ({"kernel_size": 2, "strides": 2}, (7, 7, 4)),  # asymmetric padding
        ({"kernel_size": 3, "strides": 2}, (7, 8, 4)),  # odd and even sizes
        ({"kernel_size": (3, 5), "strides": (2, 1)}, (5, 9, 3)),
        ({"kernel_size": 3, "strides": 1, "dilation_rate": 2}, (7, 7, 4)),
        ({"kernel_size": 3, "strides": 1, "dilation_rate": (1, 3)}, (6, 9, 4)),
        ({"kernel_size": 3, "pad_values": 0.0}, (7, 7, 4)),  # native padding: larq's own path
        ({"kernel_size": 3, "pad_values": -1.0}, (7, 7, 4)),
        ({"kernel_size": 3, "use_bias": True, "activation": "relu"}, (7, 7, 4)),
        ({"kernel_size": 3, "kernel_quantizer": "magnitude_aware_sign"}, (7, 7, 4)),
        (
            {"kernel_size": 3, "input_quantizer": "ste_tern", "kernel_quantizer": "ste_tern"},
            (7, 7, 4),
        ),
        ({"kernel_size": 3, "kernel_quantizer": "twn_ternary"}, (7, 7, 4)),
        (
            {"kernel_size": 3, "activation_scaling": True, "kernel_quantizer": "xnor_weight_scale"},
            (7, 7, 4),
        ),
        (
            {
                "kernel_size": 3,
                "pad_values": 0.5,
                "input_quantizer": None,
                "kernel_quantizer": None,
            },
            (7, 7, 4),
        ),
    ],
)
def test_padded_convolution_equals_larqs_explicit_pad(arguments, input_shape):
    """Native padding plus the border correction = larq's tf.pad with pad_values, forward and
    backward: bit for bit for ±1 inputs and kernels (integer sums), up to float rounding for
    scaled or real-valued ones."""
    arguments = {
        "filters": 5,
        "padding": "same",
        "pad_values": 1.0,
        "input_quantizer": "ste_sign",
        "kernel_quantizer": "ste_sign",
        "kernel_constraint": "weight_clip",
        **arguments,
    }
    x = tf.constant(np.random.default_rng(2).normal(size=(3, *input_shape)).astype("float32"))
    ours = layers.QuantConv2D(**arguments)
    with _larqs_path():
        larqs = layers.QuantConv2D(**arguments)
        larqs.build(x.shape)
        expected = _output_and_gradients(larqs, x)
    ours.build(x.shape)
    ours.set_weights(larqs.get_weights())
    actual = _output_and_gradients(ours, x)
    signs = arguments["input_quantizer"] == arguments["kernel_quantizer"] == "ste_sign"
    if signs and "use_bias" not in arguments:
        np.testing.assert_array_equal(actual[0].numpy(), expected[0].numpy())
    for a, b in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)


def test_border_correction_quantizes_the_kernel_once():
    layer = layers.QuantConv2D(4, 3, padding="same", pad_values=1.0, kernel_quantizer="ste_sign")
    x = tf.ones((2, 5, 5, 3))
    layer.build(x.shape)
    quantizer = layer.kernel.quantizer
    with mock.patch.object(layer.kernel, "quantizer", mock.Mock(wraps=quantizer)) as counted:
        layer(x)
    assert counted.call_count == 1


# Zoo models whose binary convolutions pad with +1, at small inputs, in float64: in float32 the
# different summation order is visible after a few layers (e.g. in BatchNorm's gamma gradient,
# a sum that nearly cancels). XNOR-Net runs with ±1 kernels here: its α-scaled sums differ in
# rounding, which changes which of two tied values a max-pool passes the gradient to.
ZOO_CASES = [
    pytest.param("binarynet_cnn", (8, 8, 3), {"hidden_units": 8}, id="binarynet_cnn"),
    pytest.param(
        "xnornet_alexnet",
        (32, 32, 3),
        {"hidden_units": 8, "kernel_quantizer": "ste_sign"},
        id="xnornet_alexnet",
    ),
    pytest.param("birealnet18", (16, 16, 3), {}, id="birealnet18"),
    pytest.param("reactnet_a", (32, 32, 3), {}, id="reactnet_a", marks=pytest.mark.slow),
]


@pytest.fixture
def _float64():
    tf.keras.backend.set_floatx("float64")
    yield
    tf.keras.backend.set_floatx("float32")


@pytest.mark.usefixtures("_float64")
@pytest.mark.parametrize(("name", "input_shape", "kwargs"), ZOO_CASES)
def test_zoo_model_steps_equal_larqs_path(name, input_shape, kwargs):
    """A training-mode forward pass and all gradients of a zoo model equal those of the same
    model computed by larq's path, up to summation order."""
    x = tf.constant(np.random.default_rng(3).normal(size=(4, *input_shape)))
    with _larqs_path():
        larqs = zoo.create_model(name, input_shape=input_shape, num_classes=3, **kwargs)
        expected = _output_and_gradients(larqs, x)
    ours = zoo.create_model(name, input_shape=input_shape, num_classes=3, **kwargs)
    ours.set_weights(larqs.get_weights())
    assert any(
        isinstance(layer, layers.QuantConv2D) and layer.padding == "same" and layer.pad_values == 1
        for layer in ours.layers
    )
    actual = _output_and_gradients(ours, x)
    assert actual[0].dtype == tf.float64
    for a, b in zip(actual, expected, strict=True):
        b = b.numpy()
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-9, atol=1e-12 * np.abs(b).max())
