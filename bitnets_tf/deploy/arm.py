"""Run stock ``.tflite`` models on emulated ARM Linux and compare with x86.

Per architecture, a minimal Debian *sysroot* (no chroot, no root rights needed) holds
Debian's Python 3.11 and numpy for that architecture plus the stock runtime's wheel from PyPI:
LiteRT (``ai-edge-litert``) on aarch64, ``tflite-runtime`` on armv7 (LiteRT has no 32-bit ARM
wheels); ``qemu-<arch>-static`` (Debian's ``qemu-user-static``; for aarch64 Debian 13's
``qemu-user``, unpacked into the cache, see :data:`NEWER_QEMU_SUITE`) runs that Python with
``QEMU_LD_PREFIX`` pointing at the sysroot. The Debian packages are resolved and downloaded
with a private apt state (the host's apt configuration is not changed), then unpacked with
``dpkg -x``. Sysroots are cached (default ``~/.cache/bitnets-tf/arm``).

What a match proves: the same flatbuffer gives the same outputs with the ARM builds of the
TFLite kernels (NEON/XNNPACK code paths) as on x86. It says nothing about speed: emulated time
is 600-1300x native. ``lce`` models cannot be checked here: PyPI has no Linux ARM build of
larq-compute-engine, and stock runtimes lack its ``Lce*`` operators.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bitnets_tf.deploy.errors import DeploymentError

LITERT = "ai-edge-litert==2.3.0"
TFLITE_RUNTIME = "tflite-runtime==2.14.0"  # needs numpy < 2; Debian bookworm has 1.24
# Debian bookworm = Raspberry Pi OS bookworm: Python 3.11, numpy 1.24, Pillow 9.4
DEBIAN_PACKAGES = (
    "python3.11-minimal",
    "libpython3.11-stdlib",
    "python3-numpy",
    "python3-pil",
    "libstdc++6",
)
APT_ATTEMPTS = 3
PARTIAL_UPDATE = "Some index files failed to download"  # apt-get update got only some lists
CACHE_ENV = "BITNETS_TF_ARM_CACHE"
QEMU_DIR_ENV = "BITNETS_TF_QEMU_DIR"  # a directory searched for qemu first
# An emulated program must see an ARM /proc/cpuinfo: LiteRT's CPU detection (the cpuinfo
# library) dereferences a null pointer when it reads the host's x86 one, which QEMU 7.2
# (Debian 12) passes through; QEMU 10.0 (Debian 13) emulates the file. tflite-runtime 2.14
# copes with either. So the aarch64 sysroot brings Debian 13's statically linked qemu-user.
NEWER_QEMU_SUITE = "deb http://deb.debian.org/debian trixie main"
WORKER = Path(__file__).with_name("arm_worker.py")
EDGE_SCRIPT = Path(__file__).with_name("edge.py")


@dataclass(frozen=True)
class ArmPlatform:
    """A Linux flavour: Debian architecture, qemu binary, the wheel platform tags and the
    stock runtime (a pip requirement) that runs there; the host itself (:func:`host_platform`)
    has neither a Debian sysroot nor qemu."""

    name: str
    debian_arch: str | None
    qemu: str | None
    wheel_platforms: tuple[str, ...]
    runtime: str = TFLITE_RUNTIME
    qemu_suite: str | None = None  # a Debian suite to take qemu-user from, else the host's


PLATFORMS = {
    "aarch64": ArmPlatform(
        "aarch64",
        "arm64",
        "qemu-aarch64-static",
        ("manylinux2014_aarch64", "manylinux_2_27_aarch64", "manylinux_2_34_aarch64"),
        LITERT,
        NEWER_QEMU_SUITE,
    ),
    # tflite-runtime's armv7 wheel is only found under this tag.
    "armv7": ArmPlatform("armv7", "armhf", "qemu-arm-static", ("manylinux_2_34_armv7l",)),
}
ARM_CPUINFO_FIELD = "CPU implementer"


def host_platform(runtime: str) -> ArmPlatform:
    """The host running ``runtime`` natively: the reference that differs from an ARM run only
    in the architecture."""
    return ArmPlatform(f"host-{runtime.split('==')[0]}", None, None, (), runtime)


def default_cache_dir() -> Path:
    """``$BITNETS_TF_ARM_CACHE``, else ``~/.cache/bitnets-tf/arm``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "bitnets-tf" / "arm")


def _run(command: list[str], what: str, cwd: Path | None = None, env=None) -> str:
    try:
        result = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise DeploymentError(
            f"{command[0]} is not installed; it is needed to {what}. On Debian/Ubuntu: "
            "sudo apt-get install qemu-user-static python3-pip (and apt, dpkg)."
        ) from None
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-8:])
        raise DeploymentError(f"Could not {what} (`{' '.join(command[:3])} ...`):\n{tail}")
    return result.stdout


