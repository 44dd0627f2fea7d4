"""Saving the best model as ``.keras`` atomically, and resuming interrupted training exactly.

Exact resumption uses Keras's own ``tf.keras.callbacks.BackupAndRestore(backup_dir)``: at the
end of every epoch it checkpoints the model weights, the optimizer state (slots and
``iterations``, hence the learning-rate schedule) and the epoch, and a new ``fit`` with the same
``backup_dir`` restarts after the last completed epoch. With a fixed seed and a data order that
depends only on the epoch, the resumed run ends with the same weights as an uninterrupted one
(tested). :class:`BestModelCheckpoint` adds what BackupAndRestore lacks: the best model as a
standalone ``.keras`` file that is never half-written.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import tensorflow as tf

from bitnets_tf._files import write_atomically as atomic_write_bytes
from bitnets_tf.serialization import register
from bitnets_tf.training.multi_worker import is_chief

__all__ = ["BestModelCheckpoint", "atomic_write_bytes", "completed_epochs"]


@contextlib.contextmanager
def _replacing(path: Path, temporary: Path) -> Iterator[Path]:
    """Yield ``temporary`` to write, then move it over ``path``; on any failure (a full disk,
    Ctrl-C) remove it and re-raise, so nothing is left behind."""
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


@register()
class BestModelCheckpoint(tf.keras.callbacks.Callback):
    """Saves ``model.save(filepath)`` whenever ``monitor`` improves, atomically.

    The model is written to a temporary ``.keras`` file beside ``filepath`` and moved over it
    with ``os.replace``, so ``filepath`` is always either the previous best or the new best.
    Under ``MultiWorkerMirroredStrategy`` only the chief writes ``filepath``.
    The best value is kept in ``filepath + ".json"`` so a resumed run only overwrites the file
    with a better model.

    Args:
        filepath: target ``.keras`` file.
        monitor: a key of the epoch logs, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for names containing "acc", else min).
        resume: start from the best value recorded beside ``filepath`` by an earlier run
            (resuming); False starts afresh and overwrites ``filepath`` after the first epoch.
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        mode: str = "auto",
        resume: bool = True,
    ):
        super().__init__()
        self.filepath = Path(filepath)
        if self.filepath.suffix != ".keras":
            raise ValueError(f"`filepath` must end in .keras, got {str(filepath)!r}.")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"`mode` must be one of ['auto', 'max', 'min'], got {mode!r}.")
        self.monitor = monitor
        self.mode = mode
        self.resume = resume
        self.maximize = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.best: float | None = None
        self.best_epoch: int | None = None

    @property
    def _record_path(self) -> Path:
        return self.filepath.with_name(self.filepath.name + ".json")

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch = None, None
        if self.resume and self.filepath.exists() and self._record_path.exists():
            record = json.loads(self._record_path.read_text())
            if record.get("monitor") == self.monitor:
                self.best, self.best_epoch = record["best"], record["epoch"]

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        return value > self.best if self.maximize else value < self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"BestModelCheckpoint monitors {self.monitor!r}, which is not in the epoch logs "
                f"{sorted(logs)}; pass validation_data or monitor one of those."
            )
        value = float(logs[self.monitor])
        if not self._improved(value):
            return
        if not is_chief():
            # Under MultiWorkerMirroredStrategy reading the weights is a collective every
            # worker joins; only the chief keeps the file.
            with tempfile.TemporaryDirectory() as scratch:
                self.model.save(Path(scratch) / self.filepath.name)
            self.best, self.best_epoch = value, epoch + 1
            return
        temporary = self.filepath.with_name(f".{self.filepath.stem}.{os.getpid()}.tmp.keras")
        with _replacing(self.filepath, temporary):
            self.model.save(temporary)
        self.best, self.best_epoch = value, epoch + 1
        record = {"monitor": self.monitor, "best": value, "epoch": epoch + 1}
        atomic_write_bytes(self._record_path, json.dumps(record).encode())

    def get_config(self) -> dict:
        return {
            "filepath": str(self.filepath),
            "monitor": self.monitor,
            "mode": self.mode,
            "resume": self.resume,
        }


def completed_epochs(backup_dir: str | os.PathLike) -> int:
    """How many epochs the training state that ``BackupAndRestore(backup_dir)`` saved has
    completed (0 without a saved state): the epoch a resumed ``fit`` starts with, and so the
    ``epoch=`` to give :func:`bitnets_tf.data.load` for the same data order."""
    latest = tf.train.latest_checkpoint(os.path.join(os.fspath(backup_dir), "chief"))
    if latest is None:
        return 0
    reader = tf.train.load_checkpoint(latest)
    key = "ckpt_saved_epoch/.ATTRIBUTES/VARIABLE_VALUE"
    return int(reader.get_tensor(key)) + 1 if reader.has_tensor(key) else 0
