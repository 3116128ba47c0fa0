"""The chain rule's paths: every way the loss reaches a quantity, counted and listed in one pass.

A path runs from the loss along the derivation's edges ([L, h2, z2, h1, z1, W1]).  Walking the edges
in the order the sweep recorded them reaches every source before its targets, so each quantity's
paths extend its sources' and the whole network costs one visit per edge.  Only the first
``limit`` paths of a quantity are listed, and of a long path only its first and last ``keep``
quantities: what a document shows stays bounded however deep the network is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..derivation import EDGE

if TYPE_CHECKING:
    from ..derivation import Derivation


@dataclass(frozen=True)
class Path:
    """A path from the loss: its first quantities (``head``), its last (``tail``) and its length.

    When ``head`` and ``tail`` together are shorter than ``length``, the quantities between them are
    left out (the path is ``head``, ⋯, ``tail``)."""

    head: tuple[str, ...]
    tail: tuple[str, ...]
    length: int

    @property
    def elided(self) -> bool:
        return len(self.head) + len(self.tail) < self.length

    @property
    def last(self) -> str:
        return (self.tail or self.head)[-1]

    def extended(self, name: str, keep: int) -> Path:
        if len(self.head) < keep:
            return Path((*self.head, name), (), self.length + 1)
        return Path(self.head, (*self.tail, name)[-keep:], self.length + 1)


@dataclass(frozen=True)
class Paths:
    """The first ``limit`` paths into each quantity and how many there are in all."""

    listed: dict[str, list[Path]]
    counts: dict[str, int]

    def into(self, name: str) -> tuple[list[Path], int]:
        return self.listed.get(name, []), self.counts.get(name, 0)


def chain_paths(derivation: Derivation, *, limit: int, keep: int) -> Paths:
    """Paths from the loss to every quantity it reaches: at most ``limit`` listed each, ``keep`` at each end."""
    loss = derivation.loss
    listed: dict[str, list[Path]] = {loss: [Path((loss,), (), 1)]}
    counts: dict[str, int] = {loss: 1}
    for step in derivation.steps:
        if step.kind != EDGE:
            continue
        counts[step.target] = counts.get(step.target, 0) + counts[step.source]
        into = listed.setdefault(step.target, [])
        for path in listed[step.source][:limit - len(into)]:
            into.append(path.extended(step.target, keep))
    return Paths(listed, counts)


__all__ = ["Path", "Paths", "chain_paths"]
