"""The console script is installed and its commands run."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bitnets_tf import cli


def test_info_lists_stack_and_quantizers(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "tf_keras" in out and "larq-compute-engine" in out and "stochastic_sign" in out


def test_console_script_is_installed():
    beside_python = Path(sys.executable).parent / "bitnets-tf"
    exe = str(beside_python) if beside_python.exists() else shutil.which("bitnets-tf")
    if exe is None:
        pytest.fail("the bitnets-tf console script is not on PATH: pip install -e . first")
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "info" in result.stdout
