"""Examples from local IDX files (MNIST, Fashion-MNIST), found without network access.

Search order for dataset ``name`` (the first directory holding the files of every split the
request reads wins):

1. ``data_dir`` (the ``load`` argument): ``data_dir/<folder>`` for each of the dataset's
   folder names (``mnist``; ``fashion_mnist``, ``fashion-mnist``), then ``data_dir`` itself;
2. the same inside ``$BITNETS_TF_DATA_DIR``;
3. the Debian/Ubuntu/Raspberry Pi OS package directory (``DEBIAN_DATASET_DIRS``).

A directory that directly holds the four IDX files is used for whichever IDX dataset is asked
for, so point it at the right dataset.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from bitnets_tf.data import epochs, idx
from bitnets_tf.data.catalog import DatasetEntry

DATA_DIR_ENV = "BITNETS_TF_DATA_DIR"
GATHER_CHUNK = 1024  # examples gathered from the in-memory arrays per tf.data step
# Where distribution packages install IDX files; tests point these elsewhere.
DEBIAN_DATASET_DIRS: dict[str, Path] = {
    "fashion_mnist": Path("/usr/share/datasets/fashion-mnist"),
}
DEBIAN_PACKAGES: dict[str, str] = {"fashion_mnist": "dataset-fashion-mnist"}


def search_roots(data_dir: str | os.PathLike | None) -> list[Path]:
    """``data_dir`` and ``$BITNETS_TF_DATA_DIR``, those that are given, in that order."""
    roots = [data_dir, os.environ.get(DATA_DIR_ENV) or None]
    return _unique([Path(root).expanduser() for root in roots if root is not None])


def dataset_dirs(dataset: DatasetEntry, root: Path) -> list[Path]:
    """``root``'s sub-folders named like ``dataset`` (e.g. ``fashion-mnist``), then ``root``."""
    return [root / folder for folder in dataset.idx_folders] + [root]


def candidate_dirs(dataset: DatasetEntry, data_dir: str | os.PathLike | None) -> list[Path]:
    """Every directory searched for ``dataset``'s IDX files, in search order."""
    dirs = [path for root in search_roots(data_dir) for path in dataset_dirs(dataset, root)]
    debian_dir = DEBIAN_DATASET_DIRS.get(dataset.info.name)
    if debian_dir is not None:
        dirs.append(debian_dir)
    return _unique(dirs)


def find_split_files(
    directories: list[Path], splits: set[str], looked: list[str]
) -> dict[str, idx.IdxSplitFiles] | None:
    """The files of ``splits`` from the first of ``directories`` that has all of them.

    Appends one line per rejected directory (what was missing) to ``looked``.
    """
    for directory in directories:
        if not directory.is_dir():
            looked.append(f"{directory}: no such directory")
            continue
        found, missing = {}, []
        for split in sorted(splits):
            files, missing_files = idx.find_split_files(directory, split)
            found[split] = files
            missing += missing_files
        if not missing:
            return found
        looked.append(f"{directory}: no {', '.join(missing)}")
    return None


def split_names(split: str) -> set[str]:
    """Names of the splits a tfds-style split string reads: ``"train[:90%]+test"`` gives
    ``{"train", "test"}``."""
    return {part.split("[", 1)[0].strip() for part in split.split("+")}


def idx_examples(
    dataset: DatasetEntry,
    split: str,
    files: dict[str, idx.IdxSplitFiles],
    shuffle_seed: int | None,
) -> epochs.PassSource:
    """Unbatched ``(uint8 image (H, W, 1), int64 label)`` examples of ``split``.

    The raw uint8 arrays stay in memory once; each pass gathers images in chunks. With a
    ``shuffle_seed`` it first shuffles the example indices (the full split, so a perfect
    shuffle) as a function of the seed and the pass's key.
    """
    height, width, _ = dataset.raw_shape
    names = sorted(files)
    arrays = [
        idx.read_split(files[name], (height, width), dataset.info.num_classes) for name in names
    ]
    sizes = [len(labels) for _, labels in arrays]
    starts = np.cumsum([0, *sizes[:-1]])
    positions = {
        name: np.arange(start, start + size)
        for name, start, size in zip(names, starts, sizes, strict=True)
    }
    counts = {
        name: SimpleNamespace(num_examples=size) for name, size in zip(names, sizes, strict=True)
    }
    parts = tfds.core.ReadInstruction.from_spec(split).to_absolute(counts)
    indices = np.concatenate([positions[part.splitname][part.from_ : part.to] for part in parts])
    if indices.size == 0:
        raise ValueError(f"Split {split!r} of {dataset.info.name} selects no examples.")
    images = tf.constant(_join([images for images, _ in arrays]))
    labels = tf.constant(_join([labels for _, labels in arrays]), tf.int64)
    positions_in_split = tf.constant(indices, tf.int64)

    def one_pass(key: tf.Tensor) -> tf.data.Dataset:
        order = positions_in_split
        if shuffle_seed is not None:
            order = tf.random.experimental.stateless_shuffle(
                order, seed=epochs.seed_pair(shuffle_seed, key)
            )
        gathered = (
            tf.data.Dataset.from_tensor_slices(order)
            .batch(GATHER_CHUNK)
            .map(
                lambda chunk: (
                    tf.expand_dims(tf.gather(images, chunk), -1),
                    tf.gather(labels, chunk),
                ),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        )
        return gathered.unbatch()

    return epochs.PassSource(one_pass, len(indices))


def _join(arrays: list[np.ndarray]) -> np.ndarray:
    """One array from several, without a copy when there is only one."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _unique(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))
