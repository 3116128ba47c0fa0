"""Tensors of rank 3 or more joined along any axis: ``sbp.concat([a, b], axis=k)``, as ``torch.cat``.

The parts have the same rank and the same lengths along every other axis. The gradient splits: each part
receives the slice of the upstream gradient where it sits, a :class:`~.slicing.SliceAlong`. The kernel
broadcasts a part shared by every sample to a batch axis in front before it is joined to one that is not.
Everything about the operation is here; matrices keep their own concatenation, printed as a block matrix,
in :mod:`.indexing`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import InvalidAxisError, ShapeMismatchError, UnsupportedRankError
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, takes_any_rank, vjp
from .base import shape_text
from .nodes import Shape, Tensor
from .slicing import Span, slice_along


@dataclass(frozen=True, eq=False, repr=False)
class ConcatAlong(Tensor):
    """``parts`` joined along ``axis`` (0 … rank − 1), every other axis of the same length."""

    parts: tuple[Tensor, ...]
    axis: int

    @cached_property
    def shape(self) -> Shape:
        first = self.parts[0].shape
        return (*first[:self.axis], sum(part.shape[self.axis] for part in self.parts), *first[self.axis + 1:])

    @property
    def children(self) -> tuple[Tensor, ...]:
        return self.parts

    def spans(self) -> list[Span]:
        """Where each part sits along the axis."""
        found, start = [], 0
        for part in self.parts:
            found.append((start, start + part.shape[self.axis]))
            start += part.shape[self.axis]
        return found

    def block(self, span: Span) -> tuple[Span, ...]:
        """The ranges of the whole that ``span`` along the axis takes."""
        return tuple(span if k == self.axis else (0, d) for k, d in enumerate(self.shape))

    def part_at(self, spans: tuple[Span, ...]) -> Tensor | None:
        """The part a slice of exactly its block takes (read by :func:`.slicing.slice_along` to fold it)."""
        for part, span in zip(self.parts, self.spans()):
            if self.block(span) == spans:
                return part
        return None

    def __repr__(self) -> str:
        return f"concat([{', '.join(repr(p) for p in self.parts)}], axis={self.axis})"


def concat_along(parts: list[Tensor], axis: Any) -> Tensor:
    """``parts`` (tensors of one rank, 3 or more) joined along ``axis``, counted from the front or, as in
    PyTorch, from the back (−1 the last)."""
    first = parts[0]
    rank = first.rank
    if any(part.rank != rank for part in parts):
        ranks = ", ".join(f"{part!r} of shape {shape_text(part.shape)}" for part in parts)
        raise UnsupportedRankError(f"cannot concatenate {ranks}: the parts must have the same rank, as in torch.cat; "
                                   "reshape the lower-ranked parts first (x.reshape(1, *shape) adds an axis)")
    try:
        index = None if isinstance(axis, bool) else operator.index(axis)
    except TypeError:
        index = None
    if index is None or not -rank <= index < rank:
        raise InvalidAxisError(f"cannot concatenate along axis {axis!r}: tensors of rank {rank} have the axes 0 to "
                               f"{rank - 1} (or -{rank} to -1, counted from the last)")
    axis = index % rank
    for part in parts[1:]:
        for k, (a, b) in enumerate(zip(first.shape, part.shape)):
            if k != axis and a != b:
                raise ShapeMismatchError(
                    f"cannot concatenate {first!r} of shape {shape_text(first.shape)} and {part!r} of shape "
                    f"{shape_text(part.shape)} along axis {axis}: their lengths along axis {k}, {a} and {b}, differ"
                )
    flat: list[Tensor] = []
    for part in parts:  # a concatenation of concatenations along the same axis is one
        flat.extend(part.parts if isinstance(part, ConcatAlong) and part.axis == axis else (part,))
    return flat[0] if len(flat) == 1 else ConcatAlong(tuple(flat), axis)


# -- the chain rule ------------------------------------------------------------------------------

register("concat_along", "a concatenation splits its gradient: each part receives the slice where it sits",
         "이어 붙이기(concat): gradient를 나누어 각 부분이 자기 자리의 슬라이스를 받음")


@vjp(ConcatAlong)
def _concat_vjp(op: ConcatAlong, g: Tensor) -> list[Pull]:
    return [Pull(part, slice_along(g, op.block(span)), "concat_along", None, Product.OTHER)
            for part, span in zip(op.parts, op.spans())]


# -- the NumPy kernel (axes before the tensor's own, a batch axis, are kept in front) -------------

def _joined(rank, axis, *parts):
    """``parts`` joined along their axis ``axis`` of ``rank``; a part without the batch axis in front is
    broadcast to it."""
    arrays = [np.asarray(part, dtype=float) for part in parts]
    leading = np.broadcast_shapes(*(a.shape[:a.ndim - rank] for a in arrays))
    return np.concatenate([np.broadcast_to(a, leading + a.shape[a.ndim - rank:]) for a in arrays],
                          axis=axis - rank)


# -- the interpreters ----------------------------------------------------------------------------

@interprets("code", ConcatAlong)
def _code(emitter: Any, node: ConcatAlong) -> Any:
    emitter.namespace["_joined"] = _joined
    return emitter.call("_joined", emitter.constant(node.rank), emitter.constant(node.axis),
                        *(emitter.tensor(part) for part in node.parts))


@interprets("explicit", ConcatAlong)
def _explicit(closed: Any, node: ConcatAlong) -> Any:
    raise UnsupportedRankError(f"closed forms are written for matrices; {node!r} has shape {shape_text(node.shape)}")


@interprets("count", ConcatAlong)
def _count(counter: Any, node: ConcatAlong) -> int:
    return sum(counter.count(part) for part in node.parts)  # laying entries side by side is no arithmetic


@interprets("latex", ConcatAlong)
def _latex(printer: Any, node: ConcatAlong) -> Printed:
    # past the matrix limit the middle parts are elided, as a matrix's middle entries are
    parts = [r"\ldots" if i is None else printer.print(node.parts[i]).text
             for i in printer.shown_indices(len(node.parts))]
    return Printed(rf"\operatorname{{concat}}_{{{node.axis}}}\left({', '.join(parts)}\right)", Precedence.ATOM)


@interprets("dot", ConcatAlong)
def _dot(writer: Any, node: ConcatAlong) -> str:
    return writer.apply(f"concat, axis {node.axis}", list(node.parts), ordered=True)


@interprets("page_graph", ConcatAlong)
def _page_graph(section: Any, node: ConcatAlong) -> Any:
    return section.along(r"\operatorname{concat}", list(node.parts))


served_generically(("factor_text",), ConcatAlong)


@interprets("upstream", ConcatAlong)
def _upstream(products: Any, node: ConcatAlong) -> Tensor:
    return ConcatAlong(tuple(products.visit(part) for part in node.parts), node.axis)


takes_any_rank(ConcatAlong)

__all__ = ["ConcatAlong", "concat_along"]
