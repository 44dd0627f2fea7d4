"""The conversion report prints as a readable table with the layer-by-layer result, and
progress messages appear when asked for (by default in terminals and notebooks)."""

import tensorflow as tf
from support.convert_models import BINARY

from bitnets_tf import layers
from bitnets_tf.converters import convert


def _model():
    return tf.keras.Sequential(
        [
            tf.keras.Input((6, 6, 2)),
            layers.QuantConv2D(8, 3, **BINARY),
            tf.keras.layers.BatchNormalization(),
            tf.keras.layers.Flatten(),
            layers.QuantDense(4, **BINARY),
            tf.keras.layers.Activation("softmax"),
        ]
    )


def test_report_prints_as_text_with_the_layerwise_result(capsys):
    result = convert(_model(), target="lce", float_reference=False, progress=True)
    text = str(result.report)
    assert text == result.report.to_text()
    assert "layer by layer" in text and "checkpoints" in text
    assert "guarantee" in text and "0.0001·max|y|" in text
    assert "end to end" in text
    progress = capsys.readouterr().err
    for step in ("loading and auditing", "converting (lce)", "verifying"):
        assert step in progress


def test_no_progress_when_silenced(capsys):
    convert(_model(), target="float", float_reference=False, progress=False)
    assert "verifying" not in capsys.readouterr().err
