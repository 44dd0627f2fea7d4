"""larq-zoo models, built by their own code, convert to ``lce`` and verify; each written file is
re-run from its bytes on fresh inputs and compared with Keras. Bi-Real Net and Binary ResNet-E
at 64×64 have zero-padded binary convolutions on 2×2 maps, which LCE 0.16 alone miscomputes.
All of larq-zoo's models and targets: ``benchmarks/larq_zoo_bench.py``.

larq-zoo 2.4 installs only without its pinned dependencies (``pip install --no-deps
larq-zoo==2.4.0 zookeeper==1.4.0`` plus ``click`` and ``typeguard``; ``.ci/run`` does this);
the test is skipped where it is not installed."""

import numpy as np
import pytest
import tensorflow as tf
from support.convert_models import file_logits, randomize

from bitnets_tf.converters import convert
from bitnets_tf.tflite.batch import run_lce


@pytest.fixture(scope="module")
def larq_zoo():
    """larq-zoo, imported for this module only: it registers its own ``xnor_weight_scale``
    function over bitnets-tf's quantizer of that name, so the registry is restored after."""
    registry = tf.keras.utils.get_custom_objects()
    saved = dict(registry)
    yield pytest.importorskip("larq_zoo")
    registry.clear()
    registry.update(saved)


@pytest.mark.parametrize("name", ["BiRealNet", "BinaryResNetE18"])
def test_larq_zoo_model_converts_to_lce_exactly(larq_zoo, name):
    tf.keras.utils.set_random_seed(0)
    model = getattr(larq_zoo.literature, name)(
        weights=None, input_shape=(64, 64, 3), num_classes=10
    )
    randomize(model, seed=0)
    result = convert(model, target="lce", float_reference=False, progress=False)
    assert result.report.verified
    assert any("zero padding" in change for _, change in result.report.rewrites)
    fresh = np.random.default_rng(1).standard_normal((8, 64, 64, 3)).astype(np.float32)
    expected, actual = file_logits(model, result.flatbuffer, run_lce, fresh)
    relative = np.abs(actual - expected).max(axis=1) / np.abs(expected).max()
    assert np.median(relative) <= 1e-3, relative
