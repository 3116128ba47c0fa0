"""The command's exit statuses and errors, and how any failure becomes one line."""

from __future__ import annotations

import os
import sys

from .messages import say

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2
#: A command whose reader closed the pipe ends as one killed by SIGPIPE would: 128 + 13.
EXIT_BROKEN_PIPE = 141


class CommandError(Exception):
    """An error the command reports as one line, with the exit status it carries."""

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.status = status


class UserCodeError(Exception):
    """A Python NET file raised an exception while it ran."""


def describe(error: BaseException) -> str:
    """The one line an error is reported as."""
    from ..errors import SymbackpropError

    if isinstance(error, (CommandError, SymbackpropError, UserCodeError)):
        return one_line(str(error))
    if isinstance(error, OSError) and error.filename is not None:
        reason = error.strerror or str(error)
        return f"{error.filename}: {reason}"
    # Anything else is a bug in symbackprop: say so, keep it to one line, point at --traceback.
    return one_line(say("unexpected", kind=type(error).__name__, error=error))


def one_line(text: str) -> str:
    return " ".join(text.split())


def stop_writing_to_stdout() -> None:
    """Point standard output at the null device, so that the output still buffered is dropped at exit
    instead of failing again (Python would print "Exception ignored ... BrokenPipeError")."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture): nothing is buffered there
        pass
