"""Each target on a binary CNN, a ReActNet-style block, a binary MLP and a ternary net: the
converted model agrees with Keras, checked here independently of the converter's verifier."""

import numpy as np
import pytest
from support.convert_models import (
    binary_cnn,
    binary_mlp,
    plus_minus_one,
    reactnet_block,
    ternary_inputs,
    ternary_net,
)

from bitnets_tf.converters import (
    DEFAULT_TOLERANCES,
    convert,
    rewrite,
)
from bitnets_tf.converters.verify import keras_outputs, measure
from bitnets_tf.tflite import flatbuffer
from bitnets_tf.tflite.batch import run_lce, run_tflite

MODELS = {
    "binary_cnn": (binary_cnn, plus_minus_one),
    "binary_mlp": (binary_mlp, plus_minus_one),
    "reactnet_block": (
        reactnet_block,
        lambda shape, n, seed=0: (
            np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)
        ),
    ),
    "ternary_net": (ternary_net, ternary_inputs),
}
PURE = ("binary_cnn", "binary_mlp", "ternary_net")  # exact in int8 on their inputs


@pytest.fixture(scope="module")
def converted():
    """Each (model, target) converted once per module: (model, ConversionResult)."""
    import tensorflow as tf

    cache = {}

    def get(name, target):
        if (name, target) not in cache:
            tf.keras.utils.set_random_seed(0)
            model = MODELS[name][0]()
            verification = MODELS[name][1](tuple(model.inputs[0].shape[1:]), 16, seed=7)
            result = convert(
                model,
                target=target,
                sample_inputs=verification,
                float_reference=(name, target) == ("binary_cnn", "lce"),
            )
            cache[name, target] = (model, result)
        return cache[name, target]

    return get


@pytest.mark.parametrize("target", ["lce", "int8", "float"])
@pytest.mark.parametrize("name", list(MODELS))
def test_converted_model_agrees_with_keras(converted, name, target):
    model, result = converted(name, target)
    assert result.report.verified
    samples = 1000 if target == "int8" and name in PURE else 64
    fresh = MODELS[name][1](tuple(model.inputs[0].shape[1:]), samples, seed=11)
    run = run_lce if target == "lce" else run_tflite
    actual = run(result.flatbuffer, [fresh])
    expected = keras_outputs(model, [fresh])
    agreement = measure(expected, actual, DEFAULT_TOLERANCES[target])
    assert agreement.passes(DEFAULT_TOLERANCES[target]), agreement.describe()
    if target != "int8" or name in PURE:  # int8 of pure ±1/ternary nets: 100 % on 1,000
        assert agreement.argmax_agreement == 1.0, agreement.describe()
    if target == "int8":
        assert not flatbuffer.custom_operators(result.flatbuffer)


def test_int8_binary_layers_are_exact_and_the_head_float(converted):
    model, result = converted("binary_mlp", "int8")
    inputs = plus_minus_one((48,), 200, seed=3)
    expected = model.predict(inputs, verbose=0)
    actual = run_tflite(result.flatbuffer, [inputs])[0]
    np.testing.assert_allclose(actual, expected, atol=1e-4 * np.abs(expected).max())
    assert flatbuffer.operator_counts(result.flatbuffer)["FULLY_CONNECTED"] == 3
    assert "FULLY_CONNECTED" in result.report.float_ops  # the head; the body is int8


def test_binary_dense_and_convolutions_become_bitpacked(converted):
    _, result = converted("binary_cnn", "lce")
    ops = flatbuffer.operator_names(result.flatbuffer)
    assert ops.count("LceBconv2d") == 4  # three convolutions and larq's QuantDense
    assert "FULLY_CONNECTED" not in ops and "LceDequantize" not in ops
    report = result.report
    assert report.bitpacked_share == 1.0 and report.not_bitpacked == []
    assert [change for _, change in report.rewrites] == ["larq QuantDense → 1×1 binary convolution"]
    assert report.size_ratio is not None and report.size_ratio < 0.25


def test_ternary_activations_are_not_binarized_by_lce(converted):
    model, result = converted("ternary_net", "lce")
    ops = flatbuffer.operator_names(result.flatbuffer)
    assert "LceQuantize" not in ops and "LceBconv2d" not in ops
    inputs = ternary_inputs((8, 8, 4), 64, seed=5)
    np.testing.assert_allclose(
        run_lce(result.flatbuffer, [inputs])[0], model.predict(inputs, verbose=0), atol=1e-3
    )
    changed = [change for _, change in result.report.rewrites if "ste_tern" in change]
    assert changed == ["ste_tern → exact comparison form"] * 2  # ours needs no rewrite


