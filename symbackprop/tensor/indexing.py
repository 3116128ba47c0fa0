"""Indexing and joining, everything about them: rows, columns and blocks of a tensor, and tensors side by side.

``X[i, :]``, ``X[:, j]``, ``X[i, j]`` and ``X[:, a:b]`` are :class:`Slice` nodes
(the subscript read in :mod:`symbackprop.tensor.subscripts`); ``concat([a, b], axis)``
is a :class:`Concat`; the gradient of a slice is the upstream gradient placed back
into zeros, an :class:`Embed`.  Here are the node types and their constructors, their
chain-rule steps and rule sentences, their NumPy kernels and what each interpreter
does with them (code, closed forms, operation counts, LaTeX, graph labels).

The kernels take arrays that may carry a leading batch axis, so a matrix's rows are
NumPy's axis −2 and its columns axis −1; a part shared by every sample is broadcast
to the batch before it is joined to one that is not.  Printed indices are 1-based,
as a textbook counts (X[:, 0] is the first column, X_{:,1}); a range a:b includes
both ends (X[:, 1:3] is X_{:,2:3}).  Joined blocks and zeros are block matrices.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from ..errors import InvalidIndexError, ShapeMismatchError
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, spec_function, vjp
from .algebra import as_tensor
from .base import shape_text
from .gather import indexed, is_index_key
from .joining import concat_along
from .nodes import Shape, Tensor, Unary
from .slicing import select_along
from .subscripts import AXIS_NAMES, Span, index_text, normalize_axis, span_text, spans_of


@dataclass(frozen=True, eq=False, repr=False)
class Slice(Unary):
    """The rows ``rows`` and columns ``columns`` of a tensor."""

    operand: Tensor
    rows: Span
    columns: Span

    @cached_property
    def shape(self) -> Shape:
        return (self.rows[1] - self.rows[0], self.columns[1] - self.columns[0])

    def __repr__(self) -> str:
        rows, columns = self.operand.shape
        return f"{self.operand!r}[{span_text(self.rows, rows)}, {span_text(self.columns, columns)}]"


@dataclass(frozen=True, eq=False, repr=False)
class Embed(Unary):
    """A tensor placed at ``rows`` and ``columns`` of a zero matrix of shape ``outer``: a slice's gradient."""

    operand: Tensor
    outer: Shape
    rows: Span
    columns: Span

    @cached_property
    def shape(self) -> Shape:
        return self.outer

    def __repr__(self) -> str:
        return (f"embed({self.operand!r} at [{span_text(self.rows, self.outer[0])}, "
                f"{span_text(self.columns, self.outer[1])}] of zeros{self.outer})")


@dataclass(frozen=True, eq=False, repr=False)
class Concat(Tensor):
    """Tensors stacked along ``axis``: 0 puts them one below the other, 1 side by side."""

    parts: tuple[Tensor, ...]
    axis: int

    @cached_property
    def shape(self) -> Shape:
        sizes = [part.shape[self.axis] for part in self.parts]
        other = self.parts[0].shape[1 - self.axis]
        return (sum(sizes), other) if self.axis == 0 else (other, sum(sizes))

    @property
    def children(self) -> tuple[Tensor, ...]:
        return self.parts

    def spans(self) -> list[Span]:
        """Where each part sits along the axis."""
        found, start = [], 0
        for part in self.parts:
            stop = start + part.shape[self.axis]
            found.append((start, stop))
            start = stop
        return found

    def __repr__(self) -> str:
        return f"concat([{', '.join(repr(p) for p in self.parts)}], axis={self.axis})"


# -- constructors -----------------------------------------------------------------------------


def select(operand: Tensor, key: Any) -> Tensor:
    """``operand[key]``: checked, and folded where nothing is cut away; by an input of integers, rows
    (``C[idx]``) or one entry per row (``x[range(n), y]``), in :mod:`.gather`; of a tensor of rank 3 or
    more, ranges along its axes, in :mod:`.slicing`."""
    if is_index_key(key):
        return indexed(operand, key)
    if operand.rank > 2:
        return select_along(operand, key)
    rows, columns = spans_of(key, operand.shape, repr(operand))
    return slice_of(operand, rows, columns)


