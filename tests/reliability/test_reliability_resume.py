"""A training run killed (SIGKILL) after an epoch and resumed with the same ``backup`` folder
ends with weights bit-identical to an uninterrupted run, with shuffled and augmented data:
``data.load`` orders and augments each epoch from the seed and the epoch only."""

import gzip
import signal
import subprocess
import sys
import textwrap

import numpy as np

WORKER = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import bitnets_tf
    import bitnets_tf.layers
    import tensorflow as tf
    from bitnets_tf import data, training

    data_dir, out, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tf.keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    backup = os.path.join(out, "backup")
    first_epoch = training.completed_epochs(backup) if os.path.isdir(backup) else 0
    train = data.load(
        "mnist", "train", 16, data_dir=data_dir, seed=5, epoch=first_epoch, epochs=4
    )
    # No Dropout: its masks come from a stateful generator that a new process restarts.
    model = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        tf.keras.layers.Flatten(),
        bitnets_tf.layers.QuantDense(16, kernel_quantizer="ste_sign", use_bias=False),
        tf.keras.layers.BatchNormalization(),
        bitnets_tf.layers.QuantDense(
            10, input_quantizer="ste_sign", kernel_quantizer="ste_sign", use_bias=False
        ),
    ])
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    class Kill(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    callbacks = [tf.keras.callbacks.BackupAndRestore(backup), Kill()]
    steps = data.steps_per_epoch(train, 4 - first_epoch)
    model.fit(train, epochs=4, steps_per_epoch=steps, callbacks=callbacks, verbose=0)
    np.savez(os.path.join(out, "weights.npz"), *model.get_weights())
    """
)


def _write_idx(path, array, ndim):
    header = np.array([0x0800 | ndim, *array.shape], ">u4").tobytes()
    with gzip.open(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


def _mnist_like(directory):
    rng = np.random.default_rng(0)
    directory.mkdir()
    for prefix, count in (("train", 64), ("t10k", 16)):
        _write_idx(
            directory / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (count, 28, 28)), 3
        )
        _write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, count), 1)


def _run(data_dir, out, kill_after):
    out.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", WORKER, str(data_dir), str(out), str(kill_after)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _weights(out):
    with np.load(out / "weights.npz") as saved:
        return [saved[key] for key in sorted(saved, key=lambda k: int(k.split("_")[1]))]


def test_killed_and_resumed_run_matches_an_uninterrupted_one(tmp_path):
    _mnist_like(tmp_path / "idx")
    whole = _run(tmp_path / "idx", tmp_path / "whole", kill_after=0)
    assert whole.returncode == 0, whole.stderr[-2000:]

    killed = _run(tmp_path / "idx", tmp_path / "resumed", kill_after=2)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (tmp_path / "resumed" / "weights.npz").exists()
    resumed = _run(tmp_path / "idx", tmp_path / "resumed", kill_after=0)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    expected, actual = _weights(tmp_path / "whole"), _weights(tmp_path / "resumed")
    assert len(expected) == len(actual)
    for want, got in zip(expected, actual, strict=True):
        np.testing.assert_array_equal(got, want)


def test_epoch_order_depends_only_on_seed_and_epoch(tmp_path):
    import tensorflow as tf

    from bitnets_tf import data

    _mnist_like(tmp_path / "idx")

    def one_pass(dataset):
        batches = list(dataset)
        return np.concatenate([x.numpy() for x, _ in batches]), np.concatenate(
            [y.numpy() for _, y in batches]
        )

    whole = data.load("mnist", "train", 8, data_dir=tmp_path / "idx", seed=1, epochs=3)
    assert data.steps_per_epoch(whole, 3) == 8
    images, labels = one_pass(whole)
    per_epoch = [(images[i * 64 : (i + 1) * 64], labels[i * 64 : (i + 1) * 64]) for i in range(3)]
    assert not np.array_equal(per_epoch[0][1], per_epoch[1][1])  # reshuffled every epoch
    np.testing.assert_array_equal(np.sort(per_epoch[0][1]), np.sort(per_epoch[1][1]))
    tf.random.set_seed(123)  # the global seed must not matter when seed= is given
    resumed = data.load("mnist", "train", 8, data_dir=tmp_path / "idx", seed=1, epoch=2, epochs=3)
    images, labels = one_pass(resumed)
    np.testing.assert_array_equal(labels, per_epoch[2][1])
    np.testing.assert_array_equal(images, per_epoch[2][0])  # the same augmentation too
