"""The bitnets kernels as a TFLite delegate (``csrc/delegate.c``) on stock interpreters that have
no custom-operator hook: ai-edge-litert's ``Interpreter(experimental_delegates=
[load_delegate(runtime.delegate_path())])`` must give the same outputs, bit for bit, as the
operators registered into ``tf.lite`` (float operators with the default XNNPACK delegate in
both), and larq-compute-engine's interpreter within 1e-5 of the output range; each ``Lce*``
operator alone bit-identical to LCE's. ``tf.lite``'s own interpreter takes the delegate too."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from support.convert_models import BINARY, random_architecture, randomize
from support.lce_ops import compare_operators, invoke, lce_file, run_lce, run_ours

from bitnets_tf import layers, runtime
from bitnets_tf.converters import convert
from bitnets_tf.converters.quiet import captured_output
from bitnets_tf.demo.model import demo_model
from bitnets_tf.deploy.interpreters import ModelRunner
from bitnets_tf.runtime import _library
from bitnets_tf.runtime.operators import lce_operators
from bitnets_tf.zoo import create_model

litert = pytest.importorskip("ai_edge_litert.interpreter")
pytestmark = pytest.mark.skipif(not runtime.available(), reason="kernels not built")

# Whole models against LCE's interpreter: only the float operators differ (another TFLite build).
LCE_RELATIVE_TOLERANCE = 1e-5


def litert_interpreter(flatbuffer: bytes, num_threads: int = 1, xnnpack: bool = True):
    resolver = litert.OpResolverType
    interpreter = litert.Interpreter(
        model_content=flatbuffer,
        experimental_delegates=[litert.load_delegate(runtime.delegate_path())],
        num_threads=num_threads,
        experimental_op_resolver_type=(
            resolver.AUTO if xnnpack else resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        ),
    )
    interpreter.allocate_tensors()
    return interpreter


def run_litert(flatbuffer: bytes, inputs, num_threads: int = 1, xnnpack: bool = True):
    return invoke(litert_interpreter(flatbuffer, num_threads, xnnpack), inputs)


@functools.cache
def zoo_file(name: str) -> bytes:
    """The lce file of a zoo model at 32x32 (converted once per test session)."""
    with captured_output():
        model = create_model(name, input_shape=(32, 32, 3), num_classes=10)
    return lce_file(randomize(model))


def demo() -> tf.keras.Model:
    return randomize(demo_model((28, 28, 1), 10))


@functools.cache
def demo_file() -> bytes:
    """The lce file of the demo network (Fashion-MNIST), converted once per test session."""
    return lce_file(demo())


def sample(flatbuffer: bytes, seed: int = 1) -> np.ndarray:
    shape = litert_interpreter(flatbuffer).get_input_details()[0]["shape"]
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def check_against_registration_and_lce(flatbuffer: bytes) -> None:
    x = sample(flatbuffer)
    actual = run_litert(flatbuffer, [x])[0]
    np.testing.assert_array_equal(actual, run_ours(flatbuffer, [x], xnnpack=True)[0])
    lce = run_lce(flatbuffer, [x])[0].reshape(actual.shape)
    assert np.abs(actual - lce).max() <= LCE_RELATIVE_TOLERANCE * np.abs(lce).max()


def test_litert_with_delegate_matches_registration_and_lce_on_demo_network():
    check_against_registration_and_lce(demo_file())


def test_litert_with_delegate_matches_registration_and_lce_on_birealnet():
    check_against_registration_and_lce(zoo_file("birealnet18"))


@pytest.mark.parametrize("seed", [0, 1, 4, 6])
def test_litert_with_delegate_on_random_architectures(seed):
    check_against_registration_and_lce(lce_file(random_architecture(np.random.default_rng(seed))))


@pytest.mark.slow
def test_litert_with_delegate_on_reactnet():
    check_against_registration_and_lce(zoo_file("reactnet_a"))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8, 48))
def test_litert_with_delegate_on_many_random_architectures(seed):
    from bitnets_tf.converters import ConversionError

    try:
        flatbuffer = lce_file(random_architecture(np.random.default_rng(seed)))
    except ConversionError:
        pytest.skip("the converter refuses this architecture")
    check_against_registration_and_lce(flatbuffer)


def test_each_operator_through_the_delegate_bit_identical_to_lce():
    def run(flatbuffer, inputs, num_threads):
        return run_litert(flatbuffer, inputs, num_threads, xnnpack=False)

    checked = compare_operators(zoo_file("birealnet18"), run=run)
    assert checked.count("LceBconv2d") >= 16 and "LceQuantize" in checked


@functools.cache
def wide_convolutions_file() -> bytes:
    """Two binary 3x3 convolutions on 32x32x64: 38 M binary MACs each, enough to be split over
    the interpreter's threads."""
    inputs = tf.keras.Input((32, 32, 64))
    x = layers.QuantConv2D(64, 3, padding="same", **BINARY)(inputs)
    x = tf.keras.layers.BatchNormalization()(x)
    x = layers.QuantConv2D(64, 3, padding="same", **BINARY)(x)
    outputs = tf.keras.layers.BatchNormalization()(x)
    return lce_file(randomize(tf.keras.Model(inputs, outputs)))


