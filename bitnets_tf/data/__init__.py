"""Datasets for training and evaluating bitnets_tf models, offline when possible.

Public API (stable; other modules and the CLI build on it):

- ``load(name, split, batch_size, augment=None, data_dir=None, *, shuffle=None, seed=None,
  drop_remainder=False, download=True, epoch=0, epochs=None, batches_per_epoch=None)
  -> tf.data.Dataset`` of ``(float32 NHWC images, int64 labels)`` batches, preprocessed and
  (for training) augmented; with ``epochs``, resumable: epoch k's data depends only on the
  seed and k (``steps_per_epoch(dataset, passes)`` gives ``model.fit`` its steps);
- ``info(name) -> DatasetInfo``: num_classes, input_shape, label_names, normalisation mean/std
  (pixel units), split names and a description of the preprocessing; needs no data;
- ``available_datasets()``: mnist, fashion_mnist, cifar10, cifar100, imagenet2012;
- ``import_idx(name, source_dir, data_dir=None)``: store local IDX files as a prepared
  tensorflow-datasets copy (what ``bitnets-tf data import`` runs);
- ``DATA_DIR_ENV`` (``"BITNETS_TF_DATA_DIR"``), ``DataNotFoundError``, ``IdxFormatError``.
"""

from __future__ import annotations

import os
from pathlib import Path

from bitnets_tf.data import catalog, tfds_source
from bitnets_tf.data.catalog import DatasetInfo, available_datasets, info
from bitnets_tf.data.errors import DataNotFoundError
from bitnets_tf.data.idx import IdxFormatError
from bitnets_tf.data.local_source import DATA_DIR_ENV
from bitnets_tf.data.pipeline import load, steps_per_epoch


def import_idx(
    name: str, source_dir: str | os.PathLike, data_dir: str | os.PathLike | None = None
) -> Path:
    """Store the IDX files of ``name`` found in ``source_dir`` as a tensorflow-datasets copy.

    ``data_dir`` defaults to tensorflow-datasets' default (``$TFDS_DATA_DIR`` or
    ``~/tensorflow_datasets``). Afterwards ``tfds.load(name, data_dir=data_dir)`` and
    ``load(name, ..., data_dir=data_dir)`` work without network. Returns the directory written
    (``<data_dir>/<name>/<version>``). Raises FileExistsError when it is already prepared there.
    """
    return tfds_source.import_idx(catalog.entry(name), source_dir, data_dir)


__all__ = [
    "DATA_DIR_ENV",
    "DataNotFoundError",
    "DatasetInfo",
    "IdxFormatError",
    "available_datasets",
    "import_idx",
    "info",
    "load",
    "steps_per_epoch",
]
