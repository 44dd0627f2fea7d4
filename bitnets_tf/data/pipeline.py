"""``load``: a batched, preprocessed tf.data pipeline for one split of a known dataset."""

from __future__ import annotations

import os
from collections.abc import Callable

import tensorflow as tf

from bitnets_tf._validation import check_int_at_least
from bitnets_tf.data import catalog, errors, local_source, preprocessing, tfds_source
from bitnets_tf.data import epochs as epochs_lib
from bitnets_tf.data.catalog import DatasetEntry
from bitnets_tf.data.epochs import PassSource

SHUFFLE_BUFFER = 10_000  # examples per shuffled window of tensorflow-datasets sources (IDX: all)


def load(
    name: str,
    split: str,
    batch_size: int,
    augment: bool | None = None,
    data_dir: str | os.PathLike | None = None,
    *,
    shuffle: bool | None = None,
    seed: int | None = None,
    drop_remainder: bool = False,
    download: bool = True,
    epoch: int = 0,
    epochs: int | None = None,
    batches_per_epoch: int | None = None,
) -> tf.data.Dataset:
    """Batches ``(images, labels)`` of ``split`` of dataset ``name``, preprocessed for a model.

    Args:
        name: one of ``available_datasets()``: mnist, fashion_mnist, cifar10, cifar100,
            imagenet2012.
        split: a split of ``info(name).splits``, with tensorflow-datasets slicing allowed, e.g.
            ``"train"``, ``"test"``, ``"train[:90%]"``, ``"train[-5000:]"``.
        batch_size: examples per batch (the last batch may be smaller unless
            ``drop_remainder``).
        augment: apply the training augmentation (``info(name).augmentation``); default: when
            ``split`` reads only the training split. Pass ``augment=False, shuffle=False`` for
            a validation slice of the training split.
        data_dir: where to look first (see below) and where tensorflow-datasets downloads to.
        shuffle: shuffle the examples (reshuffled every epoch); default as for ``augment``.
        seed: makes shuffling and augmentation reproducible; without it the seed derives
            from TF's global seed (``tf.keras.utils.set_random_seed``), random if unset.
        epochs: with it, the dataset holds the passes of epochs ``epoch .. epochs - 1`` back
            to back, and each pass's order and augmentation depend only on ``seed`` and its
            epoch: train with ``model.fit(dataset, epochs=epochs,
            steps_per_epoch=steps_per_epoch(dataset, epochs - epoch))``, and a run resumed
            at epoch ``k`` (``epoch=k``) continues exactly as an uninterrupted run would.
            Without it, every iteration over the dataset is one pass, reshuffled each time.
        epoch: the first epoch, with ``epochs``.
        batches_per_epoch: at most this many batches per pass.
        drop_remainder: drop the last, smaller batch.
        download: allow tensorflow-datasets to download when no local copy exists.

    Returns:
        A ``tf.data.Dataset`` of ``(float32 images (batch, *info(name).input_shape),
        int64 labels (batch,))``, prefetched. Evaluation (no shuffle, no augment) is
        deterministic: the same order and values on every pass.

    The data is taken from the first of:

    1. IDX files (mnist, fashion_mnist) in ``data_dir``, ``data_dir/<dataset folder>``, the same
       in ``$BITNETS_TF_DATA_DIR``, and the Debian package directory
       ``/usr/share/datasets/fashion-mnist`` (``sudo apt-get install dataset-fashion-mnist``);
    2. a prepared tensorflow-datasets copy in ``data_dir``, ``$BITNETS_TF_DATA_DIR`` or the
       tensorflow-datasets default (``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``), e.g. one
       written by ``bitnets-tf data import``;
    3. a tensorflow-datasets download into ``data_dir`` (or its default), tried only when the
       download host answers within a few seconds (ImageNet: only from the manually
       downloaded archives).

    Raises:
        ValueError: unknown name or split, bad batch_size.
        DataNotFoundError: none of the above worked; the message lists every place looked at
            and how to get the data.
        IdxFormatError: a local IDX file is truncated or corrupt (the message names it).
    """
    dataset = catalog.entry(name)
    batch_size = check_int_at_least("batch_size", batch_size, 1)
    first_epoch = check_int_at_least("epoch", epoch, 0)
    if epochs is not None:
        check_int_at_least("epochs", epochs, first_epoch + 1)
    if batches_per_epoch is not None:
        check_int_at_least("batches_per_epoch", batches_per_epoch, 1)
    training = _check_split(dataset, split) == {dataset.info.train_split}
    augment = training if augment is None else bool(augment)
    shuffle = training if shuffle is None else bool(shuffle)
    seed = epochs_lib.resolve_seed(seed)
    source = _examples(dataset, split, data_dir, seed if shuffle else None, download)
    batched = preprocessing.is_batched(name)
    transform = preprocessing.preprocess_batch if batched else preprocessing.preprocess

    def one_pass(key: tf.Tensor) -> tf.data.Dataset:
        examples = source.examples(key)
        if batched:
            examples = examples.batch(batch_size, drop_remainder=drop_remainder)
        examples = _preprocessed(examples, name, transform, seed if augment else None, key)
        if not batched:
            examples = examples.batch(batch_size, drop_remainder=drop_remainder)
        return examples if batches_per_epoch is None else examples.take(batches_per_epoch)

    per_pass = source.count // batch_size
    if not drop_remainder and source.count % batch_size:
        per_pass += 1
    if batches_per_epoch is not None:
        per_pass = min(per_pass, batches_per_epoch)
    count = 1 if epochs is None else epochs - first_epoch
    batches = epochs_lib.passes(seed, first_epoch, epochs).flat_map(one_pass)
    batches = batches.apply(tf.data.experimental.assert_cardinality(per_pass * count))
    return batches.prefetch(tf.data.AUTOTUNE)