def _apt_options(state: Path, arch: str, sources: Path | None = None) -> list[str]:
    """apt options for a private state directory that resolves packages of ``arch`` only,
    from the host's sources or from the list file ``sources``."""
    from_sources = [f"-o=Dir::Etc::SourceList={sources}", "-o=Dir::Etc::SourceParts=/dev/null"]
    return [
        "-q",
        *(from_sources if sources else []),
        f"-o=Dir::State::Lists={state / 'lists'}",
        f"-o=Dir::State::status={state / 'status'}",
        f"-o=Dir::Cache={state / 'cache'}",
        f"-o=APT::Architecture={arch}",
        f"-o=APT::Architectures::={arch}",
        "-o=Debug::NoLocking=1",
    ]


def _download_debs(platform: ArmPlatform, state: Path, say: Callable[[str], None]) -> list[Path]:
    """Every .deb that Python 3.11 and numpy need on ``platform`` (dependencies resolved
    against an empty package database)."""
    for folder in ("lists/partial", "cache/archives/partial"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    (state / "status").touch()
    arch = platform.debian_arch
    options = _apt_options(state, arch)
    for attempt in range(APT_ATTEMPTS):  # a mirror mid-sync fails with "unexpected size"
        try:
            _run(["apt-get", *options, "update"], f"read the Debian {arch} package lists")
            break
        except DeploymentError as error:
            if attempt < APT_ATTEMPTS - 1:
                time.sleep(10)
            elif PARTIAL_UPDATE in str(error):
                say(f"warning: some {arch} package lists failed; using the others ({error})")
            else:
                raise
    _run(
        [
            "apt-get",
            *options,
            "install",
            "-y",
            "--download-only",
            "--no-install-recommends",
            *DEBIAN_PACKAGES,
        ],
        f"download Debian {arch} packages",
    )
    return sorted((state / "cache" / "archives").glob("*.deb"))


def _link_alternatives(sysroot: Path) -> None:
    """The symlinks that the BLAS/LAPACK packages' install scripts (``update-alternatives``)
    would create, e.g. ``usr/lib/aarch64-linux-gnu/libblas.so.3 -> blas/libblas.so.3``;
    ``dpkg -x`` runs no scripts."""
    for library in ("blas/libblas.so.3", "lapack/liblapack.so.3"):
        for found in sysroot.glob(f"usr/lib/*/{library}"):
            link = found.parent.parent / found.name
            if not link.exists():
                link.symlink_to(Path(found.parent.name) / found.name)


def _recorded(marker: Path) -> dict:
    """What a cached sysroot was built from (packages and the pip requirement)."""
    try:
        values = json.loads(marker.read_text())
    except (OSError, ValueError):
        return {}
    return {key: values.get(key) for key in ("packages", "pip", "qemu")}


def prepare_sysroot(
    platform: ArmPlatform, cache_dir: Path | None = None, say: Callable[[str], None] = print
) -> Path:
    """The sysroot for ``platform`` under ``cache_dir``, built on first use (about 30 s and
    130 MB per ARM architecture with a fast mirror; for the host only the runtime).

    Raises:
        DeploymentError: qemu, apt or pip failed (the message has their last lines).
    """
    root = (cache_dir or default_cache_dir()) / platform.name
    sysroot = root / "sysroot"
    marker = root / "ready.json"
    packages = list(DEBIAN_PACKAGES) if platform.qemu else []
    wanted = {"packages": packages, "pip": platform.runtime, "qemu": platform.qemu_suite}
    if marker.is_file() and _recorded(marker) == wanted:
        return sysroot
    if platform.qemu and not platform.qemu_suite:
        qemu_binary(platform)  # fail before downloading anything
    say(f"building the {platform.name} sysroot in {root} (cached for next time)")
    shutil.rmtree(root, ignore_errors=True)
    debs = []
    if platform.qemu:
        state = root / "apt"
        debs = _download_debs(platform, state, say)
        for deb in debs:
            _run(["dpkg", "-x", str(deb), str(sysroot)], f"unpack {deb.name}")
        _link_alternatives(sysroot)
        shutil.rmtree(state)
    if platform.qemu_suite:
        _fetch_qemu(platform.qemu_suite, root)
    cross = ["--python-version", "3.11", *[f"--platform={tag}" for tag in platform.wheel_platforms]]
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--target",
            str(sysroot / "site"),
            *(cross if platform.qemu else []),
            platform.runtime,
        ],
        f"download {platform.runtime} for {platform.name} from PyPI",
    )
    marker.write_text(json.dumps({**wanted, "debs": [deb.name for deb in debs]}))
    return sysroot


