"""The bitnets-tf console script hides TensorFlow's native start-up logs, nothing else."""

import os
import subprocess
import sys
from pathlib import Path

import bitnets_tf_cli
from bitnets_tf_cli import filtered_stderr, is_startup_noise, wants_verbose

REPOSITORY = Path(bitnets_tf_cli.__file__).parent

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796216655.108167   11673 port.cc:153] oneDNN custom operations are on.",
    "W0000 00:00:1796216655.1   11673 cpu_allocator_impl.cc:83] Allocation exceeds 10%",
    "2026-12-02 13:00:12.182473: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:31] Could "
    "not find cuda drivers on your machine, GPU will not be used.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow",
    "E0000 00:00:1796216663.445361   11673 cuda_platform.cc:52] failed call to cuInit: INTERNAL",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "2026-12-02 13:00:16.330133: E external/local_xla/xla/stream_executor/cuda/"
    "cuda_platform.cc:51] failed call to cuInit: INTERNAL: CUDA error",
]
KEPT = [
    "E0000 00:00:1796216663.445361   11673 kernel.cc:52] Invalid argument: shape mismatch",
    "Traceback (most recent call last):",
    "bitnets-tf run: error: No such image file: 'x.png'.",
    "Info: nothing to see",
]


def test_only_tensorflow_start_up_lines_count_as_noise():
    assert [line for line in NOISE if not is_startup_noise(line)] == []
    assert [line for line in KEPT if is_startup_noise(line)] == []


def test_filtered_stderr_drops_noise_and_passes_the_rest_in_order(capfd):
    with filtered_stderr():
        os.write(2, ("\n".join([NOISE[0], KEPT[0], NOISE[1], KEPT[1]]) + "\n").encode())
        os.write(2, b"progress 1/2\rprogress 2/2\r")
        os.write(2, f"{KEPT[2]}\n".encode())
    assert capfd.readouterr().err == (
        f"{KEPT[0]}\n{KEPT[1]}\nprogress 1/2\rprogress 2/2\r{KEPT[2]}\n"
    )


def test_verbose_counts_only_before_the_command():
    assert wants_verbose(["--verbose", "info"])
    assert not wants_verbose(["info"])
    assert not wants_verbose(["train", "--verbose", "2"])


def test_console_entry_point_prints_no_start_up_logs():
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    result = subprocess.run(
        [sys.executable, "-m", "bitnets_tf_cli", "info"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "tensorflow" in result.stdout and "stock TFLite runtime" in result.stdout
    assert result.stderr == ""
