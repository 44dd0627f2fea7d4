"""Metadata round trip, the audit, and the convert / inspect / audit subcommands."""

import json

import numpy as np
import pytest
import tensorflow as tf
from support.convert_models import BINARY, binary_cnn

from bitnets_tf import cli, layers
from bitnets_tf.converters import audit_model, convert, read_metadata


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "cnn.keras"
    binary_cnn().save(path)
    return path


def test_metadata_round_trip_and_replacement():
    model = tf.keras.Sequential([tf.keras.Input((4,)), layers.QuantDense(3, **BINARY)])
    metadata = {"labels": ["cat", "dog", "owl"], "input_mean": 0.5, "input_std": 0.25}
    result = convert(model, target="float", metadata=metadata)
    assert read_metadata(result.flatbuffer) == metadata
    assert read_metadata(convert(model, target="float", verify=False).flatbuffer) is None


def test_audit_explains_what_is_not_bitpacked():
    inputs = tf.keras.Input((6, 6, 8))
    x = layers.QuantDepthwiseConv2D(
        3, input_quantizer="ste_sign", depthwise_quantizer="ste_sign", use_bias=False
    )(inputs)
    x = layers.QuantConv2D(
        8,
        3,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        activation_scaling=True,
        use_bias=False,
    )(x)
    x = layers.QuantConv2D(
        8, 1, input_quantizer="dorefa", kernel_quantizer="ste_sign", use_bias=False
    )(x)
    x = layers.QuantConv2D(
        8, 1, input_quantizer="ste_sign", kernel_quantizer="twn_ternary", use_bias=False
    )(x)
    x = layers.QuantConv2D(40, 1, **BINARY)(x)
    audit = audit_model(tf.keras.Model(inputs, x))
    reasons = {row.name: (row.bitpacked, row.note) for row in audit.layers}
    depthwise, scaled, dorefa, ternary, binary = (row.name for row in audit.layers)
    assert reasons[depthwise] == (False, "LCE has no binary depthwise kernel")
    assert "activation scaling" in reasons[scaled][1] and reasons[scaled][0] is False
    assert reasons[dorefa][0] is False and "not a sign" in reasons[dorefa][1]
    assert reasons[ternary] == (False, "ternary weights: LCE bitpacks ±1 weights only")
    assert reasons[binary][0] is True and "8 input channels" in reasons[binary][1]
    assert audit.expected_bconvs == 1
    assert 0 < audit.bitpacked_macs < audit.binary_macs


def test_cli_convert_inspect_and_audit(saved_model, tmp_path, capsys):
    output = tmp_path / "cnn.tflite"
    inputs = tmp_path / "inputs.npy"
    np.save(inputs, np.sign(np.random.default_rng(0).normal(size=(8, 10, 10, 3))))
    status = cli.main(
        [
            "convert",
            str(saved_model),
            "-o",
            str(output),
            "--target",
            "lce",
            "--sample-inputs",
            str(inputs),
            "--metadata",
            '{"labels": ["a"]}',
        ]
    )
    out = capsys.readouterr().out
    assert status == 0 and output.exists()
    assert "bitpacked binary MACs  100.0%" in out and "verified               yes" in out

    assert cli.main(["inspect", str(output)]) == 0
    out = capsys.readouterr().out
    assert "LceBconv2d" in out and "larq-compute-engine runtime" in out
    assert json.loads(out[out.index("{") :]) == {"labels": ["a"]}

    assert cli.main(["audit", str(saved_model)]) == 0
    out = capsys.readouterr().out
    assert "LceBconv2d" in out and "bitpacked with lce: 100.0%" in out


def test_cli_reports_bad_input_without_writing(tmp_path, capsys):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a model")
    output = tmp_path / "out.tflite"
    assert cli.main(["convert", str(broken), "-o", str(output)]) == 2
    assert "not a valid .keras file" in capsys.readouterr().err
    assert not output.exists()
    assert cli.main(["inspect", str(broken)]) == 2
    assert "not a TFLite flatbuffer" in capsys.readouterr().err


def test_int8_of_a_residual_block_is_written_and_full_integer_is_refused(tmp_path, capsys):
    """The residual stream's signs are computed in float32; a full-integer model would read
    them int8-rounded, which is refused, naming the opt-in."""
    from support.convert_models import reactnet_block

    model_path = tmp_path / "block.keras"
    reactnet_block().save(model_path)
    output = tmp_path / "block_int8.tflite"
    command = ["convert", str(model_path), "-o", str(output), "--target", "int8"]
    assert cli.main(command) == 0 and output.exists()
    assert "float32 ops" in capsys.readouterr().out
    output.unlink()
    assert cli.main([*command, "--full-integer"]) == 1 and not output.exists()
    error = capsys.readouterr().err
    assert "int8-rounded" in error and "--approximate-int8" in error
