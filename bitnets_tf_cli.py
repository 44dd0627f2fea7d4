"""The ``bitnets-tf`` console entry point: TensorFlow's native start-up logs hidden.

TensorFlow's C++ side writes INFO and WARNING lines straight to file descriptor 2 when it
loads (oneDNN, CPU features, "Could not find cuda drivers"), plus an ERROR-level ``failed call
to cuInit`` on every machine without a GPU (and each TFLite interpreter announces its XNNPACK
delegate), and since TensorFlow 2.21 it does so before absl's
logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` no longer hides them. :func:`filtered_stderr`
routes fd 2 through a pipe for the duration of a command and drops exactly those lines
(:func:`is_startup_noise`); every other line, Python tracebacks and our own messages included,
passes through unchanged. ``bitnets-tf --verbose COMMAND`` keeps everything.

This module sits outside the ``bitnets_tf`` package on purpose: importing anything from the
package imports TensorFlow, whose start-up lines must already be filtered by then. The commands
themselves are :mod:`bitnets_tf.cli`.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence

_NATIVE_INFO_OR_WARNING = re.compile(
    r"^(?:[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\] "  # absl: I1202 13:00:12.18 123 file.cc:31]
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] \S+:\d+\] )"  # TF <= 2.20's own format
)
_NATIVE_ERROR = re.compile(r"^(?:E\d{4} [\d:.]+ +\d+ |\d{4}-\d\d-\d\d \S+: E )")
_BENIGN_ERRORS = ("failed call to cuInit", "Unable to register cu")
_OTHER_NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "To enable the following instructions:",  # continues the CPU-feature INFO line
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",  # every TFLite interpreter
    "INFO: Initialized TensorFlow Lite runtime.",
)
_FLUSH_SECONDS = 5.0


def is_startup_noise(line: str) -> bool:
    """Whether ``line`` is a native TensorFlow INFO/WARNING log line, the absl pre-init
    notice, TFLite's interpreter INFO lines, or the CPU-only ``cuInit`` / CUDA
    factory-registration error."""
    if _NATIVE_INFO_OR_WARNING.match(line) or line.startswith(_OTHER_NOISE):
        return True
    return bool(_NATIVE_ERROR.match(line)) and any(text in line for text in _BENIGN_ERRORS)


def _forward(source: int, target: int) -> None:
    """Copy lines from ``source`` to ``target`` until end of file, dropping start-up noise."""
    pending = b""
    with os.fdopen(source, "rb", buffering=0) as reader:
        while chunk := reader.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            kept = [line for line in lines if not is_startup_noise(line.decode(errors="replace"))]
            if kept:
                os.write(target, b"".join(line + b"\n" for line in kept))
            if b"\r" in pending:  # progress bars (tqdm) redraw with \r: show them now
                shown, _, pending = pending.rpartition(b"\r")
                os.write(target, shown + b"\r")
    if pending and not is_startup_noise(pending.decode(errors="replace")):
        os.write(target, pending)


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Within the block, fd 2 (native code, ``sys.stderr``, child processes) passes through
    :func:`is_startup_noise`'s filter to the original stderr."""
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    forwarder = threading.Thread(target=_forward, args=(read_end, original), daemon=True)
    forwarder.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end held by this process
        forwarder.join(_FLUSH_SECONDS)  # a child still holding the pipe must not block exit
        if not forwarder.is_alive():
            os.close(original)


def wants_verbose(argv: Sequence[str]) -> bool:
    """Whether ``--verbose`` comes before the command name (a command's own options follow
    it; ``train --verbose N`` is fit's verbosity)."""
    for token in argv:
        if not token.startswith("-"):
            return False
        if token == "--verbose":
            return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bitnets-tf`` with ``argv`` (default: the process arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    quiet = contextlib.nullcontext() if wants_verbose(argv) else filtered_stderr()
    with quiet:
        from bitnets_tf import cli

        return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
