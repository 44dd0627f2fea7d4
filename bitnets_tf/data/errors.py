"""The error raised when a dataset is neither on disk nor downloadable, saying where
``load`` looked and what to install or download."""

from __future__ import annotations

import os
from pathlib import Path

from bitnets_tf.data import idx, local_source
from bitnets_tf.data.catalog import DatasetEntry


class DataNotFoundError(FileNotFoundError):
    """No local copy of a dataset was found and it cannot be downloaded now."""


def data_not_found(
    dataset: DatasetEntry,
    split: str,
    looked_idx: list[str],
    looked_tfds: list[str],
    problem: str,
    target: Path,
) -> DataNotFoundError:
    """A DataNotFoundError listing each place looked at and each way to get the data."""
    name = dataset.info.name
    lines = [f"No data for {name!r} (split {split!r}) on this machine, and {problem}."]
    if dataset.idx_folders:
        lines.append("Looked for IDX files in:")
        lines += [f"  - {line}" for line in looked_idx]
        if not os.environ.get(local_source.DATA_DIR_ENV):
            lines.append(f"  - ${local_source.DATA_DIR_ENV}: not set")
    lines.append("Looked for a prepared tensorflow-datasets copy in:")
    lines += [f"  - {line}" for line in looked_tfds]
    lines.append("To get the data, do one of:")
    package = local_source.DEBIAN_PACKAGES.get(name)
    if package is not None:
        lines.append(
            f"  - sudo apt-get install {package}   (Debian, Ubuntu, Raspberry Pi OS; installs "
            f"{local_source.DEBIAN_DATASET_DIRS[name]})"
        )
    if dataset.idx_folders:
        files = ", ".join(base for pair in idx.IDX_FILE_NAMES.values() for base in pair)
        lines.append(
            f"  - put the four IDX files ({files}; gzipped or not) in a directory DIR and pass "
            f"data_dir=DIR, or set {local_source.DATA_DIR_ENV}=DIR (DIR may also hold them in "
            f"a sub-folder {dataset.idx_folders[0]}/)"
        )
    if dataset.manual_files:
        lines.append(
            f"  - download {' and '.join(dataset.manual_files)} from https://image-net.org "
            f"into {target / 'downloads' / 'manual'} (tensorflow-datasets then prepares it)"
        )
    else:
        lines.append(
            f"  - run once with network access, so tensorflow-datasets downloads it into {target}"
        )
    lines.append(
        f"  - copy a prepared tensorflow-datasets directory {dataset.tfds_name}/ from another "
        f"machine into DIR and pass data_dir=DIR"
    )
    return DataNotFoundError("\n".join(lines))