def slice_of(operand: Tensor, rows: Span, columns: Span) -> Tensor:
    if (rows, columns) == ((0, operand.shape[0]), (0, operand.shape[1])):
        return operand
    if isinstance(operand, Slice):  # a slice of a slice is one slice
        return slice_of(operand.operand, _within(operand.rows, rows), _within(operand.columns, columns))
    if isinstance(operand, Concat):  # exactly one part of a concatenation is that part
        along = rows if operand.axis == 0 else columns
        across = columns if operand.axis == 0 else rows
        if across == (0, operand.shape[1 - operand.axis]):
            for part, span in zip(operand.parts, operand.spans()):
                if span == along:
                    return part
    if isinstance(operand, Embed) and (rows, columns) == (operand.rows, operand.columns):
        return operand.operand
    return Slice(operand, rows, columns)


def _within(outer: Span, inner: Span) -> Span:
    return (outer[0] + inner[0], outer[0] + inner[1])


def embed(operand: Tensor, outer: Shape, rows: Span, columns: Span) -> Tensor:
    if (rows, columns) == ((0, outer[0]), (0, outer[1])):
        return operand
    return Embed(operand, outer, rows, columns)


def concat(parts: Iterable[Any], axis: Any = 0) -> Tensor:
    """Tensors (or scalars, as 1×1) stacked along ``axis``: 0 one below the other, 1 side by side; tensors of
    rank 3 or more along any of their axes, in :mod:`.joining`."""
    if isinstance(parts, (Tensor, str)) or not isinstance(parts, Iterable):
        raise InvalidIndexError(
            f"concat takes a list of tensors, as in concat([a, b], axis=0); got {type(parts).__name__}"
        )
    parts = list(parts)
    if not parts:
        raise ShapeMismatchError("concat needs at least one tensor")
    if any(isinstance(part, Tensor) and part.rank > 2 for part in parts):
        return concat_along([as_tensor(part) for part in parts], axis)
    axis = normalize_axis(axis)
    if not any(isinstance(part, Tensor) for part in parts) and any(isinstance(p, sp.MatrixBase) for p in parts):
        return _concat_elements(parts, axis)
    tensors = [as_tensor(part) for part in parts]
    other = 1 - axis
    first = tensors[0]
    for part in tensors[1:]:
        if part.shape[other] != first.shape[other]:
            joined = "rows" if axis == 0 else "columns"
            raise ShapeMismatchError(
                f"cannot concatenate {first!r} of shape {shape_text(first.shape)} and {part!r} of shape "
                f"{shape_text(part.shape)} along axis {axis} ({joined}): their "
                f"{AXIS_NAMES[other]} counts {first.shape[other]} and {part.shape[other]} differ"
            )
    flat: list[Tensor] = []
    for part in tensors:
        flat.extend(part.parts if isinstance(part, Concat) and part.axis == axis else (part,))
    return flat[0] if len(flat) == 1 else Concat(tuple(flat), axis)


def _concat_elements(parts: list[Any], axis: int) -> Any:
    """The scalar level: SymPy matrices (and scalars, as 1×1) joined into one matrix."""
    matrices = [part if isinstance(part, sp.MatrixBase) else sp.ImmutableMatrix([[part]]) for part in parts]
    other = 1 - axis
    for matrix in matrices[1:]:
        if matrix.shape[other] != matrices[0].shape[other]:
            raise ShapeMismatchError(
                f"cannot concatenate shape {shape_text(matrices[0].shape)} and shape {shape_text(matrix.shape)} "
                f"along axis {axis}: their {AXIS_NAMES[other]} counts differ"
            )
    join = sp.Matrix.vstack if axis == 0 else sp.Matrix.hstack
    return sp.ImmutableMatrix(join(*matrices))


@spec_function("concat")
def _spec_concat(*parts: Any, axis: Any = 0) -> Any:
    """``concat(a, b, ..., axis=0)``: the parts one below the other (axis 0) or side by side (axis 1)."""
    return concat(parts, axis)


# -- the chain rule ------------------------------------------------------------------------------

