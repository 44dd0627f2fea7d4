"""``bitnets-tf train``: train a zoo model on a dataset with ``model.fit``.

Writes into ``--out``: ``history.csv`` (one row per epoch), ``curves.png`` (loss, accuracy and
flip ratio per epoch), ``best.keras`` (the best model by ``--monitor``, replaced atomically) and
``backup/`` (training state while running; a rerun with the same ``--out`` resumes after the
last completed epoch, and the folder is removed when training completes).

Multi-worker training (``tf.distribute.MultiWorkerMirroredStrategy``): ``--workers N`` starts N
worker processes on this machine (127.0.0.1, free ports); on several machines, run the same
command on each with its own ``TF_CONFIG``. ``--batch-size`` is then the global batch, split
across the workers, and only the first worker (the chief) writes into ``--out``. If a worker
dies the others are stopped; rerunning the same command resumes from the last completed epoch.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

from bitnets_tf.commands._errors import CommandFailedError
from bitnets_tf.training.classifier import SCHEDULES
from bitnets_tf.training.optimizers import OPTIMIZER_KINDS

VALIDATION = ("none", "test")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train a zoo model on a dataset (CSV log, curves PNG, best .keras)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="zoo model (an unknown name lists them)")
    parser.add_argument(
        "--model-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra builder argument for create_model, e.g. hidden_units=512 (repeatable)",
    )
    parser.add_argument("--dataset", required=True, help="dataset (an unknown name lists them)")
    parser.add_argument("--epochs", type=int, required=True, help="number of epochs, >= 1")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--optimizer",
        default="adam",
        help=f"one of {', '.join(OPTIMIZER_KINDS)} (bop: Bop on binary weights, Adam on the rest)",
    )
    parser.add_argument(
        "--schedule",
        default="constant",
        help="learning-rate schedule: constant, exponential (to lr/100) or linear (to 0)",
    )
    parser.add_argument(
        "--validation",
        default="test",
        help="validation data: test (the dataset's evaluation split) or none",
    )
    parser.add_argument(
        "--monitor",
        default=None,
        help="the log entry that picks the best model (default val_accuracy, or accuracy)",
    )
    parser.add_argument("--data-dir", default=None, help="where the datasets are (else defaults)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N examples")
    parser.add_argument(
        "--no-augment",
        action="store_true",
        help="train without the dataset's augmentation (`bitnets-tf data info NAME` names it)",
    )
    parser.add_argument("--max-steps", type=int, default=None, help="at most N batches per epoch")
    parser.add_argument("--seed", type=int, default=0, help="random seed (weights, shuffling)")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="fit verbosity")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="train with N worker processes on this machine (MultiWorkerMirroredStrategy)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.workers > 1 and not os.environ.get("TF_CONFIG"):
        return _launch_workers(args)
    return _train(args)


def _check_choice(option: str, value: str, allowed: list[str]) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {option} {value!r}; allowed: {', '.join(allowed)}.")
    return value


def _check_at_least(option: str, value: int | None, minimum: int) -> None:
    if value is not None and value < minimum:
        raise ValueError(f"{option} must be >= {minimum}, got {value}.")


def _model_arguments(pairs: list[str]) -> dict:
    """``["hidden_units=512", "variant=bwn"]`` -> ``{"hidden_units": 512, "variant": "bwn"}``."""
    arguments = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator or not key.isidentifier():
            raise ValueError(f"--model-arg must look like KEY=VALUE, got {pair!r}.")
        try:
            arguments[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            arguments[key] = text
    return arguments


def _writable_directory(path: Path) -> Path:
    """Create ``path`` if needed and prove it is writable, or raise a ValueError saying why."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".bitnets-tf-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise ValueError(
            f"cannot write to --out {str(path)!r} ({error.strerror or error}); "
            "choose a directory you can write to."
        ) from error
    return path


def _check_arguments(args: argparse.Namespace) -> dict:
    """Check every option before any data is read; return the model builder's arguments."""
    from bitnets_tf import data, zoo

    _check_choice("--model", args.model, sorted(zoo.list_models()))
    _check_choice("--dataset", args.dataset, data.available_datasets())
    _check_choice("--optimizer", args.optimizer, list(OPTIMIZER_KINDS))
    _check_choice("--schedule", args.schedule, list(SCHEDULES))
    _check_choice("--validation", args.validation, list(VALIDATION))
    _check_at_least("--epochs", args.epochs, 1)
    _check_at_least("--batch-size", args.batch_size, 1)
    _check_at_least("--limit", args.limit, 1)
    _check_at_least("--max-steps", args.max_steps, 1)
    _check_at_least("--workers", args.workers, 1)
    if not args.learning_rate > 0:
        raise ValueError(f"--learning-rate must be > 0, got {args.learning_rate}.")
    model_arguments = _model_arguments(args.model_arg)
    _writable_directory(args.out)
    return model_arguments