def steps_per_epoch(dataset: tf.data.Dataset, passes: int = 1) -> int:
    """Batches per pass of a dataset from :func:`load` holding ``passes`` passes."""
    return int(dataset.cardinality()) // passes


def _preprocessed(
    elements: tf.data.Dataset,
    name: str,
    transform: Callable[..., tf.Tensor],
    augment_seed: int | None,
    key: tf.Tensor,
) -> tf.data.Dataset:
    """``elements`` of (images, labels) with ``transform(images, name[, seed pair])`` applied;
    with an ``augment_seed``, each element gets its own stateless seed pair, a function of
    the seed, the pass's key and its position in the pass."""
    if augment_seed is None:
        return elements.map(
            lambda images, labels: (transform(images, name), labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    seeds = epochs_lib.element_seeds(augment_seed, key)
    return tf.data.Dataset.zip(elements, seeds).map(
        lambda element, pair: (transform(element[0], name, pair), element[1]),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def _check_split(dataset: DatasetEntry, split: object) -> set[str]:
    """The split names ``split`` reads, or a ValueError naming the allowed ones."""
    names = local_source.split_names(split) if isinstance(split, str) else set()
    if not names or not names <= set(dataset.info.splits):
        raise ValueError(
            f"`split` must name splits of {dataset.info.name}: {list(dataset.info.splits)}, "
            f"optionally sliced like 'train[:90%]' or joined with '+'; got {split!r}."
        )
    return names


def _examples(
    dataset: DatasetEntry,
    split: str,
    data_dir: str | os.PathLike | None,
    shuffle_seed: int | None,
    download: bool,
) -> PassSource:
    """Unbatched uint8 examples from the first source that has them (see ``load``), shuffled
    per pass (from the seed and the pass's key) unless ``shuffle_seed`` is None."""
    looked_idx: list[str] = []
    looked_tfds: list[str] = []
    if dataset.idx_folders:
        directories = local_source.candidate_dirs(dataset, data_dir)
        names = local_source.split_names(split)
        files = local_source.find_split_files(directories, names, looked_idx)
        if files is not None:
            return local_source.idx_examples(dataset, split, files, shuffle_seed)
    builder = tfds_source.find_prepared(dataset, data_dir, looked_tfds)
    if builder is None:
        target = tfds_source.download_target(data_dir)
        problem = (
            tfds_source.download_problem(dataset, target)
            if download
            else "downloading is switched off (download=False)"
        )
        if problem is not None:
            raise errors.data_not_found(dataset, split, looked_idx, looked_tfds, problem, target)
        builder = tfds_source.download_and_prepare(dataset, target)
    return tfds_source.tfds_examples(dataset, builder, split, shuffle_seed, SHUFFLE_BUFFER)
