"""The stock runtime: LiteRT where installed, tf.lite as the fallback, the same in edge.py."""

import importlib.util

import numpy as np
import pytest
import tensorflow as tf

from bitnets_tf.deploy import edge
from bitnets_tf.tflite import interpreters

HAS_LITERT = importlib.util.find_spec("ai_edge_litert") is not None


@pytest.fixture(scope="module")
def float_model() -> bytes:
    inputs = tf.keras.Input((4,), batch_size=1)
    outputs = tf.keras.layers.Dense(3, kernel_initializer="ones", bias_initializer="ones")(inputs)
    model = tf.keras.Model(inputs, outputs)
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def outputs(interpreter, sample: np.ndarray) -> np.ndarray:
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], sample)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


@pytest.mark.skipif(not HAS_LITERT, reason="ai-edge-litert is not installed")
def test_litert_is_chosen_when_installed(float_model):
    runtime = interpreters.stock_runtime()
    assert runtime.package == "ai-edge-litert"
    interpreter = interpreters.stock_interpreter(float_model)
    assert type(interpreter).__module__.startswith("ai_edge_litert")
    assert type(edge.stock_interpreter(float_model, 1)) is type(interpreter)


def test_tf_lite_fallback_runs_without_a_warning(float_model, monkeypatch, recwarn):
    monkeypatch.setattr(interpreters, "RUNTIME_MODULES", (("no-such-runtime", "no_such_mod"),))
    runtime = interpreters.stock_runtime()
    assert runtime.package == "tensorflow (tf.lite)"
    assert runtime.interpreter_class is tf.lite.Interpreter
    sample = np.array([[1.0, 2.0, 3.0, 4.0]], np.float32)
    result = outputs(interpreters.stock_interpreter(float_model), sample)
    np.testing.assert_allclose(result, [[11.0, 11.0, 11.0]])
    assert not [w for w in recwarn if "deprecated" in str(w.message).lower()]


@pytest.mark.skipif(not HAS_LITERT, reason="ai-edge-litert is not installed")
def test_litert_and_tf_lite_agree(float_model, monkeypatch):
    sample = np.random.default_rng(0).normal(size=(1, 4)).astype(np.float32)
    litert = outputs(interpreters.stock_interpreter(float_model), sample)
    monkeypatch.setattr(interpreters, "RUNTIME_MODULES", ())
    fallback = outputs(interpreters.stock_interpreter(float_model), sample)
    np.testing.assert_allclose(litert, fallback, rtol=1e-6)
