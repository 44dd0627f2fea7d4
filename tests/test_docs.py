"""The documentation site builds with ``mkdocs build --strict``: every page in the nav exists,
every link and anchor resolves, and every API-reference page renders from the docstrings."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")

ROOT = Path(__file__).resolve().parent.parent


def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in (
        "bitnets_tf.quantizers.available_quantizers",
        "bitnets_tf.layers.QuantConv2D",
        "bitnets_tf.zoo.ReActNet",
        "bitnets_tf.converters.convert",
        "bitnets_tf.data.load",
        "bitnets_tf.training.bnn_optimizer",
        "bitnets_tf.deploy.ModelRunner",
    ):
        assert f'id="{name}"' in api, f"{name} is missing from the API reference"
