"""Layers: XNOR-Net activation scaling, RPReLU, RSign, and a small binary CNN under model.fit."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from bitnets_tf import layers, quantizers


def _ones_kernel_conv(**kwargs):
    conv = layers.QuantConv2D(
        1,
        3,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        kernel_initializer="ones",
        use_bias=False,
        activation_scaling=True,
        **kwargs,
    )
    return conv


def test_xnor_activation_scaling_valid_padding():
    x = np.zeros((1, 3, 3, 2), "float32")
    x[0, :, :, 0] = np.arange(9).reshape(3, 3)  # A = mean_c |x| = arange(9) / 2
    y = _ones_kernel_conv()(x).numpy()
    # conv(sign(x), +1) = 18 (sign(0) = +1); K = mean(A) = 2
    np.testing.assert_allclose(y, [[[[36.0]]]])


def test_xnor_activation_scaling_same_padding_counts_pads():
    x = np.full((1, 3, 3, 1), -2.0, "float32")
    y = _ones_kernel_conv(padding="same")(x).numpy()[0, :, :, 0]
    # corner window: 4 real inputs (|x| = 2) and 5 zero pads of the binarized input:
    # K = 8/9, conv = -4
    assert y[0, 0] == pytest.approx(-4 * 8 / 9)
    # centre: K = 2, conv = -9
    assert y[1, 1] == pytest.approx(-18.0)
    # pad_values=1: the pads are +1 in the binarized input and |1| in K
    y_one_pad = _ones_kernel_conv(padding="same", pad_values=1.0)(x).numpy()[0, 0, 0, 0]
    assert y_one_pad == pytest.approx((-4 + 5) * (8 + 5) / 9)


def test_xnor_activation_scaling_applies_bias_after_scaling():
    conv = layers.QuantConv2D(
        1,
        3,
        kernel_initializer="ones",
        bias_initializer="ones",
        activation_scaling=True,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
    )
    x = np.full((1, 3, 3, 1), 2.0, "float32")
    assert conv(x).numpy().item() == pytest.approx(9 * 2 + 1)


def test_rprelu_formula():
    layer = layers.RPReLU()
    layer.build((None, 2))
    layer.set_weights([np.array([0.5, -1.0]), np.array([0.25, 0.1]), np.array([1.0, 0.0])])
    x = np.array([[1.5, -2.0], [0.0, 3.0]], "float32")
    # channel 0: gamma=.5, beta=.25, zeta=1; channel 1: gamma=-1, beta=.1, zeta=0
    expected = [[1.5 - 0.5 + 1, 0.1 * (-2 + 1)], [0.25 * (0 - 0.5) + 1, 3 + 1]]
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-6)


def test_rsign_as_layer_and_as_input_quantizer_agree():
    x = np.random.normal(size=(2, 5, 5, 4)).astype("float32")
    rsign = layers.RSign()
    rsign.build(x.shape)
    rsign.set_weights([np.array([0.1, -0.2, 0.3, 0.0], "float32")])
    standalone = layers.QuantConv2D(3, 3, kernel_quantizer="ste_sign", use_bias=False)
    fused = layers.QuantConv2D(
        3, 3, kernel_quantizer="ste_sign", use_bias=False, input_quantizer="rsign"
    )
    y_standalone = standalone(rsign(x))
    fused(x)
    fused.input_quantizer.set_weights(rsign.get_weights())
    fused.set_weights([standalone.get_weights()[0], rsign.get_weights()[0]])
    np.testing.assert_array_equal(y_standalone.numpy(), fused(x).numpy())


def _binary_cnn():
    binary = dict(
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )
    inputs = tf.keras.Input((12, 12, 1))
    x = layers.QuantConv2D(
        16, 3, kernel_quantizer="ste_sign", kernel_constraint="weight_clip", use_bias=False
    )(inputs)
    x = tf.keras.layers.BatchNormalization(scale=False)(x)
    x = layers.QuantConv2D(16, 3, padding="same", pad_values=1.0, **binary)(x)
    x = tf.keras.layers.MaxPool2D()(x)
    x = tf.keras.layers.BatchNormalization(scale=False)(x)
    x = tf.keras.layers.Flatten()(x)
    x = layers.QuantDense(2, **binary)(x)
    outputs = tf.keras.layers.BatchNormalization(scale=False)(x)
    return tf.keras.Model(inputs, outputs)


def _bright_square_task(n=512):
    """Class 1: a bright 4x4 square somewhere in noise; class 0: noise only."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.5, (n, 12, 12, 1)).astype("float32")
    y = rng.integers(0, 2, n)
    for i in np.flatnonzero(y):
        r, c = rng.integers(0, 8, 2)
        x[i, r : r + 4, c : c + 4] += 2.0
    return x, y


def test_binary_cnn_trains_with_model_fit():
    x, y = _bright_square_task()
    model = _binary_cnn()
    model.compile(
        tf.keras.optimizers.Adam(0.01),
        tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(x, y, batch_size=64, epochs=6, verbose=0).history
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history["accuracy"][-1] > 0.8
    # latent weights stay clipped, binary weights are exactly +-1
    conv = model.layers[3]
    assert np.abs(conv.kernel.latent_variable.numpy()).max() <= 1.0
    with lq.context.quantized_scope(True):
        assert set(np.unique(conv.kernel.numpy())) <= {-1.0, 1.0}


def test_stochastic_and_ternary_models_train():
    x, y = _bright_square_task(256)
    inputs = tf.keras.Input((12, 12, 1))
    h = layers.QuantConv2D(8, 3, kernel_quantizer=quantizers.TTQ(), use_bias=False)(inputs)
    h = tf.keras.layers.BatchNormalization()(h)
    h = layers.QuantConv2D(
        8,
        3,
        input_quantizer="ternary_activation",
        kernel_quantizer="stochastic_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(h)
    h = tf.keras.layers.GlobalAveragePooling2D()(h)
    outputs = tf.keras.layers.Dense(2)(h)
    model = tf.keras.Model(inputs, outputs)
    model.compile(
        tf.keras.optimizers.Adam(0.01),
        tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(x, y, batch_size=32, epochs=5, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    assert history["loss"][-1] < history["loss"][0]
