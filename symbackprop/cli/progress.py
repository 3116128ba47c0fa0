"""Stages of a command on stderr, announced only when they take more than a moment."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .messages import say

#: A stage that takes longer than this is announced on stderr, then reported every few seconds.
PROGRESS_AFTER_SECONDS = 1.0
PROGRESS_EVERY_SECONDS = 5.0


class Progress:
    """``symbackprop: <message>`` lines on stderr, or nothing when not ``enabled`` (``-q``)."""

    def __init__(self, *, enabled: bool = True, lang: str = "en") -> None:
        self.enabled = enabled
        self.lang = lang

    def say(self, message: str) -> None:
        if self.enabled:
            print(f"symbackprop: {message}", file=sys.stderr, flush=True)

    def note(self, key: str, **fields: object) -> None:
        """The sentence ``key`` of the command's table, in the progress' language."""
        self.say(say(key, self.lang, **fields))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Announce ``name`` if it is still running after a moment, and then how long it took."""
        if not self.enabled:
            yield
            return
        done = threading.Event()
        started = time.monotonic()
        announced = threading.Event()

        def watch() -> None:
            if done.wait(PROGRESS_AFTER_SECONDS):
                return
            announced.set()
            self.note("progress.started", stage=name)
            while not done.wait(PROGRESS_EVERY_SECONDS):
                self.note("progress.running", stage=name, seconds=time.monotonic() - started)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()
            if announced.is_set():
                self.note("progress.done", stage=name, seconds=time.monotonic() - started)
