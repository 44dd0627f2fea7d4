"""bitnets_tf.data on small generated IDX files: sources, preprocessing, augmentation,
errors, and the `bitnets-tf data` command."""

import dataclasses
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from support.idx import write_idx

from bitnets_tf import cli, data
from bitnets_tf.data import catalog, local_source, preprocessing, tfds_source

REAL_MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"  # beside the repo
UNRESOLVABLE_HOST = "bitnets-tf-test.invalid"  # RFC 6761: .invalid never resolves


def _make_idx_dir(directory: Path, n_train=30, n_test=12, gz=True, seed=0) -> dict:
    """Write the four IDX files; return {split: (images, labels)}."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    arrays = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images, gz)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)
        arrays[split] = (images, labels)
    return arrays


def _collect(dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    batches = list(dataset.as_numpy_iterator())
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


def _pixels(x: np.ndarray) -> np.ndarray:
    """MNIST-style normalised images back to pixel units."""
    return np.rint(x[..., 0] * 127.5 + 127.5).astype(np.int64)


def _shift_of(original: np.ndarray, shifted: np.ndarray, pad: int) -> tuple[int, int] | None:
    """The offset at which `shifted` is a crop of zero-padded `original`, if it is one."""
    height, width = original.shape[:2]
    padded = np.pad(original, [(pad, pad), (pad, pad)] + [(0, 0)] * (original.ndim - 2))
    for dy in range(2 * pad + 1):
        for dx in range(2 * pad + 1):
            if np.array_equal(padded[dy : dy + height, dx : dx + width], shifted):
                return dy, dx
    return None


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No env var, an empty tfds default dir, no Debian dir, and no download host."""
    monkeypatch.delenv(local_source.DATA_DIR_ENV, raising=False)
    for proxy in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds_default"))
    for name in local_source.DEBIAN_DATASET_DIRS:
        monkeypatch.setitem(local_source.DEBIAN_DATASET_DIRS, name, tmp_path / "no_debian")
    for name, entry in catalog.DATASETS.items():
        if entry.download_host is not None:
            patched = dataclasses.replace(entry, download_host=UNRESOLVABLE_HOST)
            monkeypatch.setitem(catalog.DATASETS, name, patched)


# --- reading IDX files --------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_eval_split_is_every_example_in_file_order_scaled_to_unit_range(tmp_path, gz):
    arrays = _make_idx_dir(tmp_path / "idx", gz=gz)
    images, labels = arrays["test"]
    x, y = _collect(data.load("mnist", "test", batch_size=5, data_dir=tmp_path / "idx"))
    assert x.shape == (12, 28, 28, 1) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_allclose(x[..., 0], (images.astype(np.float32) - 127.5) / 127.5)
    assert x.min() >= -1.0 and x.max() <= 1.0


def test_eval_split_is_deterministic_and_train_split_is_a_seeded_reshuffle(tmp_path):
    arrays = _make_idx_dir(tmp_path, n_train=40)
    evaluation = data.load("mnist", "test", 4, data_dir=tmp_path)
    first, second = _collect(evaluation), _collect(evaluation)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])

    train = data.load("mnist", "train", 8, data_dir=tmp_path, seed=3, augment=False)
    epoch1, epoch2 = _collect(train)[1], _collect(train)[1]
    again = _collect(data.load("mnist", "train", 8, data_dir=tmp_path, seed=3, augment=False))[1]
    np.testing.assert_array_equal(epoch1, again)  # same seed, same order
    assert not np.array_equal(epoch1, epoch2)  # reshuffled every epoch
    np.testing.assert_array_equal(np.sort(epoch1), np.sort(arrays["train"][1]))


def test_split_slicing_follows_tensorflow_datasets_syntax(tmp_path):
    arrays = _make_idx_dir(tmp_path, n_train=30, n_test=12)
    train_labels, test_labels = arrays["train"][1], arrays["test"][1]
    _, y = _collect(data.load("mnist", "train[-3:]", 2, data_dir=tmp_path, shuffle=False))
    np.testing.assert_array_equal(y, train_labels[-3:])
    _, y = _collect(data.load("mnist", "train[:50%]+test", 7, data_dir=tmp_path, shuffle=False))
    np.testing.assert_array_equal(y, np.concatenate([train_labels[:15], test_labels]))
    batches = data.load("mnist", "train", 8, data_dir=tmp_path, drop_remainder=True)
    assert int(batches.cardinality()) == 3


