"""Every binary GEMM kernel (x86 POPCNT/AVX2/AVX-512 here; NEON for aarch64 and armv7 under
qemu) computes the same XOR+popcount sums as the portable C kernel, for reduction lengths 2 to
300 words and 1 to 9 filters, and every channel-major kernel the direct sums for rows of 1 to
80 words and 1 to 5 blocks of 16 channels (csrc/bgemm_check.c beside this file); every SIMD
output stage of LceBconv2d (float, int8, bitpacked) gives the portable one's bytes
(csrc/output_check.c)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "bitnets_tf" / "runtime" / "csrc"
CHECKS = Path(__file__).with_name("csrc")
CROSS = {
    "aarch64": (["aarch64-linux-gnu-gcc"], "qemu-aarch64-static"),
    "armv7": (["arm-linux-gnueabihf-gcc", "-mfpu=neon-vfpv4"], "qemu-arm-static"),
}


def build_and_run(
    compiler: list[str], runner: list[str], out: Path, check: str = "bgemm_check"
) -> str:
    binary = out / check
    sources = [CHECKS / f"{check}.c", CSRC / "bgemm.c", CSRC / "bconv_output.c"]
    command = [*compiler, "-O2", "-std=c11", "-ffp-contract=off", f"-I{CSRC}", *map(str, sources)]
    subprocess.run([*command, "-o", str(binary), "-lm"], check=True)
    result = subprocess.run([*runner, str(binary)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_host_kernels_agree_with_portable(tmp_path):
    lines = build_and_run(["cc"], [], tmp_path).splitlines()
    assert lines and all(line.endswith(" ok") for line in lines)  # e.g. popcnt, avx2, avx512


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_host_output_stages_agree_with_portable(tmp_path):
    lines = build_and_run(["cc"], [], tmp_path, "output_check").splitlines()
    assert all(line.endswith(" ok") for line in lines)  # avx2, avx512 where the CPU has them


@pytest.mark.arm
@pytest.mark.parametrize("arch", sorted(CROSS))
def test_neon_kernel_agrees_with_portable_under_qemu(arch, tmp_path):
    compiler, qemu = CROSS[arch]
    if shutil.which(compiler[0]) is None or shutil.which(qemu) is None:
        pytest.skip(f"needs {compiler[0]} and {qemu} (Debian packages)")
    output = build_and_run([*compiler, "-static"], [qemu], tmp_path)
    assert output.strip() == "neon ok"


def test_missing_build_is_reported_and_lce_files_fall_back(monkeypatch):
    import importlib.util

    from bitnets_tf import runtime
    from bitnets_tf.runtime import _library

    real_find_spec = importlib.util.find_spec

    def without_kernels(name, *args):
        return None if name == "bitnets_tf.runtime._kernels" else real_find_spec(name, *args)

    _library.kernels.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", without_kernels)
    try:
        assert not runtime.available()
        assert "not compiled" in runtime.unavailable_reason()
        assert "C compiler" in runtime.unavailable_reason()
        with pytest.raises(runtime.RuntimeUnavailableError, match="not compiled"):
            runtime.make_interpreter(b"")
    finally:
        monkeypatch.undo()
        _library.kernels.cache_clear()
    assert runtime.available() == (real_find_spec("bitnets_tf.runtime._kernels") is not None)
