"""Stock .tflite models on emulated ARM Linux (qemu-user + LiteRT on aarch64, tflite-runtime
on armv7) give the outputs of x86. Opt-in: `pytest -m arm tests/deploy/test_arm.py` (builds cached
sysroots in ~/.cache/bitnets-tf/arm on first use, the aarch64 one with Debian 13's qemu-user;
override with $BITNETS_TF_ARM_CACHE)."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from bitnets_tf import layers
from bitnets_tf.converters import convert
from bitnets_tf.deploy import DeploymentError, arm, classify, deployment_metadata

pytestmark = pytest.mark.arm


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    tf.keras.utils.set_random_seed(2)
    weights = dict(kernel_quantizer="ste_sign", kernel_constraint="weight_clip", use_bias=False)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((16, 16, 1)),
            layers.QuantConv2D(8, 3, **weights),
            tf.keras.layers.BatchNormalization(),
            layers.QuantConv2D(16, 3, input_quantizer="ste_sign", **weights),
            tf.keras.layers.BatchNormalization(),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense(10),
        ]
    )
    inputs = np.random.default_rng(0).standard_normal((6, 16, 16, 1)).astype(np.float32)
    directory = tmp_path_factory.mktemp("arm")
    result = {}
    for target in ("int8", "float", "lce"):
        metadata = deployment_metadata("mnist", target, input_shape=(16, 16, 1))
        path = directory / f"tiny_{target}.tflite"
        converted = convert(model, str(path), target, representative_data=inputs, metadata=metadata)
        result[target] = arm.ArmJob("tiny", target, converted.flatbuffer, inputs)
        result[f"{target}_path"] = path
    result["image"] = directory / "photo.png"
    pixels = np.random.default_rng(1).integers(0, 256, (21, 19, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(result["image"])
    return result


@pytest.mark.parametrize("name", ["aarch64", "armv7"])
def test_stock_models_give_the_x86_outputs_on_arm(jobs, name):
    rows, info = arm.compare_with_x86(arm.PLATFORMS[name], [jobs["int8"], jobs["float"]])
    assert info["machine"] == {"aarch64": "aarch64", "armv7": "armv7l"}[name]
    expected = {"aarch64": "ai-edge-litert 2.3.0", "armv7": "tflite-runtime 2.14.0"}[name]
    assert info["runtime"] == expected
    for row in rows:  # against the same runtime on x86: only the architecture differs
        assert row.samples == 6 and row.argmax_agreement == 1.0
        assert row.max_abs_diff <= 1e-4 * max(1.0, row.max_abs_output)
        assert row.argmax_agreement_tf == 1.0  # the host's stock runtime


@pytest.mark.parametrize("name", ["aarch64", "armv7"])
def test_the_raspberry_pi_script_prints_what_bitnets_tf_run_prints(jobs, name):
    platform = arm.PLATFORMS[name]
    sysroot = arm.prepare_sysroot(platform)
    model, image = str(jobs["int8_path"]), str(jobs["image"])
    printed = arm.run_python(platform, sysroot, arm.EDGE_SCRIPT, model, "--input", image)
    expected = classify(model, image, top=5)
    lines = printed.splitlines()
    assert lines[: len(expected.notes)] == [f"note: {note}" for note in expected.notes]
    ranks = lines[len(expected.notes) : len(expected.notes) + 5]
    assert [line.split("  ")[0] for line in ranks] == [
        f"{rank}. {p.label}" for rank, p in enumerate(expected.predictions, 1)
    ]


def test_lce_models_are_refused_with_the_reason(jobs):
    with pytest.raises(DeploymentError, match="needs larq-compute-engine operators"):
        arm.compare_with_x86(arm.PLATFORMS["aarch64"], [jobs["lce"]])
