"""`import bitnets_tf` binds tf.keras to tf-keras, or says how to fix a process bound to Keras 3."""

import os
import subprocess
import sys

import pytest


def _run(code: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.update(env_overrides, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )


def test_import_selects_tf_keras_when_unresolved():
    result = _run("import bitnets_tf, tensorflow as tf, larq\nprint(tf.keras.Model.__module__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("tf_keras")


def test_import_after_tensorflow_but_before_tf_keras_still_selects_tf_keras():
    result = _run("import tensorflow as tf\nimport bitnets_tf\nprint(tf.keras.Model.__module__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("tf_keras")


def test_import_with_keras3_already_bound_raises_with_instructions():
    result = _run("import tensorflow as tf\ntf.keras.Model\nimport bitnets_tf")
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "already bound to Keras 3" in result.stderr
    assert "TF_USE_LEGACY_KERAS=1" in result.stderr


@pytest.mark.parametrize("value", ["0", "false"])
def test_explicit_keras3_request_raises_with_instructions(value):
    result = _run("import bitnets_tf", TF_USE_LEGACY_KERAS=value)
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert f"TF_USE_LEGACY_KERAS={value!r}" in result.stderr
