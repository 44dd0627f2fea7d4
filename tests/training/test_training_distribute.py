"""The recipes under tf.distribute.MirroredStrategy over two logical CPUs (in a subprocess:
logical devices must be configured before TensorFlow initialises its devices)."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, sys
import bitnets_tf
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
from support.training import binary_net, compile_classifier, float_net, toy_dataset
from bitnets_tf import training

tf.keras.utils.set_random_seed(0)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
data = toy_dataset(256, batch_size=64)
results = {"replicas": strategy.num_replicas_in_sync}

with strategy.scope():
    bop = training.bnn_optimizer("bop", 1e-2, bop_threshold=1e-6, bop_gamma=1e-2)
    model = compile_classifier(binary_net(), bop)
history = model.fit(data, epochs=3, callbacks=[training.FlipRatio()], verbose=0).history
results["bop"] = history["loss"]
results["bop_flip_ratio"] = history["flip_ratio"]

with strategy.scope():
    teacher = compile_classifier(float_net())
    distiller = training.reactnet_distiller(binary_net(name="student"), teacher)
    distiller.compile(training.bnn_optimizer("adam", 1e-2))
results["distiller"] = distiller.fit(data, epochs=3, verbose=0).history["loss"]

two_step = training.TwoStepTrainer(
    lambda kernel_quantizer: binary_net(kernel_quantizer=kernel_quantizer), strategy=strategy
).fit(data, epochs=(2, 2), verbose=0)
results["two_step"] = [h["loss"] for h in two_step.histories]

blocks = [tf.keras.layers.Conv2D(8, 3, padding="same") for _ in range(2)]
head = lambda index, shape: tf.keras.Sequential(
    [tf.keras.layers.GlobalAveragePooling2D(), tf.keras.layers.Dense(2)]
)
layerwise = training.LayerwiseTrainer(blocks, head, strategy=strategy).fit(data, epochs_per_block=2)
results["layerwise"] = [h["loss"] for h in layerwise.histories]
results["layerwise_variable"] = type(blocks[1].kernel).__name__
print("RESULTS" + json.dumps(results))
"""


def test_recipes_run_under_mirrored_strategy_on_two_cpus():
    tests = Path(__file__).resolve().parents[1]  # on sys.path in the child, for support
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tests)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULTS")]
    assert completed.returncode == 0 and lines, completed.stderr[-3000:]
    results = json.loads(lines[0].removeprefix("RESULTS"))
    assert results["replicas"] == 2
    assert results["bop"][-1] < results["bop"][0]
    assert all(ratio > 0 for ratio in results["bop_flip_ratio"])
    assert results["distiller"][-1] < results["distiller"][0]
    for losses in results["two_step"] + results["layerwise"]:
        assert losses[-1] < losses[0]
    assert results["layerwise_variable"] == "MirroredVariable"
