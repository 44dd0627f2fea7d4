"""Property: for random small binary/ternary architectures (:func:`random_architecture`: the
mechanisms that broke converters before included), every conversion either verifies or raises
ConversionError — and a verified file agrees with Keras on fresh inputs, checked here
independently of the converter (its logits re-run from the bytes). The same check over
hundreds of architectures per target: ``benchmarks/convert_fuzz.py``."""

import numpy as np
import pytest
import tensorflow as tf
from support.convert_models import agreement_rates, file_logits, random_architecture

from bitnets_tf.converters import DEFAULT_TOLERANCES, ConversionError, convert
from bitnets_tf.tflite.batch import run_lce, run_tflite

RUNNERS = {"lce": run_lce, "int8": run_tflite, "float": run_tflite}


@pytest.mark.parametrize("target", list(RUNNERS))
@pytest.mark.parametrize("seed", range(4))
def test_conversion_verifies_or_raises_and_is_never_silently_wrong(seed, target):
    tf.keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = random_architecture(rng)
    shape = tuple(model.inputs[0].shape[1:])
    try:
        result = convert(model, target=target, float_reference=False, progress=False)
    except ConversionError:
        return  # refused loudly: allowed
    fresh = rng.standard_normal((128, *shape)).astype(np.float32)
    expected, actual = file_logits(model, result.flatbuffer, RUNNERS[target], fresh)
    tolerance = DEFAULT_TOLERANCES[target]
    samples, argmax = agreement_rates(expected, actual, tolerance.relative_error)
    slack = 4 / len(fresh)  # sampling noise between 32 verification and 128 fresh inputs
    assert samples >= tolerance.min_sample_agreement - slack, (seed, target, samples)
    assert argmax >= tolerance.min_argmax_agreement - slack, (seed, target, argmax)
