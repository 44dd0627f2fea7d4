"""Two worker processes on 127.0.0.1 under MultiWorkerMirroredStrategy (tests/
multi_worker_program.py): the recipes train, the losses equal a single process's on the same
global batch, a killed worker ends the run with an error naming it, and a restart resumes."""

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_training_cli import mnist_dir  # noqa: F401  (fixture)

from bitnets_tf import cli
from bitnets_tf.training import multi_worker

PROGRAM = Path(__file__).parent / "multi_worker_program.py"
ENV = {
    **os.environ,
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "CUDA_VISIBLE_DEVICES": "",
    "OMP_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "2",
}
TIMEOUT = 120  # seconds per run of the workers; generous for two heavily shared cores


def _results(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("RESULTS")]
    assert lines, stdout[-2000:]
    return json.loads(lines[0].removeprefix("RESULTS"))


def _epochs_begun(stdout: str) -> list[int]:
    return [int(line.split()[1]) for line in stdout.splitlines() if line.startswith("BEGIN_EPOCH")]


def _workers(*arguments: str) -> list[multi_worker.WorkerResult]:
    command = [sys.executable, str(PROGRAM), *arguments]
    return multi_worker.run_local_workers(command, workers=2, timeout=TIMEOUT, env=ENV)


@pytest.fixture(scope="module")
def single_process_losses(tmp_path_factory) -> list[float]:
    """The reference: the same program in one process (no TF_CONFIG), 4 epochs."""
    out = tmp_path_factory.mktemp("single")
    completed = subprocess.run(
        [sys.executable, str(PROGRAM), "fit", str(out), "--epochs", "4"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=ENV,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return _results(completed.stdout)["loss"]


def test_two_workers_match_a_single_process_and_only_the_chief_writes(
    tmp_path, single_process_losses
):
    chief, worker = _workers("fit", str(tmp_path), "--epochs", "4")
    results = _results(chief.stdout)
    assert results["replicas"] == 2
    assert results["loss"] == pytest.approx(single_process_losses, rel=1e-4, abs=1e-5)
    assert "RESULTS" not in worker.stdout
    assert (tmp_path / "best.keras").is_file()
    written = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*"))
    assert written == ["backup", "best.keras", "best.keras.json"]  # backup/ emptied at the end


def test_killed_worker_fails_fast_and_a_restart_resumes(tmp_path, single_process_losses):
    started = time.monotonic()
    with pytest.raises(multi_worker.WorkerFailedError) as failure:
        _workers(
            "fit", str(tmp_path), "--epochs", "4", "--kill-worker", "1", "--kill-at-epoch", "2"
        )
    assert time.monotonic() - started < TIMEOUT
    message = str(failure.value)
    assert "worker 1 (127.0.0.1:" in message and "was killed by SIGKILL" in message
    assert "resume" in message
    assert (tmp_path / "backup").is_dir()

    chief, _ = _workers("fit", str(tmp_path), "--epochs", "4")
    assert _epochs_begun(chief.stdout) == [2, 3]  # epochs 0 and 1 were completed and backed up
    resumed = _results(chief.stdout)["loss"]
    assert resumed == pytest.approx(single_process_losses[2:], rel=1e-4, abs=1e-5)


def test_bop_and_distillation_train_on_two_workers(tmp_path):
    chief, _ = _workers("bop_and_distillation", str(tmp_path))
    results = _results(chief.stdout)
    assert results["replicas"] == 2
    assert results["bop"][-1] < results["bop"][0]
    assert all(ratio > 0 for ratio in results["bop_flip_ratio"])
    assert results["distiller"][-1] < results["distiller"][0]


def test_two_step_and_layerwise_train_on_two_workers(tmp_path):
    chief, _ = _workers("two_step_and_layerwise", str(tmp_path))
    results = _results(chief.stdout)
    assert results["replicas"] == 2
    for losses in results["two_step"] + results["layerwise"]:
        assert losses[-1] < losses[0]
    assert results["layerwise_variable"] == "MirroredVariable"


def test_run_local_workers_reports_a_failing_worker_and_the_timeout():
    failing = [
        sys.executable,
        "-c",
        "import os, sys; sys.exit(3 if os.environ['TF_CONFIG'].endswith('1}}') else 0)",
    ]
    with pytest.raises(multi_worker.WorkerFailedError, match=r"worker 1 .* exited with code 3"):
        multi_worker.run_local_workers(failing, workers=2, timeout=20)
    started = time.monotonic()
    sleeping = [sys.executable, "-c", "import time; time.sleep(60)"]
    with pytest.raises(multi_worker.WorkerFailedError, match=r"still running after 1 s"):
        multi_worker.run_local_workers(sleeping, workers=2, timeout=1)
    assert time.monotonic() - started < 15


def test_tf_config_and_chief():
    cluster = multi_worker.local_cluster(2)
    assert len(set(cluster["worker"])) == 2
    assert all(address.startswith("127.0.0.1:") for address in cluster["worker"])
    config = json.loads(multi_worker.tf_config(cluster, 1))
    assert config == {"cluster": cluster, "task": {"type": "worker", "index": 1}}
    with pytest.raises(ValueError, match="outside the 2 workers"):
        multi_worker.tf_config(cluster, 2)


def test_train_command_with_two_workers(mnist_dir, tmp_path):  # noqa: F811 (fixture)
    out = tmp_path / "run"
    code = cli.main(
        [
            "train", "--model", "binarynet_mlp", "--model-arg", "hidden_units=16",
            "--dataset", "mnist", "--data-dir", str(mnist_dir), "--out", str(out),
            "--batch-size", "32", "--epochs", "2", "--verbose", "0", "--workers", "2",
        ]
    )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert (out / "best.keras").is_file() and (out / "curves.png").is_file()
    assert not (out / "backup").exists()
