"""Every quantizer: forward values and gradients against hand-computed expectations from the
paper's formula, tf.function behaviour, save/load round trip, and argument checks."""

import numpy as np
import pytest
import tensorflow as tf

from bitnets_tf import layers, quantizers


def _value_and_grad(fn, x, dy=None):
    x = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        loss = tf.reduce_sum(y * (tf.ones_like(y) if dy is None else tf.constant(dy, tf.float32)))
    return y.numpy(), tape.gradient(loss, x).numpy()


# --- forward values and gradients --------------------------------------------------------


def test_stochastic_sign_inference_is_sign_with_ste_gradient():
    y, g = _value_and_grad(
        lambda x: quantizers.stochastic_sign(x, training=False), [-2.0, -0.5, 0.0, 0.5, 2.0]
    )
    np.testing.assert_array_equal(y, [-1, -1, 1, 1, 1])
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 0])


def test_stochastic_sign_training_samples_with_hard_sigmoid_probability():
    # p = clip((x+1)/2, 0, 1): x <= -1 always -1, x >= 1 always +1.
    y, g = _value_and_grad(
        lambda x: quantizers.stochastic_sign(x, training=True), [-3.0, -1.0, 1.0, 3.0, 0.5]
    )
    np.testing.assert_array_equal(y[:4], [-1, -1, 1, 1])
    assert y[4] in (-1.0, 1.0)
    np.testing.assert_array_equal(g, [0, 1, 1, 0, 1])
    # x = 0.5: p = 0.75, so E[q] = 2p - 1 = 0.5 (20k samples: std of the mean ~ 0.006).
    samples = quantizers.stochastic_sign(tf.fill([20000], 0.5), training=True).numpy()
    assert set(np.unique(samples)) == {-1.0, 1.0}
    assert abs(samples.mean() - 0.5) < 0.03


def test_stochastic_sign_layer_follows_keras_training_flag():
    quantizer = quantizers.StochasticSign()
    x = tf.fill([4000], 0.0)  # p = 0.5
    assert np.all(quantizer(x, training=False).numpy() == 1.0)
    assert abs(quantizer(x, training=True).numpy().mean()) < 0.1


def test_xnor_weight_scale_per_output_channel_and_paper_gradient():
    w = [[0.5, -1.5], [-0.1, 0.3]]
    # alpha = mean|W| per column: [0.3, 0.9]; n = 2.
    y, g = _value_and_grad(quantizers.xnor_weight_scale, w)
    np.testing.assert_allclose(y, [[0.3, -0.9], [-0.3, 0.9]], rtol=1e-6)
    # dC/dW = dy * (1/n + alpha * 1{|W| <= 1})
    np.testing.assert_allclose(g, [[0.8, 0.5], [0.8, 1.4]], rtol=1e-6)


