"""Optimizer setups (Adam, SGD, Bop in a CaseOptimizer), legacy conversion, schedules, clipping."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf
from support.training import binary_net, compile_classifier, toy_dataset

from bitnets_tf.training import (
    FlipRatio,
    as_legacy_optimizer,
    binary_weights,
    bnn_optimizer,
    bop_optimizer,
    clip_latent_weights,
    exponential_decay,
    linear_decay,
)


def test_bnn_optimizer_kinds():
    assert isinstance(bnn_optimizer("adam", 1e-3), tf.keras.optimizers.Adam)
    assert bnn_optimizer("sgd", 0.1).get_config()["momentum"] == pytest.approx(0.9)
    bop = bnn_optimizer("bop", 1e-3)
    assert isinstance(bop, lq.optimizers.CaseOptimizer)
    assert isinstance(bop.default, tf.keras.optimizers.legacy.Adam)
    assert isinstance(bop.optimizers[0], lq.optimizers.Bop)
    with pytest.raises(ValueError, match=r"`kind` must be one of \['adam', 'bop', 'sgd'\]"):
        bnn_optimizer("rmsprop")
    with pytest.raises(ValueError, match="learning_rate"):
        bnn_optimizer("adam", 0.0)


def test_adam_trains_binary_net():
    model = compile_classifier(binary_net(), bnn_optimizer("adam", 1e-2))
    loss = model.fit(toy_dataset(), epochs=4, verbose=0).history["loss"]
    assert loss[-1] < 0.8 * loss[0]


def test_bop_trains_and_flips_binary_weights():
    model = compile_classifier(
        binary_net(), bnn_optimizer("bop", 1e-2, bop_threshold=1e-6, bop_gamma=1e-2)
    )
    history = model.fit(toy_dataset(), epochs=4, callbacks=[FlipRatio()], verbose=0).history
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    assert all(ratio > 0 for ratio in history["flip_ratio"])
    for variable in binary_weights(model):  # Bop keeps binary weights at exactly ±1
        np.testing.assert_array_equal(np.abs(variable.numpy()), 1.0)


def test_as_legacy_optimizer_keeps_hyperparameters():
    legacy = as_legacy_optimizer(tf.keras.optimizers.Adam(0.01, beta_1=0.8, clipnorm=1.0))
    assert isinstance(legacy, tf.keras.optimizers.legacy.Adam)
    config = legacy.get_config()
    assert config["learning_rate"] == pytest.approx(0.01)
    assert config["beta_1"] == pytest.approx(0.8) and config["clipnorm"] == 1.0
    assert isinstance(as_legacy_optimizer("sgd"), tf.keras.optimizers.legacy.SGD)
    schedule = linear_decay(1e-3, 100)
    legacy = as_legacy_optimizer(tf.keras.optimizers.Adam(schedule))
    assert isinstance(legacy.learning_rate, tf.keras.optimizers.schedules.PolynomialDecay)
    already = tf.keras.optimizers.legacy.SGD()
    assert as_legacy_optimizer(already) is already


def test_as_legacy_optimizer_rejects_what_legacy_lacks():
    with pytest.raises(ValueError, match=r"no tf.keras.optimizers.legacy.AdamW.*Use one of"):
        as_legacy_optimizer(tf.keras.optimizers.AdamW())
    with pytest.raises(ValueError, match="weight_decay"):
        as_legacy_optimizer(tf.keras.optimizers.Adam(weight_decay=1e-4))
    with pytest.raises(ValueError, match="optimizer name"):
        as_legacy_optimizer(3)


def test_bop_optimizer_accepts_current_style_real_optimizer():
    case = bop_optimizer(tf.keras.optimizers.Adam(0.01))
    assert isinstance(case.default, tf.keras.optimizers.legacy.Adam)
    assert case.default.get_config()["learning_rate"] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="bop_gamma"):
        bop_optimizer("adam", gamma=-1.0)


def test_schedules():
    decay = exponential_decay(1e-3, 1e-5, total_steps=100)
    assert float(decay(0)) == pytest.approx(1e-3)
    assert float(decay(100)) == pytest.approx(1e-5)
    assert float(decay(50)) == pytest.approx(1e-4)
    linear = linear_decay(1.0, total_steps=10)
    assert [float(linear(t)) for t in (0, 5, 10, 20)] == pytest.approx([1.0, 0.5, 0.0, 0.0])
    with pytest.raises(ValueError, match="end"):
        exponential_decay(1e-3, 0.0, 10)


def test_clip_latent_weights_keeps_binary_kernels_in_range(tmp_path):
    unclipped = binary_net(kernel_constraint=None)
    model = clip_latent_weights(unclipped, clip_value=0.5)
    for original, copy in zip(unclipped.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(original, copy)
    compile_classifier(model, bnn_optimizer("sgd", 5.0))
    model.fit(toy_dataset(), epochs=1, verbose=0)
    latent = np.concatenate([v.numpy().ravel() for v in binary_weights(model)])
    assert np.abs(latent).max() <= 0.5 and np.isclose(np.abs(latent).max(), 0.5)
    real_kernel = model.layers[0].kernel.numpy()
    assert np.abs(real_kernel).max() > 0.5  # the real first conv is not clipped
    model.save(tmp_path / "clipped.keras")
    loaded = tf.keras.models.load_model(tmp_path / "clipped.keras")
    assert loaded.layers[2].kernel_constraint.clip_value == 0.5


def test_clip_latent_weights_keeps_existing_constraints_and_checks_input():
    model = clip_latent_weights(binary_net(), clip_value=0.25)
    assert model.layers[2].kernel_constraint.clip_value == 1.0
    with pytest.raises(ValueError, match="clip_value"):
        clip_latent_weights(binary_net(), clip_value=0)

    class Subclassed(tf.keras.Model):
        def call(self, inputs):
            return inputs

    with pytest.raises(ValueError, match="subclassed model"):
        clip_latent_weights(Subclassed())