def test_threads_give_identical_results():
    flatbuffer = wide_convolutions_file()
    x = sample(flatbuffer)
    one = run_litert(flatbuffer, [x])[0]
    np.testing.assert_array_equal(one, run_litert(flatbuffer, [x], num_threads=2)[0])


# Runs one LceBconv2d in a fresh process and prints how many threads its invocation started.
THREADS_STARTED = """
import os, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType, load_delegate
model, library, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
interpreter = Interpreter(
    model_path=model, experimental_delegates=[load_delegate(library)], num_threads=threads,
    experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
interpreter.allocate_tensors()
detail = interpreter.get_input_details()[0]
interpreter.set_tensor(detail["index"], np.ones(detail["shape"], detail["dtype"]))
before = len(os.listdir("/proc/self/task"))
interpreter.invoke()
print(len(os.listdir("/proc/self/task")) - before)
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc")
def test_delegated_convolution_uses_the_interpreters_thread_count(tmp_path):
    operators = lce_operators(wide_convolutions_file())
    convolution = next(op for op in operators if op.name == "LceBconv2d")
    model = tmp_path / "bconv.tflite"
    model.write_bytes(convolution.flatbuffer)

    def threads_started(num_threads: int) -> int:
        command = [sys.executable, "-c", THREADS_STARTED, str(model), runtime.delegate_path()]
        result = subprocess.run(
            [*command, str(num_threads)], capture_output=True, text=True, check=True, timeout=120
        )
        return int(result.stdout.split()[-1])

    assert threads_started(1) == 0
    assert threads_started(3) == 2  # the kernels' pool: the caller and two workers


def test_delegate_claims_the_lce_operators_and_xnnpack_the_float_ones():
    flatbuffer = demo_file()
    lce_ops = sum(
        1 for op in litert_interpreter(flatbuffer)._get_ops_details() if "Lce" in op["op_name"]
    )

    def delegate_nodes(xnnpack: bool) -> int:
        details = litert_interpreter(flatbuffer, xnnpack=xnnpack)._get_ops_details()
        return sum(1 for op in details if op["op_name"] == "DELEGATE")

    assert lce_ops >= 5
    assert delegate_nodes(xnnpack=False) == lce_ops  # one delegate node per Lce* operator
    assert delegate_nodes(xnnpack=True) > lce_ops  # XNNPACK partitions of the float operators


def test_tf_lite_interpreter_takes_the_delegate():
    flatbuffer = lce_file(random_architecture(np.random.default_rng(6)))
    x = sample(flatbuffer)
    resolver = tf.lite.experimental.OpResolverType
    delegates = {  # runtime.load_delegate() uses the installed package's: tf.lite's here
        True: tf.lite.experimental.load_delegate(runtime.delegate_path()),
        False: runtime.load_delegate(),
    }
    for xnnpack, resolver_type in (
        (True, resolver.AUTO),
        (False, resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES),
    ):
        interpreter = tf.lite.Interpreter(
            model_content=flatbuffer,
            experimental_delegates=[delegates[xnnpack]],
            experimental_op_resolver_type=resolver_type,
        )
        interpreter.allocate_tensors()
        expected = run_ours(flatbuffer, [x], xnnpack=xnnpack)[0]
        np.testing.assert_array_equal(invoke(interpreter, [x])[0], expected)


def test_delegate_leaves_models_without_lce_operators_alone():
    with captured_output():
        flatbuffer = convert(demo(), target="float", verify=False, float_reference=False).flatbuffer
    x = sample(flatbuffer)
    stock = litert.Interpreter(model_content=flatbuffer)
    stock.allocate_tensors()
    np.testing.assert_array_equal(run_litert(flatbuffer, [x])[0], invoke(stock, [x])[0])


def test_delegate_rejects_options():
    with pytest.raises(ValueError, match="takes no options"):
        litert.load_delegate(runtime.delegate_path(), {"num_threads": "2"})


def test_runner_uses_litert_with_the_delegate_without_tensorflow_hook(monkeypatch, tmp_path):
    path = tmp_path / "demo_lce.tflite"
    path.write_bytes(demo_file())
    x = sample(path.read_bytes())
    expected = run_ours(path.read_bytes(), [x], xnnpack=True)[0]
    monkeypatch.setattr(_library, "_tensorflow_host", lambda: None)
    _library.tflite_host.cache_clear()
    try:
        assert _library.tflite_host().package == "ai_edge_litert"
        runner = ModelRunner(path)
        assert runner.runtime == "tflite"
        np.testing.assert_array_equal(runner.run(x[0])[0], expected[0])
    finally:
        monkeypatch.undo()
        _library.tflite_host.cache_clear()