def test_rsign_threshold_and_gradients():
    alpha = tf.Variable([0.5, -0.5])
    x = tf.constant([[0.2, -0.3], [0.6, 0.1]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = quantizers.rsign(x, alpha)
    np.testing.assert_array_equal(y.numpy(), [[-1, 1], [1, 1]])
    # x - alpha = [[-0.3, 0.2], [0.1, 0.6]]; ApproxSign gradient 2 - 2|d|.
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[1.4, 1.6], [1.8, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(y, alpha).numpy(), [-3.2, -2.4], rtol=1e-6)
    y_ste = quantizers.rsign(x, alpha, gradient="ste_sign")
    np.testing.assert_array_equal(y_ste.numpy(), y.numpy())


def test_twn_threshold_scale_and_ste():
    w = [0.1, -0.9, 0.5, -0.05, 1.2, 0.0]
    # Delta = 0.7 * 2.75/6 = 0.3208; alpha = mean(0.9, 0.5, 1.2) = 0.8667
    y, g = _value_and_grad(quantizers.twn_ternary, w)
    a = 2.6 / 3
    np.testing.assert_allclose(y, [0, -a, a, 0, a, 0], rtol=1e-6)
    np.testing.assert_array_equal(g, np.ones(6))


def test_ttq_values_and_paper_gradients():
    w = tf.constant([0.5, -1.0, 0.02, 2.0, -0.04])
    w_p, w_n = tf.Variable(2.0), tf.Variable(3.0)
    dy = tf.constant([1.0, 2.0, 3.0, 4.0, 5.0])
    with tf.GradientTape() as tape:
        tape.watch(w)
        y = quantizers.ttq(w, w_p, w_n, threshold=0.05)  # Delta = 0.05 * 2.0 = 0.1
        loss = tf.reduce_sum(y * dy)
    grad_w, grad_p, grad_n = tape.gradient(loss, [w, w_p, w_n])
    np.testing.assert_array_equal(y.numpy(), [2, -3, 0, 2, 0])
    np.testing.assert_allclose(grad_w.numpy(), [2, 6, 3, 8, 5])  # dy * {W_p, W_n, 1}
    assert grad_p.numpy() == pytest.approx(5.0)  # sum of dy over I_p
    assert grad_n.numpy() == pytest.approx(-2.0)  # -sum of dy over I_n


def test_ternary_activation_values_and_both_gradients():
    x = [-1.2, -0.5, -0.2, 0.5, 0.7, 2.0]
    y, g = _value_and_grad(lambda t: quantizers.ternary_activation(t, threshold=0.5), x)
    np.testing.assert_array_equal(y, [-1, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 1, 0])
    _, g = _value_and_grad(
        lambda t: quantizers.ternary_activation(t, 0.5, gradient="gxnor", window=0.25), x
    )
    # 1/(2a) where 0.25 <= |x| <= 0.75
    np.testing.assert_allclose(g, [0, 2, 0, 2, 2, 0])


def test_dorefa_activations_and_weights():
    y, g = _value_and_grad(quantizers.DoReFa(k_bit=2), [-0.5, 0.2, 0.5, 0.9, 1.3])
    np.testing.assert_allclose(y, [0, 1 / 3, 2 / 3, 1, 1], rtol=1e-6)
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 0])
    # tanh = [0.4621, -0.7616, 0]; /(2*0.7616) + 0.5 = [0.803, 0, 0.5]; quantize_2 = [2/3, 0, 2/3]
    y, _ = _value_and_grad(quantizers.DoReFa(k_bit=2, mode="weights"), [0.5, -1.0, 0.0])
    np.testing.assert_allclose(y, [1 / 3, -1, 1 / 3], rtol=1e-6)


def test_qnn_linear_fixed_point():
    y, g = _value_and_grad(
        lambda t: quantizers.qnn_linear(t, k_bit=2), [-1.3, -0.6, -0.2, 0.3, 0.8, 1.5]
    )
    np.testing.assert_allclose(y, [-1, -0.5, 0, 0.5, 0.5, 0.5])
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 1, 0])


# --- tf.function, serialization ------------------------------------------------------------

DETERMINISTIC = {
    "ste_sign": lambda: "ste_sign",
    "approx_sign": lambda: "approx_sign",
    "stochastic_sign": lambda: "stochastic_sign",
    "xnor_weight_scale": lambda: "xnor_weight_scale",
    "magnitude_aware_sign": lambda: "magnitude_aware_sign",
    "twn_ternary": lambda: "twn_ternary",
    "ttq": lambda: quantizers.TTQ(threshold=0.1, initial_scale=0.7),
    "ternary_activation": lambda: quantizers.TernaryActivation(0.3, gradient="gxnor"),
    "dorefa_weights": lambda: quantizers.DoReFa(3, mode="weights"),
    "qnn_linear": lambda: quantizers.QnnLinear(3),
}

ACTIVATION_QUANTIZERS = {
    "rsign": lambda: "rsign",
    "stochastic_sign": lambda: "stochastic_sign",
    "ternary_activation": lambda: quantizers.TernaryActivation(0.3, gradient="gxnor"),
    "dorefa_activations": lambda: quantizers.DoReFa(2),
    "qnn_linear": lambda: quantizers.QnnLinear(3),
}


@pytest.mark.parametrize("name", sorted(DETERMINISTIC))
def test_kernel_quantizer_same_under_tf_function(name):
    quantizer = quantizers.get(DETERMINISTIC[name](), parameter="kernel_quantizer")
    w = tf.random.normal([3, 3, 4, 5])
    eager = quantizer(w)
    graph = tf.function(lambda t: quantizer(t))(w)
    # graph-mode arithmetic may round the last bit differently (e.g. DoReFa: 2q - 1)
    np.testing.assert_allclose(eager.numpy(), graph.numpy(), rtol=0, atol=1e-6)


