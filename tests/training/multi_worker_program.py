"""The program each worker of tests/training/test_training_multi_worker.py runs (also alone,
as reference).

    python multi_worker_program.py RECIPE OUT [--epochs N] [--kill-worker I --kill-at-epoch E]

Runs under MultiWorkerMirroredStrategy when TF_CONFIG is set, else in one process. The chief
(or the single process) prints ``RESULTS{json}``; every worker prints ``BEGIN_EPOCH e`` lines.
"""

import argparse
import json
import os
import signal
import sys
from pathlib import Path

import bitnets_tf  # noqa: F401  (binds tf.keras to tf-keras)
from bitnets_tf.training import multi_worker

STRATEGY = multi_worker.multi_worker_strategy() if os.environ.get("TF_CONFIG") else None

import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for support
from support.training import (  # noqa: E402
    IMAGE_SHAPE,
    binary_net,
    compile_classifier,
    float_net,
    toy_dataset,
)

from bitnets_tf import layers, training  # noqa: E402
from bitnets_tf.training._distribute import strategy_scope  # noqa: E402

GLOBAL_BATCH = 64


def worker_index() -> int:
    return json.loads(os.environ["TF_CONFIG"])["task"]["index"] if STRATEGY else 0


class EpochReporter(tf.keras.callbacks.Callback):
    """Prints each epoch it begins; SIGKILLs this worker in epoch ``kill_at`` if told to."""

    def __init__(self, kill_at: int | None):
        super().__init__()
        self.kill_at = kill_at
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        print(f"BEGIN_EPOCH {epoch}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.kill_at and batch == 1:
            os.kill(os.getpid(), signal.SIGKILL)


def synchronized_binary_net() -> tf.keras.Model:
    """A binary classifier whose BatchNormalization uses global-batch statistics."""
    binary = {"input_quantizer": "ste_sign", "kernel_quantizer": "ste_sign", "use_bias": False}
    return tf.keras.Sequential(
        [
            tf.keras.Input(IMAGE_SHAPE),
            tf.keras.layers.Conv2D(8, 3, use_bias=False),
            tf.keras.layers.BatchNormalization(synchronized=True),
            layers.QuantConv2D(16, 3, kernel_constraint="weight_clip", **binary),
            tf.keras.layers.BatchNormalization(synchronized=True),
            tf.keras.layers.GlobalAveragePooling2D(),
            layers.QuantDense(2, **binary),
        ]
    )


def run_fit(data, args) -> dict:
    with strategy_scope(STRATEGY):
        model = compile_classifier(synchronized_binary_net())
    callbacks = [
        tf.keras.callbacks.BackupAndRestore(str(args.out / "backup")),
        training.BestModelCheckpoint(args.out / "best.keras", monitor="loss"),
        EpochReporter(args.kill_at_epoch if worker_index() == args.kill_worker else None),
    ]
    history = model.fit(data, epochs=args.epochs, callbacks=callbacks, verbose=0).history
    return {"loss": history["loss"]}


def run_bop_and_distillation(data, args) -> dict:
    with strategy_scope(STRATEGY):
        bop = training.bnn_optimizer("bop", 1e-2, bop_threshold=1e-6, bop_gamma=1e-2)
        model = compile_classifier(binary_net(), bop)
    history = model.fit(data, epochs=args.epochs, callbacks=[training.FlipRatio()], verbose=0)
    with strategy_scope(STRATEGY):
        teacher = compile_classifier(float_net())
        distiller = training.reactnet_distiller(binary_net(name="student"), teacher)
        distiller.compile(training.bnn_optimizer("adam", 1e-2))
    distilled = distiller.fit(data, epochs=args.epochs, verbose=0).history
    return {
        "bop": history.history["loss"],
        "bop_flip_ratio": history.history["flip_ratio"],
        "distiller": distilled["loss"],
    }


def run_two_step_and_layerwise(data, args) -> dict:
    two_step = training.TwoStepTrainer(
        lambda kernel_quantizer: binary_net(kernel_quantizer=kernel_quantizer),
        strategy=STRATEGY,
    ).fit(data, epochs=args.epochs, verbose=0)
    blocks = [tf.keras.layers.Conv2D(8, 3, padding="same") for _ in range(2)]

    def head(index, shape):
        return tf.keras.Sequential(
            [tf.keras.layers.GlobalAveragePooling2D(), tf.keras.layers.Dense(2)]
        )

    layerwise = training.LayerwiseTrainer(blocks, head, strategy=STRATEGY).fit(
        data, epochs_per_block=args.epochs
    )
    return {
        "two_step": [h["loss"] for h in two_step.histories],
        "layerwise": [h["loss"] for h in layerwise.histories],
        "layerwise_variable": type(blocks[1].kernel).__name__,
    }


RECIPES = {
    "fit": run_fit,
    "bop_and_distillation": run_bop_and_distillation,
    "two_step_and_layerwise": run_two_step_and_layerwise,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("recipe", choices=sorted(RECIPES))
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--kill-worker", type=int, default=None)
    parser.add_argument("--kill-at-epoch", type=int, default=None)
    args = parser.parse_args()
    tf.keras.utils.set_random_seed(0)
    data = toy_dataset(256, batch_size=GLOBAL_BATCH)
    results = RECIPES[args.recipe](data, args)
    results["replicas"] = STRATEGY.num_replicas_in_sync if STRATEGY else 1
    if multi_worker.is_chief():
        print("RESULTS" + json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
