"""Gradient-free, bit-level training: exact monotone steps, learning, determinism, k-means,
readouts (exact and streamed, flat memory), and that the result is an ordinary Keras model."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from bitnets_tf import layers
from bitnets_tf.training.gradient_free import (
    BitFlipBlockTrainer,
    BitLayerState,
    RidgeReadout,
    StreamingReadout,
    fit_ridge_readout,
    fit_streaming_readout,
    hadamard_codes,
    train_gradient_free,
)
from bitnets_tf.training.gradient_free import readout as gradient_free_readout
from bitnets_tf.training.hamming_kmeans import hamming_kmeans


def _bars(n, seed):
    """3 classes on 10×10: a vertical bar, a horizontal bar or a diagonal, anywhere, in noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(-1.0, 0.7, (n, 10, 10, 1)).astype("float32")
    y = rng.integers(0, 3, n)
    for i in range(n):
        r, c = rng.integers(1, 8, 2)
        if y[i] == 0:
            x[i, 1:9, c] += 2.5
        elif y[i] == 1:
            x[i, r, 1:9] += 2.5
        else:
            x[i, np.arange(1, 9), np.arange(1, 9)] += 2.5
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(50), x, y


def test_hadamard_codes_split_every_unit_and_separate_classes():
    codes = hadamard_codes(10, 64)
    assert codes.shape == (10, 64) and set(np.unique(codes)) == {-1.0, 1.0}
    assert np.all(np.abs(codes.sum(axis=0)) < 10)  # no unit has a constant target
    distances = (64 - codes @ codes.T) / 2
    assert distances[~np.eye(10, dtype=bool)].min() >= 16


def _state(layer, inputs_shape, objective):
    layer.build(inputs_shape)
    return BitLayerState(layer, hadamard_codes(4, layer.kernel.shape[-1]), objective=objective)


@pytest.mark.parametrize("objective", ["pooled", "margin"])
def test_every_accepted_step_lowers_the_window_objective_exactly(objective):
    conv = layers.QuantConv2D(
        8, 3, input_quantizer="ste_sign", kernel_quantizer="ste_sign", use_bias=True
    )
    state = _state(conv, (None, 7, 7, 3), objective)
    rng = np.random.default_rng(0)
    for _ in range(15):
        features = tf.constant(rng.normal(size=(20, 7, 7, 3)), tf.float32)
        labels = tf.constant(rng.integers(0, 4, 20))
        patches, targets = state.patches(features), state.targets(labels)
        recomputed_before = float(state.objective(patches, targets))
        before, after, flips, moves = (float(v) for v in state.step(patches, targets))
        assert before == pytest.approx(recomputed_before)
        assert after <= before
        assert float(state.objective(patches, targets)) == pytest.approx(after, abs=1e-6)
        if flips + moves:
            assert after < before
    assert set(np.unique(state.weights.numpy())) <= {-1.0, 1.0}


def test_dense_layer_steps_are_exact_too():
    dense = layers.QuantDense(6, input_quantizer="ste_sign", kernel_quantizer="ste_sign")
    state = _state(dense, (None, 11), None)
    assert state.objective_kind == "margin"
    rng = np.random.default_rng(1)
    patches = state.patches(tf.constant(rng.normal(size=(30, 11)), tf.float32))
    targets = state.targets(tf.constant(rng.integers(0, 4, 30)))
    for _ in range(10):
        before, after, _, _ = (float(v) for v in state.step(patches, targets))
        assert after <= before
        assert float(state.objective(patches, targets)) == pytest.approx(after)


def test_two_layer_binary_net_learns_a_separable_toy_task_and_is_deterministic():
    train, _, _ = _bars(600, seed=0)
    _, x_test, y_test = _bars(300, seed=1)

    def run():
        trainer = dict(seed=3, kmeans_patches=2000)
        return train_gradient_free(
            train, 3, filters=(16, 32), epochs_per_block=2, readout=None, **trainer
        )

    first, second = run(), run()
    accuracy = (first.model.predict(x_test, verbose=0).argmax(1) == y_test).mean()
    assert accuracy > 0.8  # chance is 1/3
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(h["bit_flips"][0] > 0 for h in first.histories)


