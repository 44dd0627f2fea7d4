"""Training on several worker processes with ``tf.distribute.MultiWorkerMirroredStrategy``.

Every worker runs the same program; ``TF_CONFIG`` (JSON in the environment) tells each one the
cluster's addresses and its own index::

    {"cluster": {"worker": ["host0:port", "host1:port"]}, "task": {"type": "worker", "index": 0}}

Worker 0 is the chief: it alone writes files (the best model, logs). Keras's
``BackupAndRestore`` already checkpoints on every worker into worker-private folders it
removes, so a restart of all workers resumes from the chief's last completed epoch.

:func:`run_local_workers` starts the workers of one machine (127.0.0.1, free ports), waits for
them, and stops the others as soon as one fails, so a crashed worker ends the run with an error
naming it instead of leaving its peers blocked in a collective.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import tensorflow as tf

__all__ = [
    "WorkerFailedError",
    "WorkerResult",
    "cluster_size",
    "is_chief",
    "local_cluster",
    "multi_worker_strategy",
    "run_local_workers",
    "tf_config",
]

LOOPBACK = "127.0.0.1"
_STOP_GRACE_SECONDS = 5.0
_POLL_SECONDS = 0.1


class WorkerFailedError(RuntimeError):
    """A worker exited with an error, was killed, or the workers ran out of time."""


@dataclass
class WorkerResult:
    """One finished worker: its index, exit code, and captured output."""

    index: int
    returncode: int
    stdout: str
    stderr: str


def local_cluster(workers: int) -> dict[str, list[str]]:
    """``{"worker": ["127.0.0.1:p0", ...]}`` with ``workers`` free loopback ports."""
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`workers` must be an int >= 1, got {workers!r}.")
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(workers)]
    try:
        for sock in sockets:  # all bound at once, so the ports are distinct
            sock.bind((LOOPBACK, 0))
        return {"worker": [f"{LOOPBACK}:{sock.getsockname()[1]}" for sock in sockets]}
    finally:
        for sock in sockets:
            sock.close()


def tf_config(cluster: Mapping[str, Sequence[str]], index: int) -> str:
    """The ``TF_CONFIG`` JSON of worker ``index`` in ``cluster``."""
    workers = list(cluster["worker"])
    if not 0 <= index < len(workers):
        raise ValueError(f"worker index {index} is outside the {len(workers)} workers.")
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def _task_from_environment() -> tuple[str, int, int] | None:
    """``(task type, index, number of workers)`` from ``TF_CONFIG``, or None when unset."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return None
    try:
        config = json.loads(text)
        task, cluster = config["task"], config["cluster"]
        workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
        return str(task["type"]), int(task["index"]), workers
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"TF_CONFIG is not a valid cluster description ({error!r}); it must look like "
            '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", '
            '"index": 0}}.'
        ) from error


def cluster_size() -> int:
    """The number of workers (chief included) in ``TF_CONFIG``; 1 when it is unset."""
    task = _task_from_environment()
    return 1 if task is None else task[2]


def is_chief() -> bool:
    """True in a single process and on the worker that writes files in a cluster.

    The chief is the ``"chief"`` task if the cluster has one, else worker 0 (TensorFlow's rule).
    """
    task = _task_from_environment()
    if task is None:
        return True
    task_type, index, _ = task
    cluster = json.loads(os.environ["TF_CONFIG"])["cluster"]
    if "chief" in cluster:
        return task_type == "chief"
    return task_type == "worker" and index == 0


def multi_worker_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """``MultiWorkerMirroredStrategy`` for the cluster in ``TF_CONFIG``.

    Create it at the start of the program, before any other TensorFlow operation.

    Raises:
        ValueError: ``TF_CONFIG`` is unset or malformed.
    """
    if _task_from_environment() is None:
        raise ValueError(
            "multi-worker training needs TF_CONFIG in every worker's environment (the cluster's "
            "addresses and the worker's index); see tf_config() or start the workers with "
            "run_local_workers()."
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


def _stop(processes: Sequence[subprocess.Popen]) -> None:
    """SIGTERM every running process, then SIGKILL whatever is left after a grace period."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + _STOP_GRACE_SECONDS
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_local_workers(
    command: Sequence[str],
    workers: int,
    timeout: float | None,
    env: Mapping[str, str] | None = None,
    echo: bool = False,
) -> list[WorkerResult]:
    """Run ``command`` as ``workers`` processes on 127.0.0.1, each with its own ``TF_CONFIG``.

    Args:
        command: the program every worker runs (e.g. ``[sys.executable, "train.py"]``).
        workers: how many processes.
        timeout: seconds until every worker is stopped and the run fails (None: no limit).
        env: the workers' environment (default: this process's); ``TF_CONFIG`` is added.
        echo: let the workers print to this process's stdout/stderr instead of capturing.

    Returns:
        One :class:`WorkerResult` per worker, in index order, when all exit with code 0.

    Raises:
        WorkerFailedError: a worker exited with an error or was killed (the others are stopped
            at once), or ``timeout`` passed; the message names the worker and ends with its
            last output lines.
    """
    cluster = local_cluster(workers)
    base_environment = dict(os.environ if env is None else env)
    with tempfile.TemporaryDirectory(prefix="bitnets-tf-workers-") as logs:
        processes, outputs = [], []
        try:
            for index in range(workers):
                if echo:
                    streams = (None, None)
                else:
                    streams = tuple(
                        open(os.path.join(logs, f"{index}.{name}"), "w+") for name in ("out", "err")
                    )
                outputs.append(streams)
                processes.append(
                    subprocess.Popen(
                        list(command),
                        env={**base_environment, "TF_CONFIG": tf_config(cluster, index)},
                        stdout=streams[0],
                        stderr=streams[1],
                    )
                )
            failure = _wait(processes, cluster, timeout)
        finally:
            _stop(processes)
        results = [
            WorkerResult(index, process.returncode, *_read(streams))
            for index, (process, streams) in enumerate(zip(processes, outputs, strict=True))
        ]
    if failure is not None:
        index, message = failure
        raise WorkerFailedError(
            message
            + (
                f"\nLast output of worker {index}:\n{_tail(results[index].stderr)}"
                if results[index].stderr
                else ""
            )
        )
    return results


def _read(streams: tuple) -> tuple[str, str]:
    texts = []
    for stream in streams:
        if stream is None:
            texts.append("")
            continue
        stream.seek(0)
        texts.append(stream.read())
        stream.close()
    return texts[0], texts[1]


def _wait(
    processes: Sequence[subprocess.Popen], cluster: Mapping, timeout: float | None
) -> tuple[int, str] | None:
    """Poll until all exit with 0 (None) or one fails / time runs out: (worker, message)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    addresses = cluster["worker"]
    while True:
        codes = [process.poll() for process in processes]
        for index, code in enumerate(codes):
            if code not in (None, 0):
                return index, (
                    f"worker {index} ({addresses[index]}) {_describe_exit(code)}; stopped the "
                    "other workers. With tf.keras.callbacks.BackupAndRestore (bitnets-tf train "
                    "uses it), rerun the same command to resume from the last completed epoch."
                )
        if all(code == 0 for code in codes):
            return None
        if deadline is not None and time.monotonic() > deadline:
            waiting = [index for index, code in enumerate(codes) if code is None]
            return waiting[0], (
                f"workers {waiting} still running after {timeout:g} s; stopped all workers. "
                f"Raise the timeout, or check that every worker can reach {addresses}."
            )
        time.sleep(_POLL_SECONDS)
