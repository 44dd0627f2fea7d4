"""Latency, size and operators of ``.tflite`` models, measured in one process.

Latency is the interpreter's time for one invocation on one sample (random input in the
model's input shape, the same for every run), after warm-up runs; reported as the median and
90th percentile over ``runs`` invocations, for each thread count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bitnets_tf.deploy.interpreters import ModelRunner
from bitnets_tf.tflite.flatbuffer import custom_operators, load_flatbuffer, operator_counts


@dataclass(frozen=True)
class LatencyStats:
    """Summary of invocation times in milliseconds."""

    runs: int
    median_ms: float
    p90_ms: float
    min_ms: float

    @classmethod
    def from_seconds(cls, seconds: Sequence[float]) -> LatencyStats:
        """Median, nearest-rank 90th percentile and minimum of ``seconds``, in ms."""
        if not seconds:
            raise ValueError("No timings to summarise.")
        values = np.sort(np.asarray(seconds, np.float64)) * 1e3
        rank = int(np.ceil(0.9 * len(values))) - 1
        return cls(len(values), float(np.median(values)), float(values[rank]), float(values[0]))


@dataclass
class BenchmarkResult:
    """One model: file size, operator counts, runtime, and latency per thread count."""

    path: str | None
    size_bytes: int
    operators: dict[str, int]
    custom_operators: list[str]
    runtime: str
    latency: dict[int, LatencyStats]


def time_model(
    runner: ModelRunner,
    runs: int,
    warmup: int,
    sample: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
) -> LatencyStats:
    """Latency of ``runner`` over ``runs`` invocations after ``warmup`` untimed ones."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be an integer >= 1, got {runs!r}.")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}.")
    if sample is None:
        sample = np.random.default_rng(0).standard_normal(runner.input.shape).astype(np.float32)
    for _ in range(warmup):
        runner.run(sample)
    seconds = []
    for _ in range(runs):
        seconds.append(runner.run(sample)[1])
        if progress is not None:
            progress(1)
    return LatencyStats.from_seconds(seconds)


def benchmark(
    model: bytes | str | os.PathLike,
    threads: Sequence[int] = (1,),
    runs: int = 50,
    warmup: int = 5,
    runtime: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> BenchmarkResult:
    """Size, operators and latency of ``model`` for each thread count in ``threads``.

    Raises:
        FileNotFoundError, ValueError, DeploymentError: as :class:`ModelRunner`.
    """
    flatbuffer = load_flatbuffer(model)
    if not threads:
        raise ValueError("threads must list at least one thread count.")
    latency = {}
    chosen = runtime
    for count in threads:
        runner = ModelRunner(flatbuffer, runtime=runtime, num_threads=count)
        chosen = runner.runtime
        latency[count] = time_model(runner, runs, warmup, progress=progress)
    path = None if isinstance(model, (bytes, bytearray)) else os.fspath(model)
    return BenchmarkResult(
        path=path,
        size_bytes=len(flatbuffer),
        operators=operator_counts(flatbuffer),
        custom_operators=custom_operators(flatbuffer),
        runtime=chosen,
        latency=latency,
    )
