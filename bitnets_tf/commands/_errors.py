"""One way every ``bitnets-tf`` command reports failures, with documented exit statuses.

- 0: success.
- 1: the work itself failed: a conversion or its verification, training stopped on a
  non-finite loss, or an I/O error while writing (e.g. a full disk).
- 2: bad arguments or input files (unknown names, missing or unreadable files, corrupt models
  or data, non-finite inputs, an output that cannot be created, files that need
  ``--allow-unsafe``).
- 130 / 143: interrupted by Ctrl-C / terminated by SIGTERM (temporary files are removed).

Each error is one ``bitnets-tf COMMAND: error: ...`` line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
from collections.abc import Callable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM

# OSErrors that mean "this path argument is unusable" rather than "writing failed".
_PATH_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


class CommandFailedError(Exception):
    """The work itself failed in a way the command has already explained (exit status 1)."""


def report_errors(command: str) -> Callable:
    """Decorate a command handler: expected errors become one stderr line and an exit status
    (module docstring); anything else is a bug and keeps its traceback."""

    def decorate(handler: Callable[[argparse.Namespace], int]):
        @functools.wraps(handler)
        def wrapped(args: argparse.Namespace) -> int:
            from bitnets_tf.converters import ConversionError

            def fail(error: BaseException, status: int) -> int:
                print(f"bitnets-tf {command}: error: {error}", file=sys.stderr)
                return status

            try:
                return handler(args)
            except ConversionError as error:
                status = fail(error, EXIT_FAILED)
                if error.details:
                    print(error.details, file=sys.stderr)
                print("No file was written.", file=sys.stderr)
                return status
            except CommandFailedError as error:
                return fail(error, EXIT_FAILED)
            except (ValueError, *_PATH_ERRORS) as error:
                return fail(error, EXIT_BAD_INPUT)
            except OSError as error:
                return fail(error, EXIT_FAILED)
            except KeyboardInterrupt:
                return fail("interrupted", EXIT_INTERRUPTED)

        return wrapped

    return decorate


def terminate_cleanly() -> None:
    """Turn SIGTERM into ``SystemExit(143)`` so ``finally`` blocks and context managers remove
    temporary files and directories (Python runs the handler once native code returns)."""

    def handler(signum, frame):
        raise SystemExit(EXIT_TERMINATED)

    signal.signal(signal.SIGTERM, handler)
