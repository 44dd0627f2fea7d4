"""The layers and quantizers convert with larq-compute-engine the way deployment needs:
binary dense and RSign-fed convolutions become bitpacked ops, RPReLU a PRELU, and ternary
activations stay correct (LCE 0.16 silently binarizes larq's ste_tern pattern)."""

import larq_compute_engine as lce
import numpy as np
import pytest
import tensorflow as tf
from larq_compute_engine.tflite.python.interpreter import Interpreter
from support.convert_models import BINARY

from bitnets_tf import layers
from bitnets_tf.tflite.flatbuffer import operator_names


def _randomize(model):
    rng = np.random.default_rng(1)
    model.set_weights(
        [w + rng.normal(0, 0.3, w.shape).astype(w.dtype) for w in model.get_weights()]
    )


def _convert_and_compare(model, inputs):
    flatbuffer = lce.convert_keras_model(model)
    expected = model.predict(inputs, verbose=0)
    actual = Interpreter(flatbuffer, num_threads=1).predict(inputs)
    return operator_names(flatbuffer), expected, actual


@pytest.fixture(scope="module")
def reactnet_style_model():
    inputs = tf.keras.Input((8, 8, 3))
    x = layers.QuantConv2D(16, 3, kernel_quantizer="ste_sign", kernel_constraint="weight_clip")(
        inputs
    )
    x = tf.keras.layers.BatchNormalization()(x)
    x = layers.RPReLU()(x)
    x = layers.QuantConv2D(
        16,
        3,
        padding="same",
        pad_values=1.0,
        input_quantizer="rsign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(x)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.Flatten()(x)
    x = layers.QuantDense(20, **BINARY)(x)
    x = tf.keras.layers.BatchNormalization()(x)
    outputs = layers.QuantDense(10, **BINARY)(x)
    model = tf.keras.Model(inputs, outputs)
    _randomize(model)
    return model


def test_rsign_rprelu_and_binary_dense_become_bitpacked_ops(reactnet_style_model):
    x = np.random.default_rng(0).normal(size=(32, 8, 8, 3)).astype("float32")
    ops, expected, actual = _convert_and_compare(reactnet_style_model, x)
    assert ops.count("LceBconv2d") == 3  # the RSign conv and both binary dense layers
    assert "FULLY_CONNECTED" not in ops and "LceDequantize" not in ops
    assert "PRELU" in ops
    np.testing.assert_allclose(actual, expected, atol=1e-4)
    assert (actual.argmax(1) == expected.argmax(1)).all()


def test_binary_dense_stays_a_matmul_in_keras(reactnet_style_model):
    graph = (
        tf.function(reactnet_style_model).get_concrete_function(tf.TensorSpec([1, 8, 8, 3])).graph
    )
    op_types = {op.type for op in graph.get_operations()}
    assert "MatMul" in op_types


def test_binary_dense_on_rank3_inputs_exports_correctly():
    inputs = tf.keras.Input((5, 12))
    outputs = layers.QuantDense(7, **BINARY)(inputs)
    model = tf.keras.Model(inputs, outputs)
    _randomize(model)
    x = np.random.default_rng(0).normal(size=(4, 5, 12)).astype("float32")
    ops, expected, actual = _convert_and_compare(model, x)
    assert "LceBconv2d" in ops
    np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_ternary_activation_converts_correctly():
    inputs = tf.keras.Input((6, 6, 4))
    x = layers.QuantConv2D(
        8, 3, input_quantizer="ternary_activation", kernel_quantizer="ste_sign", use_bias=False
    )(inputs)
    model = tf.keras.Model(inputs, x)
    _randomize(model)
    data = np.random.default_rng(0).normal(size=(8, 6, 6, 4)).astype("float32")
    ops, expected, actual = _convert_and_compare(model, data)
    assert "LceQuantize" not in ops  # a ternary input must not be binarized
    np.testing.assert_allclose(actual, expected, atol=1e-4)
