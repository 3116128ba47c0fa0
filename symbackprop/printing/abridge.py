"""A long pass of a document: its first and last parts written out, and how many lie between.

A recurrence over a thousand steps, or a perceptron a thousand layers deep, repeats one form. Written
out whole, its document would run to thousands of pages and cost time in proportion, so a pass longer
than ``Options.abridge`` items (forward equations, layers of backward steps) writes its first and last
halves and a ⋮ between them, and says how many it left out. ``abridge=None`` writes every item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

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


def omitted_count(items: Sequence[object]) -> int:
    return sum(item.count for item in items if isinstance(item, Omitted))


__all__ = ["ABRIDGE", "GAP_ROW", "Omitted", "abridged", "omitted_count"]
