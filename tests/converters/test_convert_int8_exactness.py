"""The int8 target is exact or refuses. A sign of a real-valued tensor computed after ±1
planes (here the integer sums of a binary convolution read by per-feature thresholds, and an
RPReLU output) is computed in float32 from that tensor, kept in float32 back to the planes:
the file, re-run here on fresh inputs, agrees with Keras. In a full-integer model such a sign
reads an int8-rounded tensor; one whose values come within rounding of the threshold is
refused with the layer named."""

import numpy as np
import pytest
import tensorflow as tf
from support.convert_models import binary_mlp, plus_minus_one, random_architecture

from bitnets_tf.converters import ConversionError, convert
from bitnets_tf.converters.layerwise import verify_file
from bitnets_tf.converters.planes import MAX_DEPTHWISE_OUTPUTS, StandalonePlanes
from bitnets_tf.layers import QuantConv2D, QuantDense, RPReLU
from bitnets_tf.quantizers import TernaryActivation
from bitnets_tf.tflite import flatbuffer
from bitnets_tf.tflite.batch import run_tflite

L = tf.keras.layers


def _sign_after_flatten(seed: int) -> tf.keras.Model:
    """Every weight and activation ±1; an RSign with one threshold per flattened feature
    (which no convolution bias can fold) reads the integer sums of the first convolution."""
    inputs = L.Input((8, 8, 1))
    x = QuantConv2D(
        16,
        3,
        padding="same",
        pad_values=0.0,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(inputs)
    dense = QuantDense(
        10,
        input_quantizer="rsign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )
    model = tf.keras.Model(inputs, dense(L.Flatten()(x)))
    alpha = dense.input_quantizer.alpha
    alpha.assign(np.random.default_rng(seed).normal(0, 0.3, alpha.shape).astype(np.float32))
    return model


def _sign_after_rprelu() -> tf.keras.Model:
    """A ternary-weight convolution, RPReLU, then a sign at 0."""
    inputs = L.Input((8, 8, 4))
    x = QuantConv2D(
        64, 1, strides=2, input_quantizer="ste_sign", kernel_quantizer="twn_ternary", use_bias=False
    )(inputs)
    x = QuantDense(
        5,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(L.Flatten()(RPReLU()(x)))
    return tf.keras.Model(inputs, L.BatchNormalization()(x))


def _fresh_relative_errors(model: tf.keras.Model, flatbuffer: bytes, seed: int) -> np.ndarray:
    shape = tuple(model.inputs[0].shape[1:])
    fresh = np.random.default_rng(seed + 10).standard_normal((256, *shape)).astype(np.float32)
    expected = model.predict(fresh, verbose=0)
    actual = run_tflite(flatbuffer, [fresh])[0]
    return np.abs(actual - expected).max(axis=1) / np.abs(expected).max()


@pytest.mark.parametrize("seed", [0, 1])
def test_a_sign_of_integer_sums_with_per_feature_thresholds_is_exact(seed):
    tf.keras.utils.set_random_seed(seed)
    model = _sign_after_flatten(seed)
    result = convert(model, target="int8", float_reference=False, progress=False)
    assert result.report.verified
    assert "FULLY_CONNECTED" in result.report.float_ops
    relative = _fresh_relative_errors(model, result.flatbuffer, seed)
    assert relative.max() <= 1e-4, relative.max()


@pytest.mark.parametrize("seed", [0, 1])
def test_a_full_integer_sign_within_int8_rounding_is_refused_with_the_layer_named(seed, tmp_path):
    tf.keras.utils.set_random_seed(seed)
    model = _sign_after_flatten(seed)
    path = tmp_path / "m.tflite"
    with pytest.raises(ConversionError, match="int8-rounded") as caught:
        convert(
            model,
            path,
            target="int8",
            float_head=False,
            float_stem=False,
            float_reference=False,
            progress=False,
        )
    assert model.layers[-1].name in str(caught.value)
    assert "target='lce'" in str(caught.value)
    assert not path.exists()
    lce = convert(model, target="lce", float_reference=False, progress=False)
    assert lce.report.verified


@pytest.mark.parametrize("seed", [0, 1])
def test_a_sign_after_rprelu_is_exact_on_fresh_inputs(seed):
    tf.keras.utils.set_random_seed(seed)
    model = _sign_after_rprelu()
    result = convert(model, target="int8", float_reference=False, progress=False)
    relative = _fresh_relative_errors(model, result.flatbuffer, seed)
    assert relative.max() <= 1e-4, relative.max()


def _grouped_conv_stem() -> tf.keras.Model:
    """A float stem with a grouped convolution written as split → convolutions → concat
    (as in larq-zoo's MeliusNet), then a binary convolution."""
    inputs = L.Input((8, 8, 3))
    x = L.ReLU()(L.Conv2D(8, 3, padding="same")(inputs))
    groups = L.Lambda(lambda t: tf.split(t, 2, axis=-1), name="groups")(x)
    convolved = [L.Conv2D(4, 3, padding="same")(group) for group in groups]
    x = L.BatchNormalization()(L.Concatenate()(convolved))
    x = QuantConv2D(8, 3, input_quantizer="ste_sign", kernel_quantizer="ste_sign", use_bias=False)(
        x
    )
    return tf.keras.Model(inputs, L.Dense(3)(L.Flatten()(x)))


def test_a_float_stem_with_a_split_stays_float32_and_exact():
    """The quantizer finds operators by their output's name; a SPLIT has several outputs, so
    it is kept float32 by its type, and the stem's signs stay exact."""
    tf.keras.utils.set_random_seed(0)
    model = _grouped_conv_stem()
    result = convert(model, target="int8", float_reference=False, progress=False)
    assert "inexactly" not in result.report.tolerance, result.report.tolerance
    assert "SPLIT" in result.report.float_ops
    relative = _fresh_relative_errors(model, result.flatbuffer, 0)
    assert relative.max() <= 1e-4, relative.max()


def test_an_exact_int8_file_is_held_to_the_layerwise_bound_and_rechecks_on_fresh_inputs():
    """No real value of this file is int8-rounded, so its guarantee is the layer-by-layer one
    alone; ``result.checkpoints`` lets a user re-check the file on other inputs, the sign
    of the RPReLU output compared as int8 ±1 planes."""
    tf.keras.utils.set_random_seed(0)
    model = _sign_after_rprelu()
    result = convert(model, target="int8", float_reference=False, progress=False)
    assert "inexactly" not in result.report.tolerance
    assert "first error" not in result.report.layerwise
    fresh = np.random.default_rng(5).standard_normal((64, 8, 8, 4)).astype(np.float32)
    compared = verify_file(model, result.flatbuffer, [fresh], run_tflite, result.checkpoints)
    assert compared.agrees, compared.describe()
    sign_layer = model.layers[-2].name  # the dense layer whose input quantizer is the sign
    assert any(f.kind == "levels" and f.layer == sign_layer for f in compared.findings)


def test_a_full_integer_file_names_its_int8_layers_and_is_judged_on_rates_there():
    """A full-integer model rounds the head's real values to int8: the guarantee names the
    layer, and the end-to-end rates decide."""
    tf.keras.utils.set_random_seed(0)
    model = binary_mlp()
    inputs = plus_minus_one((48,), 32, seed=3)
    result = convert(
        model,
        target="int8",
        sample_inputs=inputs,
        float_head=False,
        float_stem=False,
        float_reference=False,
        progress=False,
    )
    assert result.report.verified
    assert "inexactly by design (int8)" in result.report.tolerance
    assert repr(model.layers[-1].name) in result.report.tolerance


def test_approximate_int8_is_an_opt_in_judged_on_end_to_end_rates():
    """With exact_int8=False the conversion runs; here the approximation moves 28 % of the
    samples by more than 2 % of the logits' range, so the rates refuse it, naming the layer."""
    tf.keras.utils.set_random_seed(0)
    model = _sign_after_flatten(0)
    with pytest.raises(ConversionError, match="disagrees with Keras") as caught:
        convert(model, target="int8", exact_int8=False, float_reference=False, progress=False)
    assert f"int8-rounded tensors (they flip near the threshold): {model.layers[-1].name}" in str(
        caught.value
    )


def test_wide_standalone_planes_run_in_pieces_the_builtin_depthwise_kernel_can_compute():
    """TFLite's non-delegated depthwise kernels (calibration runs them) never finish on an
    output wider than their accumulator buffer, so the planes of a 3136-feature ternary sign
    are computed as depthwise convolutions of at most ``MAX_DEPTHWISE_OUTPUTS`` channels, and
    the file is exact."""
    planes = StandalonePlanes(np.zeros((2, 3136)), (True, False), input_scale=0.05)
    graph = tf.function(planes).get_concrete_function(tf.TensorSpec([None, 3136], tf.float32)).graph
    widths = [op.outputs[0].shape[-1] for op in graph.get_operations() if "Depthwise" in op.type]
    assert sum(widths) == 2 * 3136 and max(widths) <= MAX_DEPTHWISE_OUTPUTS, widths

    tf.keras.utils.set_random_seed(0)
    inputs = L.Input((8, 8, 49))
    x = QuantDense(
        6, input_quantizer=TernaryActivation(), kernel_quantizer="ste_sign", use_bias=False
    )(L.Flatten()(L.BatchNormalization()(inputs)))
    model = tf.keras.Model(inputs, x)
    result = convert(model, target="int8", float_reference=False, progress=False)
    shapes = {t.index: t.shape for t in flatbuffer.tensors(result.flatbuffer)}
    widths = [
        shapes[op.outputs[0]][-1]
        for op in flatbuffer.operators(result.flatbuffer)
        if op.name == "DEPTHWISE_CONV_2D"
    ]
    assert widths and max(widths) <= MAX_DEPTHWISE_OUTPUTS, widths
    assert _fresh_relative_errors(model, result.flatbuffer, 0).max() <= 1e-4


def test_exact_ties_in_planes_read_through_a_flatten_by_a_float_head_are_legitimate_flips():
    """A ternary input times XNOR-scaled weights sums to exactly 0 in the file's integers and
    to ±6e-8 in Keras, so the next sign can differ; the planes reach the float head through a
    flatten (float32 there), and are still compared as planes: the flips are legitimate and
    the conversion verifies. Architecture: the fuzz's seed 121 (RSign, two XNOR-scaled 1×1
    convolutions with a ternary input between, flatten, a binary dense head)."""
    tf.keras.utils.set_random_seed(121)
    model = random_architecture(np.random.default_rng(121))
    result = convert(model, target="int8", float_reference=False, progress=False)
    assert "legitimate sign flip" in result.report.layerwise, result.report.layerwise
