"""Zero-padded binary convolutions on inputs smaller than the kernel's extent, which LCE 0.16
computes wrongly, convert exactly (one-padding minus the padding's contribution); the file is
re-run here and compared with Keras."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from bitnets_tf.converters import convert
from bitnets_tf.tflite import flatbuffer
from bitnets_tf.tflite.batch import run_lce


@pytest.mark.parametrize(
    ("size", "kernel", "strides", "dilation"),
    [((2, 2), 3, 1, 1), ((1, 1), 3, 1, 1), ((2, 5), 5, 2, 1), ((4, 4), 3, 1, 2), ((3, 3), 3, 1, 1)],
)
def test_zero_padded_binary_convolution_is_exact(size, kernel, strides, dilation):
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((*size, 40))  # 40 channels: not a multiple of 32
    x = lq.layers.QuantConv2D(
        24,
        kernel,
        strides=strides,
        dilation_rate=dilation,
        padding="same",
        pad_values=0.0,
        input_quantizer="approx_sign",
        kernel_quantizer="magnitude_aware_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.BatchNormalization()(x))
    result = convert(model, target="lce", float_reference=False, progress=False)
    rewritten = [change for _, change in result.report.rewrites if "zero padding" in change]
    assert len(rewritten) == (size != (3, 3))  # 3×3 inputs: LCE's own correction is right
    assert "LceBconv2d" in flatbuffer.operator_names(result.flatbuffer)
    fresh = np.random.default_rng(1).standard_normal((16, *size, 40)).astype(np.float32)
    expected = model.predict(fresh, verbose=0)
    actual = run_lce(result.flatbuffer, [fresh])[0]
    np.testing.assert_allclose(actual, expected, atol=1e-4 * np.abs(expected).max())
