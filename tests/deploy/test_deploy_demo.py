"""`bitnets-tf demo --quick` end to end on small generated Fashion-MNIST IDX files."""

import dataclasses
import json

import numpy as np
from support.idx import write_idx

from bitnets_tf import cli
from bitnets_tf.deploy.metadata import model_metadata
from bitnets_tf.tflite.interpreters import bitnets_kernels_available


def _write_fashion_idx(directory, n_train=2048, n_test=512):
    """The four Fashion-MNIST IDX files with random images; labels follow the mean brightness
    so there is something to learn."""
    rng = np.random.default_rng(0)
    directory.mkdir()
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = np.minimum(images.mean(axis=(1, 2)).astype(int) // 26, 9).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            write_idx(directory / f"{prefix}-{kind}-ubyte.gz", array)


def test_quick_demo_writes_verified_models_and_a_report(tmp_path, capsys):
    _write_fashion_idx(tmp_path / "data")
    out = tmp_path / "report"
    argv = ["demo", "--quick", "--out", str(out), "--data-dir", str(tmp_path / "data")]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    for step in range(1, 7):
        assert f"[{step}/6]" in printed
    for name in ("`float` .tflite", "`int8` .tflite", "`lce` .tflite", "Keras (tf-keras)"):
        assert name in printed
    expected_files = {"report.md", "summary.json", "curves.png", "history.csv", "model.keras"}
    expected_files |= {f"fashion_mnist_{t}.tflite" for t in ("lce", "int8", "float")}
    assert {path.name for path in out.iterdir()} == expected_files  # no leftover temp files

    summary = json.loads((out / "summary.json").read_text())
    assert summary["train_examples"] == 2048 and summary["test_examples"] == 512
    rows = {row["name"]: row for row in summary["rows"]}
    assert set(rows) == {"Keras", "float", "int8", "lce"}
    for target in ("float", "int8", "lce"):
        row = rows[target]
        assert row["size_bytes"] == (out / row["file"]).stat().st_size
        assert 0 <= row["accuracy"] <= 1 and row["median_ms"] > 0
        assert row["keras_agreement"] >= 0.9  # each conversion was verified against Keras
        meta = model_metadata(out / row["file"])
        assert meta.target == target and meta.labels[0] == "T-shirt/top"
    lce_runtime = "tflite" if bitnets_kernels_available() else "lce"  # bitnets-tf's kernels
    assert rows["lce"]["runtime"] == lce_runtime and rows["int8"]["runtime"] == "tflite"
    assert rows["lce"]["size_bytes"] < rows["int8"]["size_bytes"] < rows["float"]["size_bytes"]
    report = (out / "report.md").read_text()
    assert "![training curves](curves.png)" in report and "--quick: a smoke test" in report


def test_demo_without_data_explains_how_to_get_it(tmp_path, monkeypatch, capsys):
    from bitnets_tf.data import catalog, local_source

    monkeypatch.delenv(local_source.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds_default"))
    monkeypatch.setitem(local_source.DEBIAN_DATASET_DIRS, "fashion_mnist", tmp_path / "none")
    offline = dataclasses.replace(
        catalog.DATASETS["fashion_mnist"], download_host="bitnets-tf-test.invalid"
    )  # RFC 6761: .invalid never resolves
    monkeypatch.setitem(catalog.DATASETS, "fashion_mnist", offline)
    argv = ["demo", "--quick", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "bitnets-tf demo: error:" in err and "apt-get install dataset-fashion-mnist" in err