def _launch_workers(args: argparse.Namespace) -> int:
    """Check the options, then run this same command as ``--workers`` local processes."""
    from bitnets_tf.training.multi_worker import run_local_workers

    _check_arguments(args)
    print(f"Starting {args.workers} workers on 127.0.0.1", file=sys.stderr)
    command = [sys.executable, "-m", "bitnets_tf.cli", *args.command_line]
    run_local_workers(command, args.workers, timeout=None, echo=True)
    return 0


def _distribution(args: argparse.Namespace):
    """The strategy when this process is one worker of a TF_CONFIG cluster, else None."""
    from bitnets_tf.training import multi_worker

    if not os.environ.get("TF_CONFIG"):
        return None
    strategy = multi_worker.multi_worker_strategy()
    workers = multi_worker.cluster_size()
    if args.workers > 1 and workers != args.workers:
        raise ValueError(
            f"--workers {args.workers} but TF_CONFIG describes {workers} workers; "
            "drop --workers when TF_CONFIG is set."
        )
    return strategy


def _split(name: str, limit: int | None) -> str:
    return name if limit is None else f"{name}[:{limit}]"


def _datasets(args: argparse.Namespace, info, first_epoch: int):
    """The training passes of epochs ``first_epoch`` to ``--epochs`` (each epoch's data
    depends only on the seed and the epoch, so a resumed run sees what an uninterrupted one
    would), and the validation data."""
    import tensorflow as tf

    from bitnets_tf import data

    def load(split: str, training: bool, **passes):
        dataset = data.load(
            args.dataset,
            _split(split, args.limit),
            args.batch_size,
            augment=training and not args.no_augment,
            data_dir=args.data_dir,
            shuffle=training,
            seed=args.seed,
            batches_per_epoch=args.max_steps,
            **passes,
        )
        # Under MultiWorkerMirroredStrategy each worker takes its part of every global batch.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return dataset.with_options(options)

    train = load(info.train_split, True, epoch=first_epoch, epochs=args.epochs)
    validation = None if args.validation == "none" else load(info.eval_split, training=False)
    return train, validation


def _create_model(args: argparse.Namespace, info, model_arguments: dict):
    """The zoo model; an argument its builder does not take is a ValueError naming it."""
    from bitnets_tf import zoo

    try:
        return zoo.create_model(
            args.model,
            input_shape=info.input_shape,
            num_classes=info.num_classes,
            **model_arguments,
        )
    except TypeError as error:
        raise ValueError(
            f"--model-arg: {args.model} does not take {sorted(model_arguments)} ({error})."
        ) from None


def _train(args: argparse.Namespace) -> int:
    import tensorflow as tf

    from bitnets_tf import data, training
    from bitnets_tf.training._distribute import strategy_scope
    from bitnets_tf.training.multi_worker import is_chief

    model_arguments = _check_arguments(args)
    strategy = _distribution(args)
    chief = is_chief()
    info = data.info(args.dataset)
    tf.keras.utils.set_random_seed(args.seed)
    backup = args.out / "backup"
    first_epoch = training.completed_epochs(backup) if backup.is_dir() else 0
    if first_epoch >= args.epochs:
        raise ValueError(
            f"--out {str(args.out)!r} holds a training state after epoch {first_epoch}; give "
            f"--epochs above {first_epoch} to continue, or another --out to start afresh."
        )
    train, validation = _datasets(args, info, first_epoch)
    steps = data.steps_per_epoch(train, args.epochs - first_epoch)
    with strategy_scope(strategy):
        model = _create_model(args, info, model_arguments)
    monitor = args.monitor or ("accuracy" if validation is None else "val_accuracy")
    out = args.out
    resuming = backup.is_dir() and any(backup.iterdir())
    if resuming and chief:
        print(f"Resuming after epoch {first_epoch} from {backup}", file=sys.stderr)
    stop = training.StopOnNonFinite()
    best = training.BestModelCheckpoint(out / "best.keras", monitor=monitor, resume=resuming)
    flip_ratio = [training.FlipRatio()] if training.binary_weights(model) else []
    csv_log = [tf.keras.callbacks.CSVLogger(str(out / "history.csv"), append=resuming)]
    callbacks = [
        stop,
        *flip_ratio,
        *(csv_log if chief else []),
        best,
        tf.keras.callbacks.BackupAndRestore(str(backup)),
    ]
    training.fit_classifier(
        model,
        train,
        validation,
        epochs=args.epochs,
        learning_rate=training.learning_rate_schedule(
            args.schedule, args.learning_rate, steps * args.epochs
        ),
        optimizer=args.optimizer,
        steps_per_epoch=steps,
        callbacks=callbacks,
        verbose=args.verbose if chief else 0,
        strategy=strategy,
    )
    if not chief:
        return 1 if stop.message is not None else 0
    training.plot_training_curves(
        out / "history.csv", out / "curves.png", validation_label=args.validation
    )
    if backup.is_dir() and not any(backup.iterdir()):
        backup.rmdir()  # BackupAndRestore empties it when training completes
    if stop.message is not None:
        raise CommandFailedError(stop.message)
    print(
        f"best {monitor} = {best.best:.4f} at epoch {best.best_epoch}; "
        f"wrote {out / 'best.keras'}, {out / 'history.csv'}, {out / 'curves.png'}"
    )
    return 0