register("slice", "a slice passes its gradient back to the entries it took; every other entry receives 0",
         "슬라이스: gradient를 가져온 원소 자리로 되돌리고, 나머지 원소는 0을 받음")
register("concat", "a concatenation splits its gradient: each part receives the block where it sits",
         "이어 붙이기(concat): gradient를 나누어 각 부분이 자기 자리의 블록을 받음")
register("embed", "entries placed into zeros receive the gradient of the block they were placed at",
         "0 행렬에 놓인 원소는 놓인 자리 블록의 gradient를 받음")


@vjp(Slice)
def _slice_vjp(op: Slice, g: Tensor) -> list[Pull]:
    return [Pull(op.operand, embed(g, op.operand.shape, op.rows, op.columns), "slice", None, Product.OTHER)]


@vjp(Concat)
def _concat_vjp(op: Concat, g: Tensor) -> list[Pull]:
    result = []
    rows, columns = op.shape
    for part, span in zip(op.parts, op.spans()):
        block = (span, (0, columns)) if op.axis == 0 else ((0, rows), span)
        result.append(Pull(part, slice_of(g, *block), "concat", None, Product.OTHER))
    return result


@vjp(Embed)
def _embed_vjp(op: Embed, g: Tensor) -> list[Pull]:
    return [Pull(op.operand, slice_of(g, op.rows, op.columns), "embed", None, Product.OTHER)]


# -- the NumPy kernels ----------------------------------------------------------------------------

def _embed(g, rows, columns, row_start, row_stop, column_start, column_stop):
    """g placed at [row_start:row_stop, column_start:column_stop] of zeros of shape (…, rows, columns)."""
    g = np.asarray(g, dtype=float)
    if g.ndim < 2:
        g = g.reshape(g.shape + (1,) * (2 - g.ndim))
    result = np.zeros(g.shape[:-2] + (rows, columns))
    result[..., row_start:row_stop, column_start:column_stop] = g
    return result


def _concat(axis, *parts):
    """Matrices joined along axis 0 (rows, NumPy's −2) or 1 (columns, −1), batch axes broadcast."""
    arrays = [np.asarray(p, dtype=float) for p in parts]
    arrays = [a.reshape(a.shape + (1,) * (2 - a.ndim)) if a.ndim < 2 else a for a in arrays]
    leading = np.broadcast_shapes(*(a.shape[:-2] for a in arrays))
    return np.concatenate([np.broadcast_to(a, leading + a.shape[-2:]) for a in arrays], axis=axis - 2)


# -- the interpreters ----------------------------------------------------------------------------

def _range(span: Span) -> ast.expr:
    return ast.Slice(ast.Constant(span[0]), ast.Constant(span[1]), None)


@interprets("code", Slice)
def _slice_code(emitter: Any, node: Slice) -> ast.expr:
    # X[..., a:b, c:d]: a slice of a NumPy array is a view, nothing is copied
    index = ast.Tuple([ast.Constant(Ellipsis), _range(node.rows), _range(node.columns)], ast.Load())
    return ast.Subscript(emitter.tensor(node.operand), index, ast.Load())


@interprets("code", Embed)
def _embed_code(emitter: Any, node: Embed) -> ast.expr:
    emitter.namespace["_embed"] = _embed
    numbers = [*node.outer, *node.rows, *node.columns]
    return ast.Call(ast.Name("_embed", ast.Load()),
                    [emitter.tensor(node.operand), *(ast.Constant(n) for n in numbers)], [])


@interprets("code", Concat)
def _concat_code(emitter: Any, node: Concat) -> ast.expr:
    emitter.namespace["_concat"] = _concat
    return ast.Call(ast.Name("_concat", ast.Load()),
                    [ast.Constant(node.axis), *(emitter.tensor(p) for p in node.parts)], [])


@interprets("explicit", Slice)
def _slice_explicit(closed: Any, node: Slice) -> sp.ImmutableMatrix:
    (a, b), (c, d) = node.rows, node.columns
    return sp.ImmutableMatrix(closed.visit(node.operand)[a:b, c:d])