def test_binary_dense_too_large_for_lce_is_split(monkeypatch):
    from bitnets_tf.converters import chunked

    monkeypatch.setattr(chunked, "LCE_MAX_KERNEL_ELEMENTS", 1000)  # the real limit is 2^24
    monkeypatch.setattr(rewrite, "LCE_MAX_KERNEL_ELEMENTS", 1000)
    model = binary_mlp()
    inputs = plus_minus_one((48,), 16, seed=2)
    result = convert(model, target="lce", sample_inputs=inputs, float_reference=False)
    changes = [change for _, change in result.report.rewrites]
    assert changes == [  # 48×64 and 64×64 weights; the 64×10 layer stays whole
        f"binary dense → {n} 1×1 binary convolutions (LCE size limit)" for n in (4, 5)
    ]
    assert flatbuffer.operator_names(result.flatbuffer).count("LceBconv2d") == 4 + 5 + 1
    np.testing.assert_allclose(
        run_lce(result.flatbuffer, [inputs])[0], model.predict(inputs, verbose=0), atol=1e-3
    )


def test_binary_convolution_too_large_for_lce_is_split_over_output_channels(monkeypatch):
    """With XNOR-Net's per-channel weight scale, as larq-zoo's XNORNet fc6 (a 6×6 convolution
    of 2^25 weights) has it: each piece keeps the quantizer, and the file is exact."""
    import tensorflow as tf

    from bitnets_tf.converters import chunked
    from bitnets_tf.layers import QuantConv2D

    monkeypatch.setattr(chunked, "LCE_MAX_KERNEL_ELEMENTS", 1000)  # the real limit is 2^24
    monkeypatch.setattr(rewrite, "LCE_MAX_KERNEL_ELEMENTS", 1000)
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((6, 6, 8))
    x = tf.keras.layers.BatchNormalization()(inputs)
    x = QuantConv2D(
        16, 3, input_quantizer="ste_sign", kernel_quantizer="xnor_weight_scale", use_bias=False
    )(x)
    model = tf.keras.Model(inputs, x)
    model.layers[1].moving_mean.assign(np.linspace(-0.5, 0.5, 8).astype(np.float32))
    samples = np.random.default_rng(3).standard_normal((16, 6, 6, 8)).astype(np.float32)
    result = convert(model, target="lce", sample_inputs=samples, float_reference=False)
    changes = [change for _, change in result.report.rewrites]
    assert changes == ["binary convolution → 2 over output channels (LCE size limit)"]
    assert flatbuffer.operator_names(result.flatbuffer).count("LceBconv2d") == 2
    fresh = np.random.default_rng(4).standard_normal((64, 6, 6, 8)).astype(np.float32)
    np.testing.assert_allclose(
        run_lce(result.flatbuffer, [fresh])[0], model.predict(fresh, verbose=0), atol=1e-4
    )


def test_nested_blocks_are_audited_and_lowered_layer_by_layer():
    """A model of nested Sequential blocks (as LayerwiseTrainer assembles its result) converts
    like the flat model: its binary layers are bitpacked and exact in int8, not opaque."""
    import tensorflow as tf

    from bitnets_tf.converters import audit_model

    flat = binary_cnn()
    inputs = tf.keras.Input(flat.input_shape[1:])
    first = tf.keras.Sequential(flat.layers[:2], name="block_0")
    rest = tf.keras.Sequential(flat.layers[2:], name="block_1")
    nested = tf.keras.Model(inputs, rest(first(inputs)))

    flat_audit, nested_audit = audit_model(flat), audit_model(nested)
    assert [row.name for row in nested_audit.layers] == [row.name for row in flat_audit.layers]
    assert nested_audit.expected_bconvs == flat_audit.expected_bconvs == 4
    assert nested_audit.binary_macs == flat_audit.binary_macs

    inputs = plus_minus_one((10, 10, 3), 200, seed=4)
    lce_result = convert(nested, target="lce", sample_inputs=inputs, float_reference=False)
    assert flatbuffer.operator_names(lce_result.flatbuffer).count("LceBconv2d") == 4
    int8_result = convert(nested, target="int8", sample_inputs=inputs, float_reference=False)
    flat_int8 = convert(flat, target="int8", sample_inputs=inputs, float_reference=False)
    assert int8_result.report.float_ops == flat_int8.report.float_ops  # the head only
    expected = nested.predict(inputs, verbose=0).argmax(1)
    assert (run_tflite(int8_result.flatbuffer, [inputs])[0].argmax(1) == expected).all()
