"""The bitnets kernels for the LCE operators against larq-compute-engine's interpreter: every
Lce* operator of converted models, cut out one at a time, must give bit-identical outputs
(float, int8 and bitpacked); all-binary models bit-identical end to end."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import tensorflow as tf
from support.convert_models import BINARY, binary_cnn, binary_mlp, randomize, reactnet_block
from support.lce_ops import compare_operators, lce_file, run_lce, run_ours

from bitnets_tf import layers, runtime
from bitnets_tf.converters.quiet import captured_output
from bitnets_tf.runtime.operators import lce_operators
from bitnets_tf.zoo import create_model, list_models

pytestmark = pytest.mark.skipif(not runtime.available(), reason="kernels not built")

L = tf.keras.layers


def random_architecture(seed: int) -> tf.keras.Model:
    """A random binary CNN: odd sizes, channel counts that are not multiples of 32, strides 1/2,
    dilations 1/2, 1/3/5 kernels, same (one- or zero-padding) and valid padding, chains with
    bitpacked outputs (batch norm then another binary layer) and binary max-pools."""
    rng = np.random.default_rng(seed)
    size = int(rng.choice([5, 7, 9, 11, 13]))
    x = inputs = tf.keras.Input((size, size, int(rng.choice([1, 3, 20, 33, 70]))))
    for _ in range(int(rng.integers(1, 4))):
        kernel = int(rng.choice([1, 3, 3, 5]))
        dilation = int(rng.choice([1, 1, 2])) if kernel > 1 else 1
        stride = 1 if dilation > 1 else int(rng.choice([1, 2]))
        padding = str(rng.choice(["same", "valid"]))
        if padding == "valid" and x.shape[1] < (kernel - 1) * dilation + 2:
            padding = "same"
        x = layers.QuantConv2D(
            int(rng.choice([8, 31, 32, 33, 64, 70])),
            kernel,
            strides=stride,
            dilation_rate=dilation,
            padding=padding,
            pad_values=float(rng.choice([0.0, 1.0])),
            **BINARY,
        )(x)
        x = L.BatchNormalization()(x)
        if rng.random() < 0.3 and x.shape[1] >= 3:
            x = layers.QuantConv2D(x.shape[-1], 1, **BINARY)(x)  # bitpacked input to the pool
            pool_padding = str(rng.choice(["same", "valid"]))
            x = L.MaxPool2D(int(rng.choice([2, 3])), padding=pool_padding)(x)
    x = L.Flatten()(x)
    x = layers.QuantDense(int(rng.choice([6, 40])), **BINARY)(x)
    x = L.BatchNormalization()(x)
    return randomize(tf.keras.Model(inputs, x), seed=seed)


@functools.cache
def narrow_file() -> bytes:
    """Convolutions with 1 to 4 words per pixel through every path of the channel-major kernel:
    1x1 stride 1 (rows read in place; 7x9 pixels leave a partial last tile), 1x1 stride 2, 3x3
    with zero and one padding and dilation 2, 3x3 valid; 33, 70, 64, 31, 40 and 96 channels;
    float and bitpacked outputs."""
    x = inputs = tf.keras.Input((7, 9, 33))
    x = layers.QuantConv2D(70, 1, **BINARY)(x)
    x = L.BatchNormalization()(x)
    x = layers.QuantConv2D(64, 3, padding="same", pad_values=0.0, **BINARY)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = layers.QuantConv2D(31, 3, dilation_rate=2, padding="same", pad_values=1.0, **BINARY)(x)
    x = L.BatchNormalization()(x)
    x = layers.QuantConv2D(40, 1, strides=2, **BINARY)(x)
    x = L.BatchNormalization()(x)
    x = layers.QuantConv2D(96, 3, padding="valid", **BINARY)(x)
    x = L.BatchNormalization()(x)
    x = L.Flatten()(x)
    x = layers.QuantDense(6, **BINARY)(x)
    x = L.BatchNormalization()(x)
    return lce_file(randomize(tf.keras.Model(inputs, x), seed=5))


def test_operators_bit_identical_on_shared_models():
    for build in (binary_cnn, binary_mlp, reactnet_block):
        checked = compare_operators(lce_file(build()))
        assert "LceBconv2d" in checked and "LceQuantize" in checked


@pytest.mark.parametrize("seed", range(6))
def test_operators_bit_identical_on_random_architectures(seed):
    checked = compare_operators(lce_file(random_architecture(seed)), seed=seed)
    assert checked.count("LceBconv2d") >= 2


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6, 206))
def test_operators_bit_identical_on_many_random_architectures(seed):
    compare_operators(lce_file(random_architecture(seed)), seed=seed)


@pytest.mark.parametrize("kernel", ["portable", "popcnt", "avx2", "avx512", "neon"])
def test_narrow_convolutions_bit_identical_with_every_kernel(kernel):
    try:
        runtime.force_kernel(kernel)
    except ValueError:
        pytest.skip(f"the {kernel} kernel does not run on this CPU")
    try:
        checked = compare_operators(narrow_file(), seed=4)
    finally:
        runtime.force_kernel(None)
    assert checked.count("LceBconv2d") == 6


def test_narrow_convolutions_on_a_batch_equal_single_images():
    rng = np.random.default_rng(7)
    for operator in lce_operators(narrow_file()):
        if operator.name != "LceBconv2d":
            continue
        interpreter = runtime.make_interpreter(operator.flatbuffer, num_threads=2)
        detail = interpreter.get_input_details()[0]
        shape = [3, *detail["shape"][1:]]
        words = rng.integers(-(2**31), 2**31, size=shape, dtype=np.int64).astype(np.int32)
        singles = [run_ours(operator.flatbuffer, [words[i : i + 1]])[0] for i in range(3)]
        interpreter.resize_tensor_input(detail["index"], shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(detail["index"], words)
        interpreter.invoke()
        batch = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        np.testing.assert_array_equal(batch, np.concatenate(singles))


def test_all_binary_model_bit_identical_end_to_end():
    flatbuffer = lce_file(binary_cnn())
    sample = np.random.default_rng(1).normal(size=(1, 10, 10, 3)).astype(np.float32)
    expected = run_lce(flatbuffer, [sample])[0]
    actual = run_ours(flatbuffer, [sample])[0]
    np.testing.assert_array_equal(expected.reshape(actual.shape), actual)
    # with XNNPACK for the float operators (the default) too: this model has none
    np.testing.assert_array_equal(actual, run_ours(flatbuffer, [sample], xnnpack=True)[0])


def test_threads_and_kernels_give_identical_results():
    flatbuffer = lce_file(random_architecture(3))
    shape = runtime.make_interpreter(flatbuffer).get_input_details()[0]["shape"]
    sample = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    reference = run_ours(flatbuffer, [sample])[0]
    np.testing.assert_array_equal(reference, run_ours(flatbuffer, [sample], num_threads=2)[0])
    for name in ("portable", "popcnt", "avx2", "avx512", "neon"):
        try:
            runtime.force_kernel(name)
        except ValueError:
            continue  # not this CPU
        try:
            np.testing.assert_array_equal(reference, run_ours(flatbuffer, [sample])[0])
        finally:
            runtime.force_kernel(None)


def test_zoo_model_operators_bit_identical():
    with captured_output():
        model = create_model("birealnet18", input_shape=(32, 32, 3), num_classes=10)
    assert compare_operators(lce_file(model)).count("LceBconv2d") >= 16


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_every_zoo_model_operators_bit_identical(name):
    shape = (28, 28, 1) if name.startswith("binarynet") else (64, 64, 3)
    with captured_output():
        model = create_model(name, input_shape=shape, num_classes=10)
    compare_operators(lce_file(model))


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="num_threads"):
        runtime.make_interpreter(b"", num_threads=0)
    with pytest.raises(ValueError, match="not available"):
        runtime.force_kernel("sse9")
    assert runtime.kernel_name() in ("avx512", "avx2", "popcnt", "neon", "portable")
