"""Stages of a command on stderr, announced only when they take more than a moment."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
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
    def stage(self, name: str) -> Iterator[Callable[[str], None]]:
        """Announce ``name`` if it is still running after a moment, and then how long it took.

        The block is given a function that names the part of the stage under way: once the stage
        has been announced, each part is announced as it begins, and the reports every few seconds
        name the part too.
        """
        if not self.enabled:
            yield lambda _part: None
            return
        done = threading.Event()
        lock = threading.Lock()
        started = time.monotonic()
        label = [name]
        announced = threading.Event()

        def announce() -> None:  # with the lock held
            announced.set()
            self.note("progress.started", stage=label[0])

        def part(text: str) -> None:
            with lock:
                label[0] = say("progress.part", self.lang, stage=name, part=text)
                if announced.is_set() or time.monotonic() - started >= PROGRESS_AFTER_SECONDS:
                    announce()

        def watch() -> None:
            if done.wait(PROGRESS_AFTER_SECONDS):
                return
            with lock:
                if not announced.is_set():
                    announce()
            while not done.wait(PROGRESS_EVERY_SECONDS):
                with lock:
                    self.note("progress.running", stage=label[0], seconds=time.monotonic() - started)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            yield part
        finally:
            done.set()
            watcher.join()
            if announced.is_set():
                self.note("progress.done", stage=name, seconds=time.monotonic() - started)
