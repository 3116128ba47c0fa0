"""A long pass of a document: its first and last parts written out, and how many lie between.

A recurrence over a thousand steps, or a perceptron a thousand layers deep, repeats one form. Written
out whole, its document would run to thousands of pages and cost time in proportion, so a pass longer
than ``Options.abridge`` items (forward equations, layers of backward steps) writes its first and last
halves and a ⋮ between them, and says how many it left out. ``abridge=None`` writes every item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..choices import ABRIDGE

Item = TypeVar("Item")

#: A display row that stands for the rows left out.
GAP_ROW = r"\vdots"


@dataclass(frozen=True)
class Omitted:
    """Where items were left out, and how many."""

    count: int


def abridged(items: Sequence[Item], limit: int | None) -> list[Item | Omitted]:
    """``items``, or past ``limit`` its first and last halves with an :class:`Omitted` between them."""
    if limit is None or len(items) <= limit:
        return list(items)
    head = (limit + 1) // 2
    tail = limit - head
    return [*items[:head], Omitted(len(items) - limit), *items[len(items) - tail:]]


class WrittenOnRead(Sequence):
    """``write`` of each item, called when the item is read: a sum of thousands of terms is printed with its
    first and last few, and the others are never written."""

    def __init__(self, items: Sequence[Any], write: Callable[[Any], str]) -> None:
        self._items, self._write = items, write

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._write(item) for item in self._items[index]]
        return self._write(self._items[index])


def omitted_count(items: Sequence[object]) -> int:
    return sum(item.count for item in items if isinstance(item, Omitted))


__all__ = ["ABRIDGE", "GAP_ROW", "Omitted", "WrittenOnRead", "abridged", "omitted_count"]