def _model_with(kernel_quantizer, input_quantizer):
    """A conv and a dense layer; the arguments are factories (each layer gets its own)."""
    inputs = tf.keras.Input((6, 6, 3))
    x = layers.QuantConv2D(
        4,
        3,
        kernel_quantizer=kernel_quantizer(),
        input_quantizer=input_quantizer(),
        use_bias=False,
    )(inputs)
    x = tf.keras.layers.Flatten()(x)
    outputs = layers.QuantDense(3, kernel_quantizer=kernel_quantizer(), input_quantizer=None)(x)
    return tf.keras.Model(inputs, outputs)


def _perturb_weights(model):
    """Move every weight off its initial value so a load that re-initialises is caught."""
    model.set_weights(
        [w + np.random.uniform(0.1, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()]
    )


@pytest.mark.parametrize(
    "kernel,activation",
    [(k, "ste_sign") for k in sorted(DETERMINISTIC)]
    + [("ste_sign", a) for a in sorted(ACTIVATION_QUANTIZERS)],
)
def test_save_load_round_trip_without_custom_objects(tmp_path, kernel, activation):
    model = _model_with(
        DETERMINISTIC[kernel], ACTIVATION_QUANTIZERS.get(activation, lambda: activation)
    )
    _perturb_weights(model)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    x = np.random.normal(size=(4, 6, 6, 3)).astype("float32")
    np.testing.assert_array_equal(model(x, training=False), loaded(x, training=False))
    for original, restored in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(original.numpy(), restored.numpy())


def test_ttq_scales_are_trainable_weights_of_the_layer():
    model = _model_with(quantizers.TTQ, lambda: "ste_sign")
    names = [w.name for w in model.trainable_weights]
    assert sum("w_p" in n for n in names) == 2 and sum("w_n" in n for n in names) == 2
    x = np.random.normal(size=(8, 6, 6, 3)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x, training=True) ** 2)
    grads = tape.gradient(loss, model.trainable_weights)
    assert all(g is not None for g in grads)


# --- bad input ---------------------------------------------------------------------------


def test_unknown_quantizer_name_lists_allowed_names():
    with pytest.raises(ValueError, match=r"Unknown quantizer 'ste_sgn' for `kernel_quantizer`"):
        layers.QuantConv2D(4, 3, kernel_quantizer="ste_sgn")
    with pytest.raises(ValueError, match=r"Allowed names: .*stochastic_sign.*ttq"):
        quantizers.get("nope")
    with pytest.raises(ValueError, match="`input_quantizer` must be a quantizer name"):
        layers.QuantDense(4, input_quantizer=3)


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: quantizers.DoReFa(k_bit=0), r"`k_bit` must be an integer >= 1, got 0"),
        (lambda: quantizers.DoReFa(k_bit=1.5), r"`k_bit` must be an integer >= 1"),
        (lambda: quantizers.DoReFa(mode="both"), r"`mode` must be one of"),
        (lambda: quantizers.QnnLinear(k_bit=1), r"`k_bit` must be an integer >= 2, got 1"),
        (lambda: quantizers.TernaryActivation(threshold=-0.1), r"`threshold` must be .* >= 0"),
        (lambda: quantizers.TernaryActivation(gradient="x"), r"`gradient` must be one of"),
        (lambda: quantizers.TTQ(threshold=-1.0), r"`threshold` must be .* >= 0"),
        (lambda: quantizers.TTQ(threshold=1.0), r"`threshold` must be in \[0, 1\)"),
        (lambda: quantizers.TTQ(initial_scale=0), r"`initial_scale` must be a number > 0"),
        (lambda: quantizers.StochasticSign(clip_value=-1), r"`clip_value` must be a number > 0"),
        (lambda: quantizers.RSign(gradient="sign"), r"`gradient` must be one of"),
    ],
)
def test_bad_arguments_name_the_parameter(build, match):
    with pytest.raises(ValueError, match=match):
        build()
