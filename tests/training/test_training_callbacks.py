"""Callbacks: flip ratio, NaN/Inf stop, exact resume with BackupAndRestore, atomic best model."""

import numpy as np
import pytest
import tensorflow as tf
from support.training import (
    binary_net,
    compile_classifier,
    float_net,
    toy_dataset,
    toy_images,
)

from bitnets_tf.training import (
    BestModelCheckpoint,
    FlipRatio,
    StopOnNonFinite,
    binary_weights,
    bnn_optimizer,
    exponential_decay,
    history_figure,
    plot_training_curves,
)


def test_flip_ratio_counts_sign_changes_per_epoch():
    model = compile_classifier(binary_net(), bnn_optimizer("sgd", 0.5))
    signs = [v.numpy() >= 0 for v in binary_weights(model)]
    history = model.fit(toy_dataset(), epochs=1, callbacks=[FlipRatio()], verbose=0).history
    flipped = sum(
        np.count_nonzero((v.numpy() >= 0) != s)
        for v, s in zip(binary_weights(model), signs, strict=True)
    )
    total = sum(s.size for s in signs)
    assert history["flip_ratio"] == [pytest.approx(flipped / total)]
    assert 0 < history["flip_ratio"][0] < 1

    frozen = compile_classifier(binary_net(), tf.keras.optimizers.SGD(0.0))
    history = frozen.fit(toy_dataset(), epochs=2, callbacks=[FlipRatio()], verbose=0).history
    assert history["flip_ratio"] == [0.0, 0.0]


def test_flip_ratio_needs_binary_weights():
    model = compile_classifier(float_net())
    with pytest.raises(ValueError, match="no binary weights"):
        model.fit(toy_dataset(64), epochs=1, callbacks=[FlipRatio()], verbose=0)


def test_stop_on_non_finite_names_epoch_batch_and_hints(capsys):
    x, y = toy_images(128)
    x[70] = np.nan  # in batch 3 (1-based) of 32 examples
    model = compile_classifier(
        tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(2)])
    )
    stop = StopOnNonFinite()
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    history = model.fit(data, epochs=3, callbacks=[stop], verbose=0).history
    assert stop.stopped_at == (1, 3)
    assert len(history["loss"]) == 1
    assert "loss = nan at epoch 1, batch 3" in stop.message
    assert "lower the learning rate" in stop.message and "check the inputs" in stop.message
    assert stop.message in capsys.readouterr().err
    healthy = StopOnNonFinite()
    compile_classifier(float_net()).fit(toy_dataset(64), epochs=1, callbacks=[healthy], verbose=0)
    assert healthy.stopped_at is None and healthy.message is None


class _Interrupt(tf.keras.callbacks.Callback):
    """Raises KeyboardInterrupt in the middle of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch: int, batch: int):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def _seeded_model(optimizer_kind: str, seed: int = 1) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(seed)
    learning_rate = exponential_decay(1e-2, 1e-3, total_steps=32)
    return compile_classifier(binary_net(), bnn_optimizer(optimizer_kind, learning_rate))


@pytest.mark.parametrize("optimizer_kind", ["adam", "bop"])
def test_resume_after_interruption_matches_uninterrupted_run(tmp_path, optimizer_kind):
    data = toy_dataset(128)
    uninterrupted = _seeded_model(optimizer_kind)
    uninterrupted.fit(data, epochs=4, verbose=0)

    backup = tf.keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    with pytest.raises(KeyboardInterrupt):
        _seeded_model(optimizer_kind).fit(
            data, epochs=4, callbacks=[backup, _Interrupt(epoch=2, batch=1)], verbose=0
        )
    resumed = _seeded_model(optimizer_kind, seed=7)  # restoring must override the fresh init
    history = resumed.fit(data, epochs=4, callbacks=[backup], verbose=0)
    assert history.epoch == [2, 3]
    for expected, actual in zip(uninterrupted.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(expected, actual)


def test_best_model_checkpoint_is_atomic_and_keeps_the_best(tmp_path):
    model = compile_classifier(binary_net())
    target = tmp_path / "best.keras"
    checkpoint = BestModelCheckpoint(target, monitor="val_loss")
    losses = iter([0.5, 0.7, 0.4])

    class FakeValidation(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = next(losses)

    model.fit(toy_dataset(64), epochs=3, callbacks=[FakeValidation(), checkpoint], verbose=0)
    assert (checkpoint.best, checkpoint.best_epoch) == (0.4, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras", "best.keras.json"]
    loaded = tf.keras.models.load_model(target)
    x = toy_images(8)[0]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)

    resumed = BestModelCheckpoint(target, monitor="val_loss")
    resumed.set_model(model)
    resumed.on_train_begin()
    assert resumed.best == 0.4
    fresh = BestModelCheckpoint(target, monitor="val_loss", resume=False)
    fresh.on_train_begin()
    assert fresh.best is None


def test_best_model_checkpoint_checks_arguments_and_logs(tmp_path):
    with pytest.raises(ValueError, match=r"\.keras"):
        BestModelCheckpoint(tmp_path / "best.h5")
    with pytest.raises(ValueError, match="mode"):
        BestModelCheckpoint(tmp_path / "best.keras", mode="lowest")
    model = compile_classifier(float_net())
    checkpoint = BestModelCheckpoint(tmp_path / "best.keras", monitor="val_accuracy")
    assert checkpoint.maximize
    with pytest.raises(ValueError, match=r"val_accuracy.*pass validation_data"):
        model.fit(toy_dataset(64), epochs=1, callbacks=[checkpoint], verbose=0)


def test_plot_training_curves_from_csv_log(tmp_path):
    model = compile_classifier(binary_net())
    log = tmp_path / "history.csv"
    callbacks = [FlipRatio(), tf.keras.callbacks.CSVLogger(str(log))]
    data = toy_dataset(64)
    model.fit(data, validation_data=data, epochs=2, callbacks=callbacks, verbose=0)
    png = plot_training_curves(log, tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "flip_ratio" in log.read_text().splitlines()[0]


def test_history_figure_names_the_validation_curves():
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8]}
    figure = history_figure(history, validation_label="test")
    legends = {
        axis.get_title(): [text.get_text() for text in axis.get_legend().get_texts()]
        for axis in figure.axes
    }
    assert legends == {"accuracy": ["train"], "loss": ["train", "test"]}
    assert list(figure.axes[1].lines[1].get_xdata()) == [1, 2]