def _fetch_qemu(suite: str, root: Path) -> None:
    """Unpack the host architecture's ``qemu-user`` package of Debian ``suite`` (a sources.list
    line) into ``root/qemu`` (its binaries are statically linked)."""
    state = root / "qemu-apt"
    for folder in ("lists/partial", "cache/archives/partial"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    (state / "status").touch()
    (state / "sources.list").write_text(suite + "\n")
    arch = _run(["dpkg", "--print-architecture"], "ask dpkg the host architecture").strip()
    options = _apt_options(state, arch, state / "sources.list")
    _run(["apt-get", *options, "update"], f"read the package lists of `{suite}`")
    _run(["apt-get", *options, "download", "qemu-user"], "download qemu-user", cwd=state)
    for deb in state.glob("qemu-user_*.deb"):
        _run(["dpkg", "-x", str(deb), str(root / "qemu")], f"unpack {deb.name}")
    shutil.rmtree(state)


def qemu_binary(platform: ArmPlatform, sysroot: Path | None = None) -> str:
    """The path of ``platform.qemu``: in ``$BITNETS_TF_QEMU_DIR`` if set, else the qemu that
    :func:`prepare_sysroot` unpacked beside ``sysroot`` (``qemu_suite`` platforms), else on
    PATH. Debian 13's ``qemu-user`` names it without the ``-static`` suffix.

    Raises:
        DeploymentError: not found (says how to install it).
    """
    directory = os.environ.get(QEMU_DIR_ENV)
    folders = [Path(directory)] if directory else []
    if sysroot is not None:
        folders.append(sysroot.parent / "qemu" / "usr" / "bin")
    for folder in folders:
        for name in (platform.qemu, platform.qemu.removesuffix("-static")):
            if os.access(folder / name, os.X_OK):
                return str(folder / name)
    found = shutil.which(platform.qemu)
    if found is None:
        raise DeploymentError(
            f"{platform.qemu} not found"
            + (f" in ${QEMU_DIR_ENV} ({directory}) or" if directory else "")
            + " on PATH: install Debian's qemu-user-static (sudo apt-get install "
            "qemu-user-static)."
        )
    return found


def check_emulated_cpuinfo(platform: ArmPlatform, sysroot: Path) -> None:
    """Raise when the emulated program would read the host's /proc/cpuinfo, which LiteRT's CPU
    detection cannot parse (it segfaults); see :data:`ARM_CPUINFO_FIELD`."""
    probe = "print(open('/proc/cpuinfo').read())"
    with tempfile.NamedTemporaryFile("w", suffix=".py") as script:
        script.write(probe)
        script.flush()
        cpuinfo = run_python(platform, sysroot, Path(script.name))
    if ARM_CPUINFO_FIELD not in cpuinfo:
        qemu = qemu_binary(platform, sysroot)
        version = _run([qemu, "--version"], "ask qemu its version").splitlines()
        raise DeploymentError(
            f"{qemu} ({version[0] if version else 'unknown version'}) shows "
            f"the emulated program the host's /proc/cpuinfo, on which {platform.runtime}'s CPU "
            "detection crashes (segmentation fault). Use a QEMU that emulates /proc/cpuinfo for "
            "ARM (10.0 does, 7.2 does not): the aarch64 sysroot brings Debian 13's qemu-user, "
            f"used unless ${QEMU_DIR_ENV} names another."
        )


def run_python(platform: ArmPlatform, sysroot: Path, script: Path, *args: str) -> str:
    """The standard output of ``python3 script args``: the sysroot's Python under
    ``qemu-<arch>-static`` for ARM, this interpreter with the sysroot's packages for the host."""
    site = str(sysroot / "site")
    if platform.qemu is None:
        env = {**os.environ, "PYTHONPATH": site, "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, str(script), *args]
    else:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "QEMU_LD_PREFIX": str(sysroot),
            "PYTHONHOME": str(sysroot / "usr"),
            "PYTHONPATH": f"{site}:{sysroot / 'usr/lib/python3/dist-packages'}",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        python = str(sysroot / "usr/bin/python3.11")
        command = [qemu_binary(platform, sysroot), python, str(script), *args]
    return _run(command, f"run {script.name} on {platform.name}", env=env)


def run_jobs(
    platform: ArmPlatform, sysroot: Path, jobs: list[tuple[bytes, np.ndarray]]
) -> tuple[list[np.ndarray], dict]:
    """Raw outputs of each ``(flatbuffer, raw inputs)`` job run with the platform's runtime
    on ``platform``, and the worker's platform report (machine, versions)."""
    with tempfile.TemporaryDirectory(prefix="bitnets-tf-arm-") as directory:
        work = Path(directory)
        request = []
        for index, (model, inputs) in enumerate(jobs):
            (work / f"{index}.tflite").write_bytes(model)
            np.save(work / f"{index}_in.npy", inputs)
            request.append(
                {
                    "model": str(work / f"{index}.tflite"),
                    "inputs": str(work / f"{index}_in.npy"),
                    "outputs": str(work / f"{index}_out.npy"),
                }
            )
        (work / "request.json").write_text(json.dumps(request))
        stdout = run_python(platform, sysroot, WORKER, str(work / "request.json"))
        outputs = [np.load(work / f"{index}_out.npy") for index in range(len(jobs))]
    return outputs, json.loads(stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class ArmComparison:
    """One model on one ARM platform against the same flatbuffer on the host: with the same
    runtime version (only the architecture differs) and with :class:`ModelRunner`'s stock
    runtime on the host."""

    platform: str
    model: str
    target: str
    size_bytes: int
    samples: int
    max_abs_output: float
    max_abs_diff: float  # against the same runtime and version on the host
    identical: float  # fraction of samples with bit-identical outputs (same version)
    argmax_agreement: float  # same version; see top1_agreement
    max_abs_diff_tf: float  # against ModelRunner's stock runtime on the host
    argmax_agreement_tf: float


@dataclass(frozen=True)
class ArmJob:
    """A named stock ``.tflite`` and the float inputs to run it on, ``(n, h, w, c)``."""

    name: str
    target: str
    flatbuffer: bytes
    inputs: np.ndarray


def top1_agreement(outputs: np.ndarray, reference: np.ndarray, rtol: float = 1e-4) -> float:
    """Fraction of samples whose top class in ``outputs`` is also a top class of
    ``reference``: its reference score is within ``rtol * max|reference|`` of the maximum.
    Exact ties are common in untrained binary networks, whose logits are (scaled) integers;
    plain argmax would then count rounding-level differences as disagreements."""
    top = outputs.argmax(axis=1)
    chosen = reference[np.arange(len(reference)), top]
    tolerance = rtol * np.abs(reference).max(axis=1)
    return float(np.mean(chosen >= reference.max(axis=1) - tolerance))


def compare_with_x86(
    platform: ArmPlatform,
    jobs: list[ArmJob],
    cache_dir: Path | None = None,
    say: Callable[[str], None] = print,
) -> tuple[list[ArmComparison], dict]:
    """Run every job with the platform's runtime on emulated ``platform`` and natively on the
    host, and with the host's stock runtime (one thread, default delegates everywhere),
    all on identical quantized inputs; compare the outputs. Returns the rows and the ARM
    worker's platform report.

    Raises:
        DeploymentError: a job needs larq-compute-engine operators, or a run failed.
    """
    from bitnets_tf.deploy.interpreters import ModelRunner
    from bitnets_tf.tflite.interpreters import lce_help, needs_lce

    runners = []
    for job in jobs:
        if needs_lce(job.flatbuffer):
            raise DeploymentError(f"{job.name} ({job.target}): " + lce_help(["Lce*"]))
        runners.append(ModelRunner(job.flatbuffer, runtime="tflite"))
    raw = [
        (job.flatbuffer, runner.input.quantize(job.inputs))
        for runner, job in zip(runners, jobs, strict=True)
    ]
    sysroot = prepare_sysroot(platform, cache_dir, say)
    if platform.runtime == LITERT:
        check_emulated_cpuinfo(platform, sysroot)
    arm_raw, info = run_jobs(platform, sysroot, raw)
    host = host_platform(platform.runtime)
    host_raw, _ = run_jobs(host, prepare_sysroot(host, cache_dir, say), raw)
    rows = []
    for job, runner, arm_out, host_out in zip(jobs, runners, arm_raw, host_raw, strict=True):
        arm = runner.output.dequantize(arm_out).reshape(len(job.inputs), -1)
        host = runner.output.dequantize(host_out).reshape(arm.shape)
        stock = runner.predict(job.inputs).reshape(arm.shape)
        difference = np.abs(arm - host)
        rows.append(
            ArmComparison(
                platform=platform.name,
                model=job.name,
                target=job.target,
                size_bytes=len(job.flatbuffer),
                samples=len(arm),
                max_abs_output=float(np.abs(host).max()),
                max_abs_diff=float(difference.max()),
                identical=float(np.mean(difference.max(axis=1) == 0)),
                argmax_agreement=top1_agreement(arm, host),
                max_abs_diff_tf=float(np.abs(arm - stock).max()),
                argmax_agreement_tf=top1_agreement(arm, stock),
            )
        )
    return rows, info