def test_env_var_directory_with_per_dataset_subfolders(tmp_path, monkeypatch):
    mnist = _make_idx_dir(tmp_path / "root" / "mnist", seed=1)
    fashion = _make_idx_dir(tmp_path / "root" / "fashion-mnist", seed=2, gz=False)
    monkeypatch.setenv(local_source.DATA_DIR_ENV, str(tmp_path / "root"))
    _, y = _collect(data.load("mnist", "test", 50))
    np.testing.assert_array_equal(y, mnist["test"][1])
    _, y = _collect(data.load("fashion_mnist", "test", 50))
    np.testing.assert_array_equal(y, fashion["test"][1])


def test_env_var_pointing_directly_at_the_files_and_debian_directory(tmp_path, monkeypatch):
    direct = _make_idx_dir(tmp_path / "direct", seed=4)
    monkeypatch.setenv(local_source.DATA_DIR_ENV, str(tmp_path / "direct"))
    np.testing.assert_array_equal(_collect(data.load("mnist", "test", 50))[1], direct["test"][1])

    monkeypatch.delenv(local_source.DATA_DIR_ENV)
    debian = _make_idx_dir(tmp_path / "debian", seed=5)
    monkeypatch.setitem(local_source.DEBIAN_DATASET_DIRS, "fashion_mnist", tmp_path / "debian")
    _, y = _collect(data.load("fashion_mnist", "test", 50))
    np.testing.assert_array_equal(y, debian["test"][1])