@interprets("explicit", Embed)
def _embed_explicit(closed: Any, node: Embed) -> sp.ImmutableMatrix:
    result = sp.zeros(*node.outer)
    result[node.rows[0]:node.rows[1], node.columns[0]:node.columns[1]] = closed.visit(node.operand)
    return sp.ImmutableMatrix(result)


@interprets("explicit", Concat)
def _concat_explicit(closed: Any, node: Concat) -> sp.ImmutableMatrix:
    join = sp.Matrix.vstack if node.axis == 0 else sp.Matrix.hstack
    return sp.ImmutableMatrix(join(*(closed.visit(p) for p in node.parts)))


@interprets("count", Slice)
def _slice_count(counter: Any, node: Slice) -> int:
    return counter.count(node.operand)  # reading entries, no arithmetic


@interprets("count", Embed)
def _embed_count(counter: Any, node: Embed) -> int:
    return counter.count(node.operand)  # placing into zeros, like a broadcast, is free


@interprets("count", Concat)
def _concat_count(counter: Any, node: Concat) -> int:
    return sum(counter.count(part) for part in node.parts)


def subscript(rows: tuple[int, int], columns: tuple[int, int], shape: Shape) -> str:
    row_text, column_text = index_text(rows, shape[0]), index_text(columns, shape[1])
    if shape[1] == 1:
        return row_text
    if shape[0] == 1:
        return column_text
    return f"{row_text},{column_text}"


def _zeros(rows: int, columns: int) -> str:
    return rf"\mathbf{{0}}_{{{rows} \times {columns}}}"


def _segments(span: tuple[int, int], size: int) -> list[tuple[int, bool]]:
    """The lengths before, inside and after a range (empty ones left out), and which is the range."""
    start, stop = span
    parts = [(start, False), (stop - start, True), (size - stop, False)]
    return [(length, inside) for length, inside in parts if length > 0]


def block_matrix(rows: list[list[str]]) -> str:
    return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(row) for row in rows) + r" \end{bmatrix}"


@interprets("latex", Slice)
def _slice_latex(printer: Any, node: Slice) -> Printed:
    operand = printer.print(node.operand)
    index = subscript(node.rows, node.columns, node.operand.shape)
    simple = operand.precedence >= Precedence.ATOM and not any(mark in operand.text for mark in "_^{}\\ ")
    base = operand.text if simple else rf"\left[{operand.text}\right]"
    return Printed(f"{base}_{{{index}}}", Precedence.ATOM)


@interprets("latex", Embed)
def _embed_latex(printer: Any, node: Embed) -> Printed:
    inner = printer.print(node.operand).text
    rows = []
    for height, row_inside in _segments(node.rows, node.outer[0]):
        rows.append([inner if row_inside and column_inside else _zeros(height, width)
                     for width, column_inside in _segments(node.columns, node.outer[1])])
    return Printed(block_matrix(rows), Precedence.ATOM)


@interprets("latex", Concat)
def _concat_latex(printer: Any, node: Concat) -> Printed:
    # past the matrix limit the middle parts are elided, as a matrix's middle entries are
    gap = r"\vdots" if node.axis == 0 else r"\cdots"
    parts = [gap if i is None else printer.print(node.parts[i]).text for i in printer.shown_indices(len(node.parts))]
    return Printed(block_matrix([[p] for p in parts] if node.axis == 0 else [parts]), Precedence.ATOM)


@interprets("dot", Slice)
def _slice_dot(writer: Any, node: Slice) -> str:
    return writer.apply(repr(node)[len(repr(node.operand)):], [node.operand])  # "[:, 1]", as written


@interprets("dot", Embed)
def _embed_dot(writer: Any, node: Embed) -> str:
    return writer.gradient_side(node)


@interprets("dot", Concat)
def _concat_dot(writer: Any, node: Concat) -> str:
    return writer.apply(f"concat, axis {node.axis}", list(node.parts), ordered=True)


served_generically(("factor_text",), Slice, Embed, Concat)
served_generically(("upstream",), Slice, Embed)


@interprets("upstream", Concat)
def _concat_upstream(products: Any, node: Concat) -> Tensor:
    return Concat(tuple(products.visit(part) for part in node.parts), node.axis)
