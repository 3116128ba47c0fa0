"""Slices of a tensor of rank 3 or more: ``x[a:b, :, k]``, a range of integers along every axis.

An integer keeps its axis with length 1 (``x[0]`` of a (2, 3, 4) tensor is (1, 3, 4)), as a matrix's row
``X[0, :]`` stays a 1×n row; ``x[0].reshape(3, 4)`` drops it. The subscript is read and checked in
:mod:`.subscripts`. The gradient of a slice is the upstream gradient placed back into zeros of the
operand's shape, an :class:`EmbedAlong`; the gradient of that is the slice again. The kernels keep any
axes in front of the tensor's own (a batch axis). Everything about the two operations is here: the node
types and their constructors, their rules, their kernels and what each interpreter does with them.
Matrices keep their own slices, printed as blocks, in :mod:`.indexing`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import UnsupportedRankError
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, takes_any_rank, vjp
from .base import shape_text
from .nodes import Shape, Tensor, Unary
from .subscripts import Span, index_text, span_text, spans_along


@dataclass(frozen=True, eq=False, repr=False)
class SliceAlong(Unary):
    """The range ``spans[k]`` along each axis k of ``operand``, a tensor of rank 3 or more."""

    operand: Tensor
    spans: tuple[Span, ...]

    @cached_property
    def shape(self) -> Shape:
        return tuple(stop - start for start, stop in self.spans)

    def __repr__(self) -> str:
        return f"{self.operand!r}[{_numpy_text(self.spans, self.operand.shape)}]"


@dataclass(frozen=True, eq=False, repr=False)
class EmbedAlong(Unary):
    """``operand`` placed at the ranges ``spans`` of zeros of shape ``outer``: the gradient of a slice."""

    operand: Tensor
    outer: Shape
    spans: tuple[Span, ...]

    @cached_property
    def shape(self) -> Shape:
        return self.outer

    def __repr__(self) -> str:
        return f"embed({self.operand!r} at [{_numpy_text(self.spans, self.outer)}] of zeros{self.outer})"


def _numpy_text(spans: tuple[Span, ...], shape: Shape) -> str:
    return ", ".join(span_text(span, size) for span, size in zip(spans, shape))


def _whole(shape: Shape) -> tuple[Span, ...]:
    return tuple((0, size) for size in shape)


# -- constructors -------------------------------------------------------------------------------


def select_along(operand: Tensor, key: Any) -> Tensor:
    """``operand[key]`` of a tensor of rank 3 or more, checked (the index and the bound where it is out of range)."""
    return slice_along(operand, spans_along(key, operand.shape, repr(operand)))


def slice_along(operand: Tensor, spans: tuple[Span, ...]) -> Tensor:
    """The ranges ``spans`` of ``operand``; folded where nothing is cut away or a slice undoes an embedding."""
    if spans == _whole(operand.shape):
        return operand
    if isinstance(operand, SliceAlong):  # a slice of a slice is one slice
        spans = tuple((outer[0] + inner[0], outer[0] + inner[1]) for outer, inner in zip(operand.spans, spans))
        return slice_along(operand.operand, spans)
    if isinstance(operand, EmbedAlong) and spans == operand.spans:
        return operand.operand
    # exactly one part of a concatenation is that part: joining.ConcatAlong answers part_at (it builds on this
    # module, so it is asked rather than imported)
    joined = getattr(operand, "part_at", None)
    part = joined(spans) if joined is not None else None
    return part if part is not None else SliceAlong(operand, spans)


def embed_along(operand: Tensor, outer: Shape, spans: tuple[Span, ...]) -> Tensor:
    return operand if spans == _whole(outer) else EmbedAlong(operand, outer, spans)


# -- the chain rule ------------------------------------------------------------------------------

register("slice_along", "a slice passes its gradient back to the entries it took; every other entry receives 0 "
                        "(the gradient placed into zeros of the operand's shape)",
         "슬라이스: gradient를 가져온 원소 자리로 되돌리고, 나머지 원소는 0을 받음 (operand 모양의 0 텐서에 놓음)")
register("embed_along", "entries placed into zeros receive the slice of the gradient where they were placed",
         "0 텐서에 놓인 원소는 놓인 자리의 gradient 슬라이스를 받음")


@vjp(SliceAlong)
def _slice_vjp(op: SliceAlong, g: Tensor) -> list[Pull]:
    return [Pull(op.operand, embed_along(g, op.operand.shape, op.spans), "slice_along", None, Product.OTHER)]


@vjp(EmbedAlong)
def _embed_vjp(op: EmbedAlong, g: Tensor) -> list[Pull]:
    return [Pull(op.operand, slice_along(g, op.spans), "embed_along", None, Product.OTHER)]


# -- the NumPy kernel (axes before the tensor's own, a batch axis, are kept in front) -------------

def _embedded(g, outer, *bounds):
    """``g`` placed at the ranges ``bounds`` (start, stop, start, stop, … one pair per axis) of zeros of the
    shape (…, *outer): zeros joined on either side along each axis, with no assignment into an array, so that
    JAX and torch run the same kernel."""
    g = np.asarray(g, dtype=float)
    lead = g.ndim - len(outer)
    for k, (start, stop) in enumerate(zip(bounds[::2], bounds[1::2])):
        axis = lead + k
        shape = tuple(g.shape)
        before, after = (shape[:axis] + (length,) + shape[axis + 1:] for length in (start, outer[k] - stop))
        g = np.concatenate([np.zeros(before), g, np.zeros(after)], axis=axis)
    return g


# -- the interpreters ----------------------------------------------------------------------------

def _range(span: Span) -> ast.expr:
    return ast.Slice(ast.Constant(span[0]), ast.Constant(span[1]), None)


@interprets("code", SliceAlong)
def _slice_code(emitter: Any, node: SliceAlong) -> ast.expr:
    # x[..., a:b, c:d, e:f]: a view, nothing copied; the "..." keeps a batch axis in front
    index = ast.Tuple([ast.Constant(Ellipsis), *(_range(span) for span in node.spans)], ast.Load())
    return ast.Subscript(emitter.tensor(node.operand), index, ast.Load())


@interprets("code", EmbedAlong)
def _embed_code(emitter: Any, node: EmbedAlong) -> ast.expr:
    emitter.namespace["_embedded"] = _embedded
    return emitter.call("_embedded", emitter.tensor(node.operand), emitter.constant(tuple(node.outer)),
                        *(emitter.constant(bound) for span in node.spans for bound in span))


@interprets("explicit", SliceAlong, EmbedAlong)
def _explicit(closed: Any, node: Unary) -> Any:
    raise UnsupportedRankError(f"closed forms are written for matrices; {node!r} has shape {shape_text(node.shape)}")


@interprets("count", SliceAlong, EmbedAlong)
def _count(counter: Any, node: Unary) -> int:
    return counter.count(node.operand)  # reading entries, or placing them into zeros, is no arithmetic


def _printed_spans(spans: tuple[Span, ...], shape: Shape) -> str:
    """1-based, both ends included, as a textbook indexes: x[0:2, :, 3] is x_{1:2,:,4}."""
    return ",".join(index_text(span, size) for span, size in zip(spans, shape))


@interprets("latex", SliceAlong)
def _slice_latex(printer: Any, node: SliceAlong) -> Printed:
    operand = printer.print(node.operand)
    simple = operand.precedence >= Precedence.ATOM and not any(mark in operand.text for mark in "_^{}\\ ")
    base = operand.text if simple else rf"\left[{operand.text}\right]"
    return Printed(f"{base}_{{{_printed_spans(node.spans, node.operand.shape)}}}", Precedence.ATOM)


@interprets("latex", EmbedAlong)
def _embed_latex(printer: Any, node: EmbedAlong) -> Printed:
    # zeros of the outer shape with the operand at the ranges: embed^{where}_{shape}(g)
    size = r" \times ".join(str(d) for d in node.outer)
    where = _printed_spans(node.spans, node.outer)
    return Printed(rf"\operatorname{{embed}}_{{{size}}}^{{[{where}]}}\left({printer.print(node.operand).text}\right)",
                   Precedence.ATOM)


@interprets("dot", SliceAlong)
def _slice_dot(writer: Any, node: SliceAlong) -> str:
    return writer.apply(f"[{_numpy_text(node.spans, node.operand.shape)}]", [node.operand])  # as written


@interprets("dot", EmbedAlong)
def _embed_dot(writer: Any, node: EmbedAlong) -> str:
    return writer.gradient_side(node)


@interprets("page_graph", SliceAlong)
def _page_graph(section: Any, node: SliceAlong) -> Any:
    return section.along(r"\operatorname{slice}", [node.operand])


served_generically(("factor_text", "upstream"), SliceAlong, EmbedAlong)


takes_any_rank(SliceAlong, EmbedAlong)

__all__ = ["EmbedAlong", "SliceAlong", "embed_along", "select_along", "slice_along"]
