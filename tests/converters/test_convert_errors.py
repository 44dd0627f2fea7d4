"""Bad input gets a clear error and leaves no output file behind."""

import os

import numpy as np
import pytest
import tensorflow as tf
from support.convert_models import BINARY

from bitnets_tf import layers
from bitnets_tf.converters import ConversionError, Tolerance, convert, read_metadata
from bitnets_tf.converters.files import write_atomically


def _small_binary_model(input_shape=(6, 6, 2)):
    return tf.keras.Sequential(
        [
            tf.keras.Input(input_shape),
            layers.QuantConv2D(8, 3, **BINARY),
            tf.keras.layers.Flatten(),
            layers.QuantDense(4, **BINARY),
        ]
    )


def _no_files_left(directory):
    return os.listdir(directory) == []


def test_not_a_keras_model(tmp_path):
    with pytest.raises(TypeError, match=r"tf\.keras\.Model"):
        convert(object(), tmp_path / "m.tflite")
    assert _no_files_left(tmp_path)


def test_unknown_target():
    with pytest.raises(ValueError, match="lce, int8, float"):
        convert(_small_binary_model(), target="tpu")


def test_unbuilt_model(tmp_path):
    model = tf.keras.Sequential([layers.QuantDense(4, **BINARY)])
    with pytest.raises(ValueError, match="not built"):
        convert(model, tmp_path / "m.tflite")
    assert _no_files_left(tmp_path)


def test_dynamic_spatial_shape_needs_input_shape(tmp_path):
    model = tf.keras.Sequential(
        [
            tf.keras.Input((None, None, 2)),
            layers.QuantConv2D(8, 3, **BINARY),
            tf.keras.layers.GlobalAveragePooling2D(),
        ]
    )
    with pytest.raises(ValueError, match="input_shape="):
        convert(model, tmp_path / "m.tflite")
    assert _no_files_left(tmp_path)
    result = convert(model, target="lce", input_shape=(6, 6, 2), float_reference=False)
    assert result.report.verified


def _inverse(x):
    """A layer body using MatrixInverse, which TFLite has no builtin for."""
    return tf.reshape(tf.linalg.inv(tf.reshape(x, [-1, 2, 2]) + 3 * tf.eye(2)), [-1, 4])


def test_unsupported_layer_names_the_layer_and_op(tmp_path):
    model = tf.keras.Sequential(
        [
            tf.keras.Input((4,)),
            tf.keras.layers.Lambda(_inverse, name="inverse"),
            tf.keras.layers.Dense(3),
        ]
    )
    with pytest.raises(ConversionError, match="layer 'inverse' uses the TensorFlow op"):
        convert(model, tmp_path / "m.tflite", target="float", float_reference=False)
    assert _no_files_left(tmp_path)


def test_corrupt_keras_file(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match=r"not a valid \.keras file|Could not load"):
        convert(str(path), tmp_path / "m.tflite")
    assert not (tmp_path / "m.tflite").exists()


def test_missing_model_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        convert(str(tmp_path / "absent.keras"))


def test_corrupt_tflite_file(tmp_path):
    path = tmp_path / "broken.tflite"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a TFLite flatbuffer"):
        read_metadata(path)


def test_unwritable_output_path_fails_before_converting(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        convert(_small_binary_model(), tmp_path / "missing" / "m.tflite")
    with pytest.raises(IsADirectoryError):
        convert(_small_binary_model(), tmp_path)


def test_failed_end_to_end_tolerance_refuses_and_writes_nothing(tmp_path):
    model = _small_binary_model()
    impossible = Tolerance(relative_error=-1.0, min_sample_agreement=1.0, min_argmax_agreement=1.0)
    inputs = np.random.default_rng(0).normal(size=(4, 6, 6, 2)).astype(np.float32)
    with pytest.raises(ConversionError) as caught:
        convert(
            model,
            tmp_path / "m.tflite",
            target="lce",
            sample_inputs=inputs,
            tolerance=impossible,
            float_reference=False,
        )
    assert "tolerance" in str(caught.value)
    assert _no_files_left(tmp_path)


def test_bad_sample_inputs_and_metadata():
    model = _small_binary_model()
    with pytest.raises(ValueError, match="expected \\(samples, 6, 6, 2\\)"):
        convert(model, sample_inputs=np.zeros((3, 5, 5, 2)))
    with pytest.raises(TypeError, match="JSON-serializable"):
        convert(model, metadata={"mean": object()})


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "m.tflite"
    path.write_bytes(b"old")

    def failing_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(str(path), b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["m.tflite"]
