"""count_operations: exact counts on a hand-made model, and the ImageNet zoo models (built at
224×224, never run) against the numbers their papers report."""

import pytest
import tensorflow as tf

from bitnets_tf import layers
from bitnets_tf.zoo import count_operations
from bitnets_tf.zoo.paper_numbers import METRICS, REPORTED, measure

BINARY = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", use_bias=False)
PAPER_TOLERANCE = 0.05


def test_counts_of_a_hand_made_model():
    inputs = tf.keras.Input((10, 10, 3))
    x = tf.keras.layers.Conv2D(8, 3, strides=2, padding="same")(inputs)  # real: 5·5·8·27
    x = tf.keras.layers.BatchNormalization()(x)  # not counted
    x = layers.QuantConv2D(16, 3, padding="valid", **BINARY)(x)  # binary: 3·3·16·72
    x = layers.QuantConv2D(16, 1, kernel_quantizer="ste_sign", use_bias=False)(x)  # real input
    x = tf.keras.layers.DepthwiseConv2D(3, depth_multiplier=2)(x)  # real: 1·1·32·9
    x = tf.keras.layers.Flatten()(x)
    x = layers.QuantDense(4, **BINARY)(x)  # binary: 32·4
    outputs = layers.QuantDense(2, kernel_quantizer="twn_ternary")(x)  # ternary weights
    counts = count_operations(tf.keras.Model(inputs, outputs))

    bops = 3 * 3 * 16 * 72 + 32 * 4
    flops = 5 * 5 * 8 * 27 + 3 * 3 * 16 * 16 + 32 * 9 + 4 * 2
    assert counts["bops"] == bops
    assert counts["flops"] == flops
    assert counts["ops"] == pytest.approx(bops / 64 + flops)
    binary_weights = 3 * 3 * 8 * 16 + 16 * 16 + 32 * 4
    real_weights = 3 * 3 * 3 * 8 + 8 + 4 * 8 + 3 * 3 * 16 * 2 + 32 + 2  # incl. BN and biases
    assert counts["binary_params"] == binary_weights
    assert counts["params"] == binary_weights + real_weights + 4 * 2
    assert counts["memory_bytes"] == (binary_weights + 32 * real_weights + 2 * 4 * 2) / 8


def test_separable_convolutions_are_refused():
    inputs = tf.keras.Input((8, 8, 3))
    model = tf.keras.Model(inputs, tf.keras.layers.SeparableConv2D(4, 3)(inputs))
    with pytest.raises(ValueError, match="separable"):
        count_operations(model)


# Variants with the same layer shapes as another row (bwn = xnor, ttq = twn) are left out:
# their counts differ only in which MACs are binary, which the hand-made model covers.
PAPER_ROWS = [row for row in REPORTED if row.kwargs.get("variant") not in ("bwn", "ttq")]


@pytest.mark.parametrize("reported", PAPER_ROWS, ids=[row.label for row in PAPER_ROWS])
def test_imagenet_models_match_the_papers(reported):
    measured = measure(reported)
    for metric in METRICS:
        if reported.value(metric) is not None:
            assert measured[metric] == pytest.approx(reported.value(metric), rel=PAPER_TOLERANCE), (
                metric
            )
