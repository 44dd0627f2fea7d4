"""Comparing the bitnets kernels with larq-compute-engine's interpreter, one LCE operator at a
time: every Lce* operator of a converted model is cut out into a one-operator model (its
constant inputs kept, its activation input made the model input) and both interpreters run it on
the same random input."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from bitnets_tf import runtime
from bitnets_tf.runtime.operators import lce_operators
from bitnets_tf.tflite.interpreters import lce_interpreter


def run_lce(flatbuffer: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(o) for o in lce_interpreter(flatbuffer).predict(inputs)]


def lce_file(model) -> bytes:
    """The ``lce`` conversion of a Keras model (not verified)."""
    from bitnets_tf.converters import convert
    from bitnets_tf.converters.quiet import captured_output

    with captured_output():
        return convert(model, target="lce", verify=False, float_reference=False).flatbuffer


def invoke(interpreter, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The outputs of a (tensors allocated) TFLite interpreter for ``inputs``."""
    for detail, value in zip(interpreter.get_input_details(), inputs, strict=True):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def run_ours(
    flatbuffer: bytes, inputs: list[np.ndarray], num_threads: int = 1, xnnpack: bool = False
) -> list[np.ndarray]:
    interpreter = runtime.make_interpreter(flatbuffer, num_threads=num_threads, xnnpack=xnnpack)
    return invoke(interpreter, inputs)


def random_input(flatbuffer: bytes, seed: int) -> list[np.ndarray]:
    """Random inputs for a one-operator model: bitpacked words with all 32 bits random (both
    implementations XOR whole words, padding bits included), floats of both signs with some
    exact zeros, int8 over the whole range."""
    rng = np.random.default_rng(seed)
    interpreter = lce_interpreter(flatbuffer)
    values = []
    for shape, dtype in zip(interpreter.input_shapes, interpreter.input_types, strict=True):
        dtype = np.dtype(dtype)
        if dtype == np.int32:
            words = rng.integers(-(2**31), 2**31, size=shape, dtype=np.int64)
            values.append(words.astype(np.int32))
        elif dtype == np.int8:
            values.append(rng.integers(-128, 128, size=shape).astype(np.int8))
        else:
            value = rng.normal(size=shape).astype(np.float32)
            value[rng.random(shape) < 0.05] = 0.0
            values.append(value)
    return values


def compare_operators(
    flatbuffer: bytes, seed: int = 0, num_threads: int = 1, run=run_ours
) -> list[str]:
    """Names of the Lce* operators checked; raises AssertionError on the first output that is
    not bit-identical to larq-compute-engine's. ``run(flatbuffer, inputs, num_threads=...)``
    runs a one-operator model with the kernels under test."""
    checked = []
    for index, operator in enumerate(lce_operators(flatbuffer)):
        name, single = operator.name, operator.flatbuffer
        inputs = random_input(single, seed + index)
        expected = run_lce(single, inputs)
        actual = run(single, inputs, num_threads=num_threads)
        for e, a in zip(expected, actual, strict=True):
            assert e.dtype == a.dtype and e.size == a.size, (name, e.shape, a.shape)
            e = e.reshape(a.shape)  # LCE's predict drops the batch axis of one sample
            if not np.array_equal(e.view(np.uint8), a.view(np.uint8)):
                diff = np.argwhere(e != a)
                first = tuple(diff[0])
                raise AssertionError(
                    f"{name} (operator {index}) differs at {len(diff)} of {e.size} values, "
                    f"first at {list(first)}: LCE {e[first]}, ours {a[first]}"
                )
        checked.append(name)
    return checked
