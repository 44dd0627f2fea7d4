"""Silence TensorFlow's converter and interpreter chatter, but keep it for error messages.

TFLite's and larq-compute-engine's converters log from C++ straight to file descriptor 2
(``I0000 ... saved_model reader``, MLIR passes, op counts), and the Python side adds
deprecation warnings. :func:`captured_output` redirects fd 2 into a temporary file for the
duration of a block and hands the text back, so command-line output stays readable while a
failed conversion can still quote what the converter said.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

_QUIET_LOGGERS = ("tensorflow", "absl", "h5py")


class CapturedOutput:
    """Text written to stderr (Python and native) inside :func:`captured_output`."""

    def __init__(self) -> None:
        self.text = ""

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` non-empty lines, for error messages."""
        kept = [line for line in self.text.splitlines() if line.strip()]
        return "\n".join(kept[-lines:])


@dataclass
class _LoggingState:
    """Levels, handlers and propagation of the root logger and the quieted loggers, and
    absl's verbosity: everything :func:`captured_output` changes."""

    loggers: dict[str, tuple[int, list[logging.Handler], bool]]
    absl_verbosity: int | None

    @classmethod
    def save(cls) -> _LoggingState:
        loggers = {}
        for name in ("", *_QUIET_LOGGERS):
            logger = logging.getLogger(name)
            loggers[name] = (logger.level, list(logger.handlers), logger.propagate)
        return cls(loggers, _absl_verbosity())

    def restore(self) -> None:
        for name, (level, handlers, propagate) in self.loggers.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers  # drops handlers bound to the closed capture file
            logger.propagate = propagate
        if self.absl_verbosity is not None:
            from absl import logging as absl_logging

            absl_logging.set_verbosity(self.absl_verbosity)


def _absl_verbosity() -> int | None:
    try:
        from absl import logging as absl_logging
    except ImportError:
        return None
    return absl_logging.get_verbosity()


def quiet_python_loggers() -> None:
    """Raise TensorFlow's and absl's Python loggers to ERROR."""
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)


@contextlib.contextmanager
def captured_output() -> Iterator[CapturedOutput]:
    """Capture everything written to stderr (fd 2 and ``sys.stderr``) and Python warnings.

    Warnings are recorded, not shown; callers that must react to a specific warning use
    ``warnings.catch_warnings`` inside the block, or ``warnings.simplefilter("error", ...)``.
    Python logging (levels, handlers, absl's verbosity) is restored exactly as it was on exit,
    also when the block raises.
    """
    captured = CapturedOutput()
    logging_state = _LoggingState.save()
    quiet_python_loggers()
    sys.stderr.flush()
    saved_fd = os.dup(2)
    try:
        with tempfile.TemporaryFile(mode="w+b") as sink:
            os.dup2(sink.fileno(), 2)
            saved_stderr = sys.stderr
            sys.stderr = open(os.dup(sink.fileno()), "w", closefd=True)
            try:
                with warnings.catch_warnings(record=True) as recorded:
                    warnings.simplefilter("always")
                    yield captured
            finally:
                sys.stderr.flush()
                sys.stderr.close()
                sys.stderr = saved_stderr
                os.dup2(saved_fd, 2)
                sink.seek(0)
                captured.text = sink.read().decode(errors="replace") + "".join(
                    f"{w.category.__name__}: {w.message}\n" for w in recorded
                )
    finally:
        os.close(saved_fd)
        logging_state.restore()
