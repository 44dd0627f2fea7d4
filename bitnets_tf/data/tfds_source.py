"""Examples through tensorflow-datasets: prepared copies, downloads that fail fast, and
``import_idx``, which turns local IDX files into a prepared tensorflow-datasets copy.

tensorflow-datasets retries an unreachable download for minutes (measured here: 204 s for
cifar10 without network), so a download is only attempted after a TCP connection to the
dataset's host succeeds within ``PROBE_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from bitnets_tf.data import catalog, epochs, idx, local_source
from bitnets_tf.data.catalog import DatasetEntry

PROBE_TIMEOUT_SECONDS = 3.0
HTTPS_PORT = 443


def default_data_dir() -> Path:
    """tensorflow-datasets' default data directory: ``$TFDS_DATA_DIR`` or
    ``~/tensorflow_datasets`` (read now, not when tensorflow-datasets was imported)."""
    return Path(tfds.core.constants.get_default_data_dir()).expanduser()


def download_target(data_dir: str | os.PathLike | None) -> Path:
    """Where tensorflow-datasets writes: ``data_dir``, else its default data directory."""
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


def data_dirs(data_dir: str | os.PathLike | None) -> list[Path]:
    """tensorflow-datasets data directories to look in: ``data_dir``,
    ``$BITNETS_TF_DATA_DIR``, then the tensorflow-datasets default."""
    return list(dict.fromkeys([*local_source.search_roots(data_dir), default_data_dir()]))


def find_prepared(
    dataset: DatasetEntry, data_dir: str | os.PathLike | None, looked: list[str]
) -> tfds.core.DatasetBuilder | None:
    """A builder whose data is already prepared in one of ``data_dirs(data_dir)``.

    Appends one line per directory without it to ``looked``.
    """
    for directory in data_dirs(data_dir):
        if (directory / dataset.tfds_name).is_dir():
            builder = tfds.builder(dataset.tfds_name, data_dir=str(directory))
            if builder.is_prepared():
                return builder
            where = directory / dataset.tfds_name / str(builder.version)
        else:
            where = directory / dataset.tfds_name
        looked.append(f"{where}: no prepared tensorflow-datasets copy")
    return None


def host_reachable(host: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """Whether a TCP connection to ``host``:443, or to the HTTPS proxy configured for it
    (``$HTTPS_PROXY``, ``$NO_PROXY``), opens within ``timeout`` seconds.

    Runs in a daemon thread, so a DNS lookup that hangs cannot hold the caller longer.
    """
    address = _connection_address(host)
    finished = threading.Event()
    connected = []

    def connect() -> None:
        try:
            socket.create_connection(address, timeout=timeout).close()
            connected.append(True)
        except OSError:
            pass
        finally:
            finished.set()

    threading.Thread(target=connect, daemon=True).start()
    finished.wait(timeout)
    return bool(connected)


def _connection_address(host: str) -> tuple[str, int]:
    """Where an HTTPS request to ``host`` connects first: its proxy, if one applies."""
    proxy = urllib.request.getproxies().get("https")
    if not proxy or urllib.request.proxy_bypass(host):
        return host, HTTPS_PORT
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return parts.hostname or host, parts.port or (HTTPS_PORT if parts.scheme == "https" else 80)


def download_problem(dataset: DatasetEntry, target: Path) -> str | None:
    """Why ``dataset`` cannot be prepared into ``target`` now, or None if it can."""
    if dataset.manual_files:
        manual_dir = target / "downloads" / "manual"
        missing = [name for name in dataset.manual_files if not (manual_dir / name).is_file()]
        if missing:
            return (
                f"tensorflow-datasets prepares {dataset.tfds_name} only from files you download "
                f"yourself (registration at https://image-net.org/download-images); "
                f"{manual_dir} lacks {', '.join(missing)}"
            )
        return None
    if not host_reachable(dataset.download_host):
        return (
            f"cannot download it: no connection to {dataset.download_host}:{HTTPS_PORT} "
            f"(or its HTTPS proxy) within {PROBE_TIMEOUT_SECONDS:g} s"
        )
    return None


def download_and_prepare(dataset: DatasetEntry, target: Path) -> tfds.core.DatasetBuilder:
    """Download (or, for ImageNet, extract the manual files) and prepare into ``target``."""
    builder = tfds.builder(dataset.tfds_name, data_dir=str(target))
    builder.download_and_prepare()
    return builder


def tfds_examples(
    dataset: DatasetEntry,
    builder: tfds.core.DatasetBuilder,
    split: str,
    shuffle_seed: int | None,
    shuffle_buffer: int,
) -> epochs.PassSource:
    """Unbatched ``(uint8 image, int64 label)`` examples of a prepared dataset.

    With a ``shuffle_seed`` the files are read in one order fixed by the seed and each pass
    is shuffled within windows of ``shuffle_buffer`` examples, as a function of the seed and
    the pass's key. Images are decoded after the shuffle, so the windows hold encoded bytes.
    """
    examples = builder.as_dataset(
        split=split,
        as_supervised=True,
        shuffle_files=shuffle_seed is not None,
        decoders={"image": tfds.decode.SkipDecoding()},
        read_config=tfds.ReadConfig(
            shuffle_seed=shuffle_seed, shuffle_reshuffle_each_iteration=False
        ),
    )
    channels = dataset.raw_shape[-1]

    def decode(encoded: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.io.decode_image(encoded, channels=channels, expand_animations=False)
        return tf.ensure_shape(image, dataset.raw_shape), tf.cast(label, tf.int64)

    def one_pass(key: tf.Tensor) -> tf.data.Dataset:
        ordered = examples
        if shuffle_seed is not None:
            ordered = _window_shuffled(examples, shuffle_buffer, shuffle_seed, key)
        return ordered.map(decode, num_parallel_calls=tf.data.AUTOTUNE)

    return epochs.PassSource(one_pass, int(examples.cardinality()))


def _window_shuffled(
    examples: tf.data.Dataset, window: int, seed: int, key: tf.Tensor
) -> tf.data.Dataset:
    """``examples`` shuffled within consecutive windows of ``window`` elements by a stateless
    permutation of the seed, the pass's key and the window's index (``Dataset.shuffle`` needs
    a Python seed, which a pass keyed by a tensor does not have)."""

    def permute(index: tf.Tensor, batch):
        count = tf.shape(batch[1])[0]
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count), seed=tf.stack([epochs.mixed_seed(seed, key), index])
        )
        return tuple(tf.gather(part, order) for part in batch)

    return examples.batch(window).enumerate().map(permute).unbatch()


def import_idx(
    dataset: DatasetEntry, source_dir: str | os.PathLike, data_dir: str | os.PathLike | None
) -> Path:
    """Store the IDX files in ``source_dir`` as a prepared tensorflow-datasets dataset.

    Afterwards ``tfds.load(dataset.tfds_name, data_dir=data_dir)`` and
    ``bitnets_tf.data.load(name, ..., data_dir=data_dir)`` read it without network. The
    dataset is written with the official builder's name, version and features (so the
    official builder class reads it), through ``tfds.dataset_builders.store_as_tfds_dataset``,
    which writes into a temporary directory and renames it when complete. Returns the
    dataset's directory. ``source_dir`` may hold the four files directly or in a sub-folder
    named like the dataset.
    """
    if not dataset.idx_folders:
        raise ValueError(
            f"{dataset.info.name} has no IDX files to import; datasets that do: "
            f"{', '.join(catalog.idx_datasets())}."
        )
    source_dir = Path(source_dir).expanduser()
    if not source_dir.is_dir():
        raise FileNotFoundError(f"IDX source directory {source_dir} does not exist.")
    target = download_target(data_dir)
    official = tfds.builder(dataset.tfds_name, data_dir=str(target))
    destination = target / dataset.tfds_name / str(official.version)
    if official.is_prepared():
        raise FileExistsError(
            f"{destination} already holds a prepared {dataset.tfds_name}; delete that "
            "directory to import again."
        )
    looked: list[str] = []
    files = local_source.find_split_files(
        local_source.dataset_dirs(dataset, source_dir), set(idx.IDX_FILE_NAMES), looked
    )
    if files is None:
        raise FileNotFoundError(
            f"No complete set of IDX files for {dataset.info.name} in {source_dir}:\n  "
            + "\n  ".join(looked)
        )
    height, width, _ = dataset.raw_shape
    arrays = {
        split: idx.read_split(split_files, (height, width), dataset.info.num_classes)
        for split, split_files in files.items()
    }
    tfds.dataset_builders.store_as_tfds_dataset(
        name=dataset.tfds_name,
        version=str(official.version),
        features=official.info.features,
        split_datasets={split: _keyed_examples(*arrays[split]) for split in sorted(arrays)},
        data_dir=str(target),
        description=official.info.description,
        homepage=official.info.homepage,
        citation=official.info.citation,
    )
    return destination


def _keyed_examples(images: np.ndarray, labels: np.ndarray) -> Iterator[tuple[int, dict]]:
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        yield index, {"image": image[..., np.newaxis], "label": int(label)}