def test_trained_layers_are_exactly_binary_and_the_model_round_trips(tmp_path):
    train, x, _ = _bars(200, seed=2)
    result = train_gradient_free(train, 3, filters=(8, 8), epochs_per_block=1, kmeans_patches=500)
    model = result.model
    convs = [layer for layer in model.submodules if isinstance(layer, layers.QuantConv2D)]
    assert len(convs) == 2
    for conv in convs:
        assert set(np.unique(conv.kernel.latent_variable.numpy())) <= {-1.0, 1.0}
        # thresholds have the parity opposite to the fan-in: a - θ is never 0
        fan_in = int(np.prod(conv.kernel.shape[:-1]))
        assert np.all((conv.bias.numpy() + fan_in) % 2 == 1)
    path = str(tmp_path / "gf.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


@pytest.mark.parametrize("target", ["lce", "int8"])
def test_trained_models_convert_and_verify(target):
    from bitnets_tf.converters import convert
    from bitnets_tf.tflite import flatbuffer

    train, x, _ = _bars(200, seed=5)
    model = train_gradient_free(train, 3, filters=(8, 8), kmeans_patches=500).model
    result = convert(model, target=target, sample_inputs=x[:64], float_reference=False)
    assert result.report.verified and result.report.argmax_agreement == 1.0
    ops = flatbuffer.operator_names(result.flatbuffer)
    if target == "lce":  # both binary convolutions bitpacked, the real-valued readout not
        assert ops.count("LceBconv2d") == 2 and result.report.bitpacked_share == 1.0
    else:  # stock builtins only, and both binary convolutions compute in int8
        assert not flatbuffer.custom_operators(result.flatbuffer)
        assert ops.count("CONV_2D") == 2 and "CONV_2D" not in result.report.float_ops


def test_readout_pool_sets_the_readout_width():
    train, _, _ = _bars(100, seed=4)
    with pytest.raises(ValueError, match="`readout_pool` must be an integer >= 1"):
        train_gradient_free(train, 3, filters=(8, 8), readout_pool=0)
    # 10×10 → conv 8×8 → pool 4×4 → conv 2×2×8; readout_pool=1 keeps all 2·2·8 signs
    for readout in (StreamingReadout(), RidgeReadout()):
        result = train_gradient_free(
            train, 3, filters=(8, 8), readout=readout, readout_pool=1, kmeans_patches=200
        )
        assert tuple(result.model.get_layer("readout").kernel.shape) == (32, 3)


def test_hamming_kmeans_recovers_planted_centroids():
    rng = np.random.default_rng(0)
    centres = rng.choice([-1.0, 1.0], size=(4, 32))
    noisy = np.repeat(centres, 50, axis=0)
    noisy[rng.random(noisy.shape) < 0.1] *= -1  # 10 % bit noise
    found = hamming_kmeans(noisy, 4, seed=0)
    matches = (32 + found @ centres.T) / 2  # agreeing bits
    assert np.all(matches.max(axis=0) == 32)
    np.testing.assert_array_equal(found, hamming_kmeans(noisy, 4, seed=0))


def test_ridge_readout_solves_least_squares(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.choice([-1.0, 1.0], size=(200, 5)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)
    kernel, bias = fit_ridge_readout(data, 2, l2=1e-6)
    assert ((x @ kernel + bias).argmax(1) == y).all()
    expected = np.linalg.lstsq(np.hstack([x, np.ones((200, 1))]), 2 * np.eye(2)[y] - 1, rcond=None)
    np.testing.assert_allclose(kernel, expected[0][:-1], atol=1e-4)
    # accumulated over several chunks of rows (128 + 72 here), the same exact sums
    monkeypatch.setattr(gradient_free_readout, "_READOUT_ROWS_PER_UPDATE", 100)
    chunked_kernel, chunked_bias = fit_ridge_readout(data, 2, l2=1e-6)
    np.testing.assert_array_equal(chunked_kernel, kernel)
    np.testing.assert_array_equal(chunked_bias, bias)


def test_unsupported_layers_are_rejected_with_the_reason():
    float_conv = tf.keras.layers.Conv2D(4, 3)
    float_conv.build((None, 5, 5, 1))
    with pytest.raises(ValueError, match=r"needs a bitnets_tf\.layers\.QuantConv2D or QuantDense"):
        BitLayerState(float_conv, hadamard_codes(2, 4))
    zero_padded = layers.QuantConv2D(
        4, 3, padding="same", input_quantizer="ste_sign", kernel_quantizer="ste_sign"
    )
    zero_padded.build((None, 5, 5, 1))
    with pytest.raises(ValueError, match=r"pad_values=1\.0"):
        BitLayerState(zero_padded, hadamard_codes(2, 4))
    with pytest.raises(ValueError, match="`window_batches` must be an integer >= 1"):
        BitFlipBlockTrainer(window_batches=0)


def _least_squares_case():
    """200 examples of 6 ±1 features with a real-valued ±1 one-hot target of 3 classes."""
    rng = np.random.default_rng(0)
    x = rng.choice([-1.0, 1.0], size=(200, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)
    design = np.hstack([x, np.ones((200, 1))])
    targets = 2 * np.eye(3)[y] - 1
    exact = np.linalg.lstsq(design, targets, rcond=None)[0]
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(100), design, targets, exact


def test_streaming_readout_reaches_the_exact_least_squares_solution():
    data, design, targets, exact = _least_squares_case()
    kernel, bias = fit_streaming_readout(data, 3, epochs=60, learning_rate=0.1, loss="squared")

    def error(solution):
        return float(np.sum((design @ solution - targets) ** 2))

    streamed = np.vstack([kernel, bias])
    assert error(streamed) <= error(exact) * (1 + 1e-4)  # within 0.01 % of the optimum
    np.testing.assert_allclose(streamed, exact, atol=5e-3)
    ridge_kernel, ridge_bias = fit_ridge_readout(data, 3, l2=1e-6)
    np.testing.assert_allclose(kernel, ridge_kernel, atol=5e-3)
    np.testing.assert_allclose(bias, ridge_bias, atol=5e-3)


def test_streaming_readout_is_deterministic_and_classifies():
    data, design, _, _ = _least_squares_case()
    labels = np.concatenate([y.numpy() for _, y in data])
    first = fit_streaming_readout(data, 3, epochs=20, learning_rate=0.1)
    second = fit_streaming_readout(data, 3, epochs=20, learning_rate=0.1)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    scores = design[:, :-1] @ first[0] + first[1]
    assert (scores.argmax(1) == labels).mean() == 1.0  # the classes are separable


def test_streaming_readout_rejects_bad_arguments_with_the_fix():
    data, _, _, _ = _least_squares_case()
    unknown = data.filter(lambda x, y: True)  # the number of batches is unknown
    with pytest.raises(ValueError, match="assert_cardinality"):
        fit_streaming_readout(unknown, 3)
    with pytest.raises(ValueError, match="The dataset is empty"):
        fit_streaming_readout(data.take(0), 3)
    with pytest.raises(ValueError, match="`loss` must be one of"):
        fit_streaming_readout(data, 3, loss="hinge")
    train, _, _ = _bars(100, seed=4)
    with pytest.raises(ValueError, match="`readout` must be a StreamingReadout"):
        train_gradient_free(train, 3, filters=(8,), readout="ridge")


_FLAT_MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys
    import bitnets_tf
    import tensorflow as tf
    from bitnets_tf.training.gradient_free import fit_streaming_readout

    def stream(batches, width=20000, rows=100):
        def batch(i):
            seed = tf.stack([i, tf.constant(0, tf.int64)])
            uniform = tf.random.stateless_uniform([rows, width], seed)
            labels = tf.random.stateless_uniform([rows], seed + 1, maxval=10, dtype=tf.int64)
            return tf.sign(uniform - 0.5), labels
        return tf.data.Dataset.range(batches).map(batch)

    def peak_mb():
        # VmHWM, not ru_maxrss: the latter carries the parent's size across fork and exec
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    peaks = []
    for batches in (4, 100):
        fit_streaming_readout(stream(batches), 10, epochs=1, learning_rate=1e-5)
        peaks.append(peak_mb())
    print(peaks[0], peaks[1])
    """
)


def test_streaming_readout_memory_is_flat_in_the_examples_and_linear_in_the_width():
    # 20,000 features: a d×d float64 Gram matrix would be 3.2 GB, and the 100 batches of
    # 100 rows (8 MB each as float32) would add 770 MB over 4 batches if they were held.
    # tf.data's autotuned buffers hold a few batches more on a busy machine (113 MB seen).
    run = subprocess.run(
        [sys.executable, "-c", _FLAT_MEMORY_SCRIPT], capture_output=True, text=True, check=True
    )
    few, many = (float(v) for v in run.stdout.split())
    assert many - few < 250  # MB, for 25x the examples
    assert many < 2000


def test_a_deeper_stack_trains_every_block_from_hamming_kmeans_and_learns(monkeypatch):
    from bitnets_tf.training.gradient_free import trainer as trainer_module

    clustered = []

    def recording_kmeans(patches, clusters, **options):
        clustered.append((patches.shape[1], clusters))
        return hamming_kmeans(patches, clusters, **options)

    monkeypatch.setattr(trainer_module, "hamming_kmeans", recording_kmeans)
    train, _, _ = _bars(400, seed=6)
    _, x_test, y_test = _bars(200, seed=7)
    result = train_gradient_free(
        train,
        3,
        filters=(8, 16, 16),
        pool=(False, False),
        kmeans_blocks=(0, 1, 2),
        kmeans_patches=1000,
        seed=1,
    )
    # (fan-in, filters) of each block: 3×3 patches of the image, then of 8 and 16 channels
    assert clustered == [(9, 8), (72, 16), (144, 16)]
    assert len(result.histories) == 3
    assert all(h["bit_flips"][0] > 0 for h in result.histories)
    accuracy = (result.model.predict(x_test, verbose=0).argmax(1) == y_test).mean()
    assert accuracy > 0.8  # chance is 1/3
