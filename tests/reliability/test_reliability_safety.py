"""Crashes and code execution: the ``inf`` calibration crash as a subprocess regression test,
Lambda layers in .h5 / SavedModel / .keras files that must not run without the opt-in, and
multi-input / multi-output models that convert and verify for every target."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from bitnets_tf import cli
from bitnets_tf.converters import TARGETS, convert
from bitnets_tf.converters.files import UnsafeModelFileError

INF_CONVERSION = """
import sys
import numpy as np
import tensorflow as tf
import bitnets_tf
from bitnets_tf import layers
from bitnets_tf.converters import convert

inputs = tf.keras.Input((8, 8, 1))
x = layers.QuantConv2D(4, 3, kernel_quantizer="ste_sign", use_bias=False)(inputs)
x = layers.QuantConv2D(4, 3, input_quantizer="ste_sign", kernel_quantizer="ste_sign")(x)
model = tf.keras.Model(inputs, tf.keras.layers.Dense(3)(tf.keras.layers.Flatten()(x)))
images = np.random.default_rng(0).uniform(size=(64, 8, 8, 1)).astype(np.float32)
images[17, 4, 4, 0] = np.inf
try:
    convert(model, sys.argv[1], target="int8", representative_data=images)
except ValueError as error:
    print(error)
    sys.exit(3)
"""


def test_inf_in_calibration_data_is_an_error_not_a_crash(tmp_path):
    """One inf pixel in 64 representative images crashed TensorFlow's int8 quantizer with
    SIGSEGV; it must be refused, naming the argument and the sample, before converting."""
    out = tmp_path / "model.tflite"
    done = subprocess.run(
        [sys.executable, "-c", INF_CONVERSION, str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != -signal.SIGSEGV, done.stderr[-2000:]
    assert done.returncode == 3, done.stderr[-2000:]
    assert "`representative_data` holds inf at index (17, 4, 4, 0)" in done.stdout
    assert not out.exists()


def _lambda_model(marker: Path) -> tf.keras.Model:
    """A model whose Lambda layer appends to ``marker`` whenever its code runs."""
    code = f"lambda x: (open({str(marker)!r}, 'a').write('ran'), x)[1]"
    inputs = tf.keras.Input((4,))
    outputs = tf.keras.layers.Lambda(eval(code))(inputs)
    return tf.keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def lambda_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("lambda")
    marker = root / "marker"
    model = _lambda_model(marker)
    paths = {"h5": root / "m.h5", "savedmodel": root / "saved", "keras": root / "m.keras"}
    for path in paths.values():
        model.save(str(path))
    marker.unlink()  # building and saving ran the code; loading must not
    return marker, paths


@pytest.mark.parametrize("kind", ["h5", "savedmodel", "keras"])
def test_lambda_code_does_not_run_without_opt_in(lambda_files, kind, tmp_path, capsys):
    marker, paths = lambda_files
    with pytest.raises(UnsafeModelFileError, match="allow_unsafe=True"):
        convert(paths[kind], tmp_path / "m.tflite")
    assert cli.main(["audit", str(paths[kind])]) == 2
    assert "--allow-unsafe" in capsys.readouterr().err
    assert cli.main(["convert", str(paths[kind]), "-o", str(tmp_path / "m.tflite")]) == 2
    assert not marker.exists(), "code from the model file ran"
    assert not (tmp_path / "m.tflite").exists()


def test_with_opt_in_the_lambda_code_runs(lambda_files):
    """The counter-check: the marker does detect the file's code running."""
    marker, paths = lambda_files
    from bitnets_tf.converters.files import load_keras_model

    load_keras_model(paths["h5"], allow_unsafe=True)
    assert marker.exists()
    marker.unlink()


def _two_inputs() -> tf.keras.Model:
    minuend = tf.keras.Input((4,), name="minuend")
    subtrahend = tf.keras.Input((4,), name="subtrahend")
    difference = tf.keras.layers.Subtract(name="difference")([minuend, subtrahend])
    return tf.keras.Model([minuend, subtrahend], difference)


def _two_outputs() -> tf.keras.Model:
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((4,), name="x")
    first = tf.keras.layers.Dense(3, name="zeta")(inputs)  # names sort opposite to the order
    second = tf.keras.layers.Dense(2, name="alpha")(inputs)
    return tf.keras.Model(inputs, [first, second])


@pytest.mark.parametrize("target", TARGETS)
def test_two_input_subtract_converts_and_verifies(target):
    rng = np.random.default_rng(0)
    # Different scales: swapped inputs (or swapped int8 ranges) could not pass.
    samples = [rng.normal(size=(32, 4)).astype(np.float32) * 4, rng.normal(size=(32, 4))]
    result = convert(_two_inputs(), target=target, sample_inputs=samples, float_reference=False)
    assert result.report.verified, result.report.verification


@pytest.mark.parametrize("target", TARGETS)
def test_two_output_model_converts_and_verifies(target):
    result = convert(_two_outputs(), target=target, float_reference=False)
    assert result.report.verified, result.report.verification


def test_outputs_come_back_in_keras_order():
    from bitnets_tf.tflite.batch import run_tflite

    model = _two_outputs()
    x = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    flatbuffer = convert(model, target="float", float_reference=False).flatbuffer
    got = run_tflite(flatbuffer, [x], model.input_names, model.output_names)
    assert [array.shape[1] for array in got] == [3, 2]
    for want, have in zip(model.predict(x, verbose=0), got, strict=True):
        np.testing.assert_allclose(have, want, rtol=1e-5, atol=1e-6)


def test_sigterm_during_conversion_leaves_no_temporary_directory(tmp_path):
    """The CLI turns SIGTERM into a normal exit (143), so the temporary SavedModel directory
    and the partial output are removed."""
    import os

    model = tf.keras.Sequential([tf.keras.Input((8, 8, 1)), tf.keras.layers.Conv2D(2, 3)])
    model.save(tmp_path / "m.keras")
    temp = tmp_path / "tmp"
    temp.mkdir()
    command = [sys.executable, "-m", "bitnets_tf.cli", "convert", str(tmp_path / "m.keras")]
    process = subprocess.Popen(
        [*command, "-o", str(tmp_path / "m.tflite"), "--target", "float"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    for line in process.stdout:  # wait until the conversion has started
        if "converting" in line:
            break
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=300)
    assert process.returncode == 143
    left = [p for p in os.listdir(temp) if not p.startswith("__autograph_generated")]
    assert left == []
    assert not (tmp_path / "m.tflite").exists()
