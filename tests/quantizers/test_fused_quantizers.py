"""The XLA-fused SteSign and WeightClip equal larq's bit for bit; bitnets_tf's layers use them
and pad natively with a border correction, training like larq's layers (up to float summation
order) without changing what they save."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from bitnets_tf import layers
from bitnets_tf.fused_quantizers import FusedSteSign, FusedWeightClip, fused_ste_sign, fused_twin


def _value_and_gradient(function, x, dy):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
    return y.numpy(), tape.gradient(y, x, output_gradients=tf.constant(dy)).numpy()


@pytest.mark.parametrize("clip_value", [1.0, 0.5, None])
def test_fused_ste_sign_matches_larq_bit_for_bit(clip_value):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1.5, (4, 5, 6, 7)).astype("float32")
    x.flat[:6] = [0.0, -0.0, 1.0, -1.0, np.nan, np.inf]
    dy = rng.normal(size=x.shape).astype("float32")
    expected = _value_and_gradient(lambda t: lq.quantizers.ste_sign(t, clip_value), x, dy)
    fused = lambda t: fused_ste_sign(t, clip_value)  # noqa: E731
    for run in (fused, tf.function(fused)):
        actual = _value_and_gradient(run, x, dy)
        np.testing.assert_array_equal(actual[0], expected[0])
        np.testing.assert_array_equal(actual[1], expected[1])


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


@pytest.mark.parametrize(
    "arguments",
    [
        {"kernel_size": 3, "strides": 1},
        {"kernel_size": 2, "strides": 2},  # asymmetric padding
        {"kernel_size": 3, "strides": 1, "dilation_rate": 2},
        {"kernel_size": 3, "strides": 1, "input_quantizer": None, "kernel_quantizer": None},
    ],
)
def test_padded_convolution_equals_larqs_explicit_pad(arguments):
    """Native padding plus the border correction = larq's tf.pad with pad_values, forward and
    backward, also for real-valued inputs and kernels (equal up to float rounding)."""
    arguments = {
        "filters": 5,
        "padding": "same",
        "pad_values": 1.0,
        "input_quantizer": "ste_sign",
        "kernel_quantizer": "ste_sign",
        "kernel_constraint": "weight_clip",
        **arguments,
    }
    x = tf.constant(np.random.default_rng(2).normal(size=(3, 7, 7, 4)).astype("float32"))
    ours, larqs = layers.QuantConv2D(**arguments), lq.layers.QuantConv2D(**arguments)
    ours.build(x.shape)
    larqs.build(x.shape)
    larqs.set_weights(ours.get_weights())
    results = []
    for layer in (ours, larqs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * tf.reshape(tf.range(tf.size(y), dtype=y.dtype), y.shape) / 100)
        results.append([y, *tape.gradient(loss, [x, *layer.trainable_weights])])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