def test_batches_feed_model_fit_directly(tmp_path):
    _make_idx_dir(tmp_path, n_train=24)
    meta = data.info("mnist")
    train = data.load("mnist", "train", 8, data_dir=tmp_path, seed=0)
    model = tf.keras.Sequential(
        [tf.keras.Input(meta.input_shape), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)]
    )
    model.compile("sgd", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(train, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


# --- augmentation and preprocessing ------------------------------------------------------


def test_mnist_augmentation_shifts_by_at_most_two_pixels(tmp_path):
    arrays = _make_idx_dir(tmp_path, n_train=16)
    images, labels = arrays["train"]
    x, y = _collect(data.load("mnist", "train", 16, data_dir=tmp_path, shuffle=False, seed=0))
    assert x.shape == (16, 28, 28, 1) and x.min() >= -1.0 and x.max() <= 1.0
    np.testing.assert_array_equal(y, labels)
    shifted = _pixels(x)
    offsets = [_shift_of(images[i], shifted[i], pad=2) for i in range(16)]
    assert None not in offsets
    assert len(set(offsets)) > 1  # each image of the batch draws its own shift


def test_cifar_augmentation_is_pad4_crop_and_flip_then_normalised():
    meta = data.info("cifar10")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    mean, std = np.array(meta.mean), np.array(meta.std)
    flips = 0
    for i in range(12):
        out = preprocessing.preprocess(tf.constant(image), "cifar10", tf.constant([i, 7])).numpy()
        assert out.shape == meta.input_shape and out.dtype == np.float32
        pixels = np.rint(out * std + mean).astype(np.int64)
        unflipped = _shift_of(image.astype(np.int64), pixels, pad=4) is not None
        flipped = _shift_of(image.astype(np.int64), pixels[:, ::-1], pad=4) is not None
        assert unflipped or flipped
        flips += flipped and not unflipped
    assert 0 < flips < 12
    evaluated = preprocessing.preprocess(tf.constant(image), "cifar10").numpy()
    np.testing.assert_allclose(evaluated, (image - mean) / std, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("height, width", [(300, 400), (500, 120), (64, 64)])
def test_imagenet_preprocessing_gives_224_crops_of_any_image(height, width):
    meta = data.info("imagenet2012")
    constant = tf.fill([height, width, 3], tf.constant(200, tf.uint8))
    expected = (200 - np.array(meta.mean)) / np.array(meta.std)
    evaluated = preprocessing.preprocess(constant, "imagenet2012").numpy()
    assert evaluated.shape == (224, 224, 3)
    np.testing.assert_allclose(evaluated, np.broadcast_to(expected, (224, 224, 3)), rtol=1e-4)
    augmented = preprocessing.preprocess(constant, "imagenet2012", tf.constant([1, 2]))
    assert augmented.shape == (224, 224, 3)
    np.testing.assert_allclose(augmented.numpy(), evaluated, rtol=1e-4)


def test_imagenet_eval_crop_is_central_after_resizing_the_shorter_side_to_256():
    meta = data.info("imagenet2012")
    columns = np.broadcast_to((np.arange(512) // 2).astype(np.uint8)[None, :, None], (256, 512, 3))
    cropped = preprocessing.preprocess(tf.constant(columns), "imagenet2012").numpy()
    pixels = np.rint(cropped * np.array(meta.std) + np.array(meta.mean))
    np.testing.assert_array_equal(pixels[0, :, 0], np.arange(144, 368) // 2)
    half = preprocessing.preprocess(tf.constant(columns[::2, ::2]), "imagenet2012").numpy()
    assert half.shape == (224, 224, 3)  # 128x256 upscaled to 256x512 first, same crop
    np.testing.assert_allclose(half[:, 20:-20], cropped[:, 20:-20], atol=0.05)


# --- metadata ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", data.available_datasets())
def test_info_is_consistent_for_every_dataset(name):
    meta = data.info(name)
    channels = meta.input_shape[-1]
    assert meta.num_classes == len(meta.label_names) == len(set(meta.label_names))
    assert len(meta.mean) == len(meta.std) == channels
    assert all(0 < s < 255 for s in meta.std) and all(0 < m < 255 for m in meta.mean)
    assert meta.train_split in meta.splits and meta.eval_split in meta.splits


def test_label_names_and_normalisation_of_known_datasets():
    assert data.info("fashion_mnist").label_names[9] == "Ankle boot"
    cifar100 = data.info("cifar100").label_names
    assert len(cifar100) == 100 and list(cifar100) == sorted(cifar100)
    assert data.info("imagenet2012").label_names[0] == "n01440764"  # tench
    assert data.info("mnist").mean == (127.5,) and data.info("mnist").std == (127.5,)
    assert data.info("imagenet2012").mean == pytest.approx((123.675, 116.28, 103.53))


# --- errors ------------------------------------------------------------------------------


def test_bad_arguments_name_the_parameter(tmp_path):
    _make_idx_dir(tmp_path)
    with pytest.raises(ValueError, match="`name` must be one of"):
        data.load("mnist2", "train", 8, data_dir=tmp_path)
    with pytest.raises(ValueError, match="`split` must name splits of mnist"):
        data.load("mnist", "validation", 8, data_dir=tmp_path)
    with pytest.raises(ValueError, match="`batch_size` must be an integer >= 1"):
        data.load("mnist", "test", 0, data_dir=tmp_path)
    with pytest.raises(ValueError, match="selects no examples"):
        data.load("mnist", "train[10:5]", 8, data_dir=tmp_path)


def _corrupt(directory: Path, name: str, change) -> Path:
    path = directory / name
    path.write_bytes(change(path.read_bytes()))
    return path


@pytest.mark.parametrize(
    "gz, name, change, message",
    [
        (False, "t10k-images-idx3-ubyte", lambda b: b[:-10], "it is truncated"),
        (False, "t10k-images-idx3-ubyte", lambda b: b + b"\0", "it is corrupt"),
        (False, "t10k-labels-idx1-ubyte", lambda b: b[:6], "ends inside its header"),
        (False, "t10k-labels-idx1-ubyte", lambda b: b"\0\0\x08\x03" + b[4:], "magic number"),
        (True, "t10k-images-idx3-ubyte.gz", lambda b: b[: len(b) // 2], "truncated gzip"),
        (True, "t10k-labels-idx1-ubyte.gz", lambda b: b[:2] + b"\xff" * 20, "corrupt or trunc"),
    ],
)
def test_corrupt_files_raise_an_error_naming_the_file(tmp_path, gz, name, change, message):
    _make_idx_dir(tmp_path, gz=gz)
    path = _corrupt(tmp_path, name, change)
    with pytest.raises(data.IdxFormatError, match=message) as caught:
        data.load("mnist", "test", 4, data_dir=tmp_path)
    assert str(path) in str(caught.value)


def test_mismatched_counts_and_out_of_range_labels_are_rejected(tmp_path):
    _make_idx_dir(tmp_path, gz=False, n_test=12)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(11, np.uint8), gz=False)
    with pytest.raises(data.IdxFormatError, match=r"has 12 images but .* has 11 labels"):
        data.load("mnist", "test", 4, data_dir=tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.full(12, 10, np.uint8), gz=False)
    with pytest.raises(data.IdxFormatError, match=r"label 10 is outside \[0, 10\)"):
        data.load("mnist", "test", 4, data_dir=tmp_path)


def test_no_data_error_lists_every_place_and_the_fixes_quickly(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(local_source.DATA_DIR_ENV, str(tmp_path / "nowhere"))
    start = time.monotonic()
    with pytest.raises(data.DataNotFoundError) as caught:
        data.load("fashion_mnist", "train", 8, data_dir=tmp_path / "empty")
    elapsed = time.monotonic() - start
    message = str(caught.value)
    for place in [
        tmp_path / "empty" / "fashion_mnist",
        tmp_path / "empty" / "fashion-mnist",
        tmp_path / "empty",
        tmp_path / "nowhere",
        tmp_path / "no_debian",
        tmp_path / "tfds_default" / "fashion_mnist",
    ]:
        assert f"{place}: no" in message
    assert f"no connection to {UNRESOLVABLE_HOST}" in message
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert "data_dir=DIR" in message and "BITNETS_TF_DATA_DIR=DIR" in message
    assert "network access" in message
    assert elapsed < 20  # tensorflow-datasets alone retries for minutes


def test_download_probe_goes_to_the_https_proxy_when_one_is_set(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "storage.googleapis.com")
    assert tfds_source._connection_address("www.cs.toronto.edu") == ("proxy.example", 3128)
    assert tfds_source._connection_address("storage.googleapis.com")[0] == "storage.googleapis.com"
    with socket.create_server(("127.0.0.1", 0)) as listening:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{listening.getsockname()[1]}")
        assert tfds_source.host_reachable("www.cs.toronto.edu")
    assert not tfds_source.host_reachable("www.cs.toronto.edu")  # the proxy is gone


def test_no_data_without_download_and_for_manual_only_imagenet(tmp_path):
    with pytest.raises(data.DataNotFoundError, match="download=False"):
        data.load("cifar10", "test", 8, data_dir=tmp_path, download=False)
    with pytest.raises(data.DataNotFoundError, match=r"ILSVRC2012_img_train\.tar") as caught:
        data.load("imagenet2012", "validation", 8, data_dir=tmp_path)
    assert str(tmp_path / "downloads" / "manual") in str(caught.value)


# --- import as a tensorflow-datasets dataset ---------------------------------------------


def test_import_command_makes_tfds_and_load_read_it_offline(tmp_path, capsys):
    arrays = _make_idx_dir(tmp_path / "src" / "mnist", n_train=20, n_test=10)
    out = tmp_path / "tfds"
    assert cli.main(["data", "import", "mnist", str(tmp_path / "src"), "--data-dir", str(out)]) == 0
    assert str(out / "mnist" / "3.0.1") in capsys.readouterr().out

    official = tfds.load("mnist", split="test", data_dir=str(out), as_supervised=True)
    pairs = sorted((int(y), x.numpy()[..., 0].tobytes()) for x, y in official)
    images, labels = arrays["test"]
    assert pairs == sorted((int(y), x.tobytes()) for x, y in zip(images, labels, strict=True))

    x, y = _collect(data.load("mnist", "test", 4, data_dir=out))
    assert x.shape == (10, 28, 28, 1) and x.min() >= -1.0 and x.max() <= 1.0
    np.testing.assert_array_equal(np.sort(y), np.sort(labels))
    x, _ = _collect(data.load("mnist", "train", 8, data_dir=out, seed=0))
    assert x.shape == (20, 28, 28, 1)

    assert cli.main(["data", "import", "mnist", str(tmp_path / "src"), "--data-dir", str(out)]) == 2
    assert "already holds a prepared mnist" in capsys.readouterr().err


def test_import_rejects_datasets_without_idx_files_and_missing_files(tmp_path, capsys):
    assert cli.main(["data", "import", "cifar10", str(tmp_path)]) == 2
    assert "cifar10 has no IDX files to import" in capsys.readouterr().err
    assert cli.main(["data", "import", "mnist", str(tmp_path), "--data-dir", str(tmp_path)]) == 2
    assert "No complete set of IDX files for mnist" in capsys.readouterr().err


def test_data_info_command_prints_metadata(capsys):
    assert cli.main(["data", "info", "cifar10"]) == 0
    out = capsys.readouterr().out
    assert "10 (airplane, automobile" in out and "(32, 32, 3)" in out and "mean=" in out


# --- optional: the real MNIST files ------------------------------------------------------


@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason=f"{REAL_MNIST} not present")
def test_real_mnist_first_labels_and_pixel_mean():
    train = data.load("mnist", "train", 60000, augment=False, shuffle=False, data_dir=REAL_MNIST)
    x, y = next(iter(train))
    np.testing.assert_array_equal(y.numpy()[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    assert float(np.mean(x.numpy() * 127.5 + 127.5)) == pytest.approx(33.318, abs=1e-3)
