"""ReActNet two-step training: the builder runs twice and step 2 starts from step 1's weights."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf
from support.training import binary_net, compile_classifier, toy_dataset

from bitnets_tf.training import TwoStepTrainer, bnn_optimizer, transfer_weights


def test_step2_starts_from_step1_weights_and_both_steps_train():
    calls, weights_at_step2_start = [], []

    def build(kernel_quantizer):
        calls.append(kernel_quantizer)
        return binary_net(kernel_quantizer=kernel_quantizer)

    def compile_step(model, step):
        if step == 2:
            weights_at_step2_start.extend(model.get_weights())
        return compile_classifier(model, bnn_optimizer("adam", 1e-2))

    result = TwoStepTrainer(build, compile_step).fit(toy_dataset(), epochs=(3, 3), verbose=0)
    assert calls == [None, "magnitude_aware_sign"]
    assert result.step1_model.layers[2].kernel_quantizer is None
    assert isinstance(result.model.layers[2].kernel_quantizer, lq.quantizers.MagnitudeAwareSign)
    step1_weights = result.step1_model.get_weights()
    assert len(weights_at_step2_start) == len(step1_weights)
    for step1, step2_start in zip(step1_weights, weights_at_step2_start, strict=True):
        np.testing.assert_array_equal(step1, step2_start)
    for history in result.histories:
        assert history["loss"][-1] < history["loss"][0]


def test_transfer_weights_by_name_and_by_order():
    source, target = binary_net(name="a"), binary_net(name="b")  # auto-named layers differ
    pairs = transfer_weights(source, target)
    assert len(pairs) == 5 and pairs[0][0] != pairs[0][1]  # matched by order
    for expected, actual in zip(source.get_weights(), target.get_weights(), strict=True):
        np.testing.assert_array_equal(expected, actual)
    renamed = binary_net(name="c")
    for own, other in zip(renamed.layers, source.layers, strict=True):
        own._name = other.name
    pairs = transfer_weights(source, renamed, match="name")
    assert all(a == b for a, b in pairs)
    with pytest.raises(ValueError, match="missing from"):
        transfer_weights(source, binary_net(name="d"), match="name")


def test_transfer_weights_rejects_different_architectures():
    wider = tf.keras.Sequential([tf.keras.Input((8, 8, 1)), tf.keras.layers.Conv2D(4, 3)])
    narrower = tf.keras.Sequential([tf.keras.Input((8, 8, 1)), tf.keras.layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="shapes differ"):
        transfer_weights(wider, narrower)
    with pytest.raises(ValueError, match=r"1 layers with weights.*has 5"):
        transfer_weights(wider, binary_net())
    with pytest.raises(ValueError, match="epochs of step 2"):
        TwoStepTrainer(binary_net).fit(toy_dataset(32), epochs=(1, 0))
