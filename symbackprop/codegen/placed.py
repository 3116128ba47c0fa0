"""A gradient gathered from slices: each slice's piece placed into one array, not each into its own zeros.

A quantity read in T slices (an RNN's inputs ``X[:, t]``, one per time step)
receives T edges, each the upstream gradient placed at its slice of zeros of
the quantity's shape.  Written edge by edge, that is T arrays of the whole
shape and a sum over them: time and memory quadratic in T.  The program
instead keeps each edge's piece as it is and writes the sum as one
:func:`_placed_sum`, which adds every piece into one array of zeros.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from ..tensor import Embed
from ..tensor.slicing import EmbedAlong
from .emitter import call, constant, name


def placement(result: Any) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]] | None:
    """(the whole shape, the ranges along its axes) where ``result`` places a piece into zeros, else None."""
    if isinstance(result, Embed):
        return tuple(result.outer), (tuple(result.rows), tuple(result.columns))
    if isinstance(result, EmbedAlong):
        return tuple(result.outer), tuple(tuple(span) for span in result.spans)
    return None


def placed_sum_code(outer: tuple[int, ...], pieces: list[tuple[str, tuple[tuple[int, int], ...]]],
                    namespace: dict[str, Any]) -> ast.expr:
    """``_placed_sum(outer, piece, ranges, piece, ranges, …)`` for the named pieces."""
    namespace["_placed_sum"] = _placed_sum
    arguments = [constant(outer)]
    for piece, ranges in pieces:
        arguments += [name(piece), constant(ranges)]
    return call("_placed_sum", *arguments)


def _placed_sum(outer, *placed):
    """The pieces (every other argument) each added at its ranges (the argument after it) of zeros of shape
    (…, *outer), the axes in front of a piece's own (a batch) broadcast."""
    pieces = [np.asarray(piece, dtype=float) for piece in placed[::2]]
    pieces = [p.reshape(p.shape + (1,) * (len(outer) - p.ndim)) if p.ndim < len(outer) else p for p in pieces]
    leading = np.broadcast_shapes(*(p.shape[:p.ndim - len(outer)] for p in pieces))
    total = np.zeros(leading + tuple(outer))
    for piece, ranges in zip(pieces, placed[1::2]):
        total[(Ellipsis, *(slice(start, stop) for start, stop in ranges))] += piece
    return total


def placed(outer: tuple[int, ...], piece: Any, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    """One edge's piece placed at its ranges of zeros of the whole shape: what the edge adds, as a document
    shows it."""
    return _placed_sum(outer, piece, ranges)


__all__ = ["placed", "placed_sum_code", "placement"]
