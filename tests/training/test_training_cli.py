"""``bitnets-tf train`` on tiny generated IDX files: outputs, progress bar, and bad input."""

import csv
import json

import numpy as np
import pytest
import tensorflow as tf
from support.idx import write_idx

from bitnets_tf import cli

IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 96),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 32),
}


@pytest.fixture
def mnist_dir(tmp_path, monkeypatch):
    """A fake MNIST: digits drawn as a bright square at a label-dependent position."""
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for images_name, labels_name, count in IDX_FILES.values():
        labels = rng.integers(0, 10, count)
        images = rng.integers(0, 60, (count, 28, 28))
        for image, label in zip(images, labels, strict=True):
            row, column = divmod(int(label), 5)
            image[4 + 10 * row : 12 + 10 * row, 2 + 5 * column : 6 + 5 * column] = 255
        write_idx(root / "mnist" / images_name, images)
        write_idx(root / "mnist" / labels_name, labels)
    monkeypatch.setenv("BITNETS_TF_DATA_DIR", str(root))
    return root


def _train(*options: str) -> int:
    return cli.main(["train", *options])


def _tiny_run(mnist_dir, out, *extra: str) -> int:
    return _train(
        "--model", "binarynet_mlp", "--model-arg", "hidden_units=32",
        "--dataset", "mnist", "--data-dir", str(mnist_dir), "--out", str(out),
        "--batch-size", "16", "--learning-rate", "0.01", *extra,
    )  # fmt: skip


def test_train_writes_log_curves_and_best_model(mnist_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert _tiny_run(mnist_dir, out, "--epochs", "3", "--schedule", "exponential") == 0
    stdout = capsys.readouterr().out
    assert "Epoch 1/3" in stdout and "[====" in stdout  # Keras progress bar
    assert "best val_accuracy" in stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "best.keras", "best.keras.json", "curves.png", "history.csv",
    ]  # fmt: skip
    with open(out / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "flip_ratio"} <= set(rows[0])
    accuracies = [float(row["val_accuracy"]) for row in rows]
    record = json.loads((out / "best.keras.json").read_text())
    assert record["epoch"] == 1 + accuracies.index(max(accuracies))
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    model = tf.keras.models.load_model(out / "best.keras")  # no custom_objects
    assert model.name == "binarynet_mlp" and model.output_shape == (None, 10)


def test_train_limit_and_max_steps(mnist_dir, tmp_path, capsys):
    out = tmp_path / "quick"
    options = ("--epochs", "1", "--limit", "40", "--max-steps", "2", "--validation", "none")
    assert _tiny_run(mnist_dir, out, *options, "--optimizer", "bop") == 0
    stdout = capsys.readouterr().out
    assert "2/2" in stdout and "best accuracy" in stdout and "val_loss" not in stdout


@pytest.mark.parametrize(("extra", "train_augment"), [((), True), (("--no-augment",), False)])
def test_train_augments_only_the_training_split_unless_no_augment(
    mnist_dir, tmp_path, monkeypatch, extra, train_augment
):
    from bitnets_tf import data

    calls = []
    real_load = data.load

    def recording_load(name, split, *args, **kwargs):
        calls.append((split, kwargs["augment"]))
        return real_load(name, split, *args, **kwargs)

    monkeypatch.setattr(data, "load", recording_load)
    options = ("--epochs", "1", "--max-steps", "1", *extra)
    assert _tiny_run(mnist_dir, tmp_path / "run", *options) == 0
    assert calls == [("train", train_augment), ("test", False)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--model", "resnet9000"), "unknown --model 'resnet9000'; allowed: binarynet_cnn"),
        (("--dataset", "svhn"), "unknown --dataset 'svhn'; allowed: cifar10, cifar100"),
        (("--epochs", "0"), "--epochs must be >= 1, got 0"),
        (("--optimizer", "lamb"), "allowed: adam, bop, sgd"),
        (("--learning-rate", "-1"), "--learning-rate must be > 0"),
        (("--model-arg", "units"), "KEY=VALUE"),
    ],
)
def test_train_rejects_bad_input(tmp_path, capsys, options, message):
    defaults = {
        "--model": "binarynet_mlp", "--dataset": "mnist", "--epochs": "1",
        "--out": str(tmp_path / "out"),
    }  # fmt: skip
    arguments = dict(defaults)
    arguments.update(dict(zip(options[::2], options[1::2], strict=True)))
    assert _train(*[item for pair in arguments.items() for item in pair]) == 2
    assert message in capsys.readouterr().err


def test_train_rejects_unwritable_out_dir(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    options = ["--model", "binarynet_mlp", "--dataset", "mnist", "--epochs", "1"]
    assert _train(*options, "--out", str(blocker / "run")) == 2
    error = capsys.readouterr().err
    assert "cannot write to --out" in error and "choose a directory you can write to" in error


def test_train_reports_missing_data(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BITNETS_TF_DATA_DIR", str(tmp_path / "empty"))
    options = ["--model", "binarynet_mlp", "--dataset", "mnist", "--epochs", "1"]
    code = _train(*options, "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "none"))
    assert code == 2
    assert "bitnets-tf train: error:" in capsys.readouterr().err


def test_train_stopped_by_a_non_finite_loss_exits_1(mnist_dir, tmp_path, capsys):
    out = tmp_path / "out"
    status = _tiny_run(mnist_dir, out, "--epochs", "2", "--learning-rate", "1e38", "--limit", "32")
    err = capsys.readouterr().err
    assert status == 1
    assert "bitnets-tf train: error: " in err and "lower the learning rate" in err
