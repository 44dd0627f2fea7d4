"""Property: for random small binary/ternary architectures, every conversion either verifies
or raises ConversionError — and a verified one agrees with Keras on fresh inputs, checked here
with an independent computation (not the converter's verifier)."""

import numpy as np
import tensorflow as tf
from convert_models import randomize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitnets_tf import layers
from bitnets_tf.converters import DEFAULT_TOLERANCES, ConversionError, convert
from bitnets_tf.converters.lce import run_lce
from bitnets_tf.converters.tflite import run_tflite

ACTIVATIONS = ["ste_sign", "approx_sign", "rsign", "ste_tern", "ternary_activation"]
KERNELS = ["ste_sign", "magnitude_aware_sign", "xnor_weight_scale", "ste_tern"]

convolution = st.fixed_dictionaries(
    {
        "filters": st.sampled_from([8, 16, 33]),
        "kernel_size": st.sampled_from([1, 3]),
        "padding": st.sampled_from(["same", "valid"]),
        "pad_values": st.sampled_from([0.0, 1.0]),
        "strides": st.sampled_from([1, 2]),
        "input_quantizer": st.sampled_from(ACTIVATIONS),
        "kernel_quantizer": st.sampled_from(KERNELS),
        "batch_norm": st.booleans(),
        "max_pool": st.booleans(),
    }
)
architecture = st.fixed_dictionaries(
    {
        "channels": st.sampled_from([1, 3, 5]),
        "convolutions": st.lists(convolution, min_size=1, max_size=3),
        "dense_quantizer": st.sampled_from(ACTIVATIONS[:3] + ACTIVATIONS[4:]),
        "seed": st.integers(0, 1000),
        "target": st.sampled_from(["lce", "int8"]),
    }
)


def _build(spec):
    inputs = tf.keras.Input((8, 8, spec["channels"]))
    x = inputs
    for conv in spec["convolutions"]:
        options = {
            k: conv[k]
            for k in (
                "filters",
                "kernel_size",
                "padding",
                "pad_values",
                "strides",
                "input_quantizer",
                "kernel_quantizer",
            )
        }
        if x.shape[1] < conv["kernel_size"] * conv["strides"] + 1:
            options.update(padding="same", strides=1)
        x = layers.QuantConv2D(use_bias=False, **options)(x)
        if conv["batch_norm"]:
            x = tf.keras.layers.BatchNormalization()(x)
        if conv["max_pool"] and x.shape[1] >= 4:
            x = tf.keras.layers.MaxPool2D()(x)
    x = tf.keras.layers.Flatten()(x)
    x = layers.QuantDense(
        6, input_quantizer=spec["dense_quantizer"], kernel_quantizer="ste_sign", use_bias=False
    )(x)
    x = tf.keras.layers.BatchNormalization()(x)
    return randomize(tf.keras.Model(inputs, x), seed=spec["seed"])


def _independent_agreement(expected, actual, relative_error):
    scale = np.abs(expected).max() or 1.0
    per_sample = np.abs(expected - actual).reshape(len(expected), -1).max(axis=1)
    # a tie in Keras (integer binary logits) may go either way
    chosen = expected[np.arange(len(expected)), actual.argmax(1)]
    return np.mean(per_sample <= relative_error * scale), np.mean(
        chosen >= expected.max(1) - 1e-5 * scale
    )


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architecture)
def test_conversion_verifies_or_raises_and_is_never_silently_wrong(spec):
    model = _build(spec)
    rng = np.random.default_rng(spec["seed"])
    verification = rng.standard_normal((16, 8, 8, spec["channels"])).astype(np.float32)
    target = spec["target"]
    try:
        result = convert(model, target=target, sample_inputs=verification, float_reference=False)
    except ConversionError:
        return  # refused loudly: allowed
    fresh = rng.standard_normal((48, 8, 8, spec["channels"])).astype(np.float32)
    actual = (run_lce if target == "lce" else run_tflite)(result.flatbuffer, [fresh])[0]
    expected = model.predict(fresh, verbose=0)
    tolerance = DEFAULT_TOLERANCES[target]
    samples, argmax = _independent_agreement(expected, actual, tolerance.relative_error)
    slack = 2 / len(fresh)  # sampling noise between 16 verification and 48 fresh inputs
    assert samples >= tolerance.min_sample_agreement - slack, (spec, samples)
    assert argmax >= tolerance.min_argmax_agreement - slack, (spec, argmax)
