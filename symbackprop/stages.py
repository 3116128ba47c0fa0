"""Which part of a long piece of work is under way, told to whoever listens.

A document names each part as it starts (the analysis behind a section, then the section itself);
the command line listens and names the part on its progress line. Nothing listens by default, and
the parts never learn who listens: the printers and the analyses stay free of the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_LISTENER: ContextVar[Callable[[str], None] | None] = ContextVar("symbackprop_stage_listener", default=None)


@contextmanager
def listening(listener: Callable[[str], None]) -> Iterator[None]:
    """Call ``listener`` with the name of each part announced while the block runs."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def announce(part: str) -> None:
    """Tell the listener, if there is one, that ``part`` begins."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(part)
