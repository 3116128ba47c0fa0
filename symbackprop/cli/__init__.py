"""The ``symbackprop`` command: derive, check and draw a network without writing Python.

    symbackprop derive [NET] [--values FILE] [--format tex|md|pdf|html] [--lang en|ko] [-o OUT]
    symbackprop check  [NET] [--values FILE]
    symbackprop graph  [NET] [--values FILE] [-o OUT]

NET is a TOML spec file (read by :mod:`symbackprop.spec`, never executed) or a
Python file that defines ``net`` (run as Python: it is the user's own code).
Without NET, the reference page's network and numbers are used.

Exit status: 0 on success, 1 when ``check`` finds a gradient that disagrees
with its oracles, 2 for any error (which is printed as one line on stderr).

The parts: :mod:`.parser` (options), :mod:`.commands` (derive, check, graph),
:mod:`.loading` (NET and its values), :mod:`.progress`, :mod:`.messages`
(every sentence, per language) and :mod:`.errors`.
"""

from __future__ import annotations

import sys
import traceback
import warnings
from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any

from .commands import format_check, run_check, run_derive, run_graph
from .errors import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_MISMATCH,
    EXIT_OK,
    CommandError,
    UserCodeError,
    describe,
    one_line,
    stop_writing_to_stdout,
)
from .loading import LoadedNet, load_net
from .messages import say
from .parser import build_parser
from .progress import Progress

if TYPE_CHECKING:
    from ..printing.katex import KATEX_CDN, KATEX_VERSION, find_katex, katex_head_for

#: Names kept here for callers of the command's API, imported when asked for: the printers load SymPy.
_FROM_KATEX = frozenset({"KATEX_CDN", "KATEX_VERSION", "find_katex", "katex_head_for"})

__all__ = [
    "EXIT_ERROR", "EXIT_MISMATCH", "EXIT_OK", "KATEX_CDN", "KATEX_VERSION", "CommandError", "LoadedNet", "Progress",
    "UserCodeError", "build_parser", "find_katex", "format_check", "katex_head_for", "load_net", "main",
    "run_check", "run_derive", "run_graph",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting (the console script exits)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return int(exit_.code or 0)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    progress = Progress(enabled=not args.quiet)
    try:
        import_module("symbackprop.api")  # every command uses the library: loaded before its first stage is timed
        with warnings.catch_warnings():
            # A warning (an unused parameter, say) is one line too, not Python's two-line report.
            warnings.showwarning = _show_warning
            return args.run(args, progress)
    except KeyboardInterrupt:
        print(f"symbackprop: {say('interrupted')}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head -1`): nothing to report, as for any command
        stop_writing_to_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as error:  # the one place where every failure becomes one line
        if args.traceback:
            traceback.print_exc()
        print(f"symbackprop: {say('prefix.error')}: {describe(error)}", file=sys.stderr)
        return error.status if isinstance(error, CommandError) else EXIT_ERROR


def __getattr__(name: str) -> Any:
    if name in _FROM_KATEX:
        from ..printing import katex

        return getattr(katex, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _show_warning(message: Warning | str, category: type[Warning], *_args: Any, **_kwargs: Any) -> None:
    print(f"symbackprop: {say('prefix.warning')}: {one_line(str(message))}", file=sys.stderr)
