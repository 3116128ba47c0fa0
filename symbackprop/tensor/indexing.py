"""Indexing and joining: rows, columns and blocks of a tensor, and tensors side by side or stacked.

``X[i, :]``, ``X[:, j]``, ``X[i, j]`` and ``X[:, a:b]`` are :class:`Slice` nodes;
``concat([a, b], axis)`` is a :class:`Concat`; the gradient of a slice is the
upstream gradient placed back into zeros, an :class:`Embed`.  Indices are 0-based
and negative indices count from the end, as in NumPy; a range is (start, stop)
with the stop excluded.  Everything is checked here, where the user wrote it.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sympy as sp

from ..errors import IndexOutOfRangeError, InvalidAxisError, InvalidIndexError, ShapeMismatchError
from .algebra import as_tensor
from .base import shape_text
from .nodes import Shape, Tensor, Unary

#: A range of rows or columns: (start, stop), 0-based, stop excluded.
Span = tuple[int, int]

_AXIS_NAMES = ("row", "column")


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


def span_text(span: Span, size: int) -> str:
    """NumPy's spelling of a range: ':' for all of it, 'i' for one index, 'a:b' otherwise."""
    start, stop = span
    if (start, stop) == (0, size):
        return ":"
    if stop == start + 1:
        return str(start)
    return f"{start}:{stop}"


# -- reading a subscript ------------------------------------------------------------------------


def spans_of(key: Any, shape: Shape, what: str) -> tuple[Span, Span]:
    """The row and column ranges a subscript selects; ``what`` names the tensor in messages.

    ``X[i]`` and ``X[a:b]`` select rows, as in NumPy.  An integer keeps its
    axis (a row stays a 1×n row), since every value here is a matrix.
    """
    keys = key if isinstance(key, tuple) else (key, slice(None))
    if len(keys) != 2:
        raise InvalidIndexError(
            f"cannot index {what} of shape {shape_text(shape)} with {len(keys)} indices: "
            "a matrix takes two, as in X[0, :] or X[:, 1:3]"
        )
    return tuple(_span(k, shape, axis, what) for axis, k in enumerate(keys))  # type: ignore[return-value]


def _span(key: Any, shape: Shape, axis: int, what: str) -> Span:
    size = shape[axis]
    if isinstance(key, slice):
        if key.step is not None and _integer(key.step, shape, axis, what) != 1:
            raise InvalidIndexError(
                f"cannot index {what} of shape {shape_text(shape)} with the step {key.step}: "
                "only contiguous ranges (step 1) are supported"
            )
        start = 0 if key.start is None else _position(key.start, shape, axis, what, stop=False)
        stop = size if key.stop is None else _position(key.stop, shape, axis, what, stop=True)
        if stop <= start:
            raise IndexOutOfRangeError(
                f"the {_AXIS_NAMES[axis]} range {_slice_text(key)} of {what} of shape {shape_text(shape)} "
                "is empty: the stop must come after the start"
            )
        return (start, stop)
    index = _position(key, shape, axis, what, stop=False)
    return (index, index + 1)


def _position(value: Any, shape: Shape, axis: int, what: str, *, stop: bool) -> int:
    size = shape[axis]
    index = _integer(value, shape, axis, what)
    normalized = index + size if index < 0 else index
    if not 0 <= normalized <= size - (0 if stop else 1):
        limits = f"{-size}..{size}" if stop else f"{-size}..{size - 1}"
        raise IndexOutOfRangeError(
            f"{_AXIS_NAMES[axis]} {'bound' if stop else 'index'} {index} is out of range for {what} of shape "
            f"{shape_text(shape)}: it has {size} {_AXIS_NAMES[axis]}{'s' if size != 1 else ''} "
            f"(indices {limits})"
        )
    return normalized


def _integer(value: Any, shape: Shape, axis: int, what: str) -> int:
    if isinstance(value, bool) or (isinstance(value, sp.Basic) and not value.is_Integer):
        raise _not_an_index(value, shape, what)
    try:
        return int(value) if isinstance(value, sp.Integer) else operator.index(value)
    except TypeError:
        raise _not_an_index(value, shape, what) from None


def _not_an_index(value: Any, shape: Shape, what: str) -> InvalidIndexError:
    return InvalidIndexError(
        f"cannot index {what} of shape {shape_text(shape)} with {value!r}: an index is an integer "
        "constant or a range of integers, as in X[0, :] or X[:, 1:3]"
    )


def _slice_text(key: slice) -> str:
    return f"{'' if key.start is None else key.start}:{'' if key.stop is None else key.stop}"


# -- constructors -----------------------------------------------------------------------------


def select(operand: Tensor, key: Any) -> Tensor:
    """``operand[key]``: checked, and folded where nothing is cut away."""
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
    """Tensors (or scalars, as 1×1) stacked along ``axis``: 0 one below the other, 1 side by side."""
    if isinstance(parts, (Tensor, str)) or not isinstance(parts, Iterable):
        raise InvalidIndexError(
            f"concat takes a list of tensors, as in concat([a, b], axis=0); got {type(parts).__name__}"
        )
    parts = list(parts)
    if not parts:
        raise ShapeMismatchError("concat needs at least one tensor")
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
                f"{_AXIS_NAMES[other]} counts {first.shape[other]} and {part.shape[other]} differ"
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
                f"along axis {axis}: their {_AXIS_NAMES[other]} counts differ"
            )
    join = sp.Matrix.vstack if axis == 0 else sp.Matrix.hstack
    return sp.ImmutableMatrix(join(*matrices))


def select_elements(matrix: Any, key: Any, what: str) -> Any:
    """``matrix[key]`` of a SymPy matrix or scalar (the scalar level) with the tensors' rules; 1×1 is a scalar."""
    shape = matrix.shape if isinstance(matrix, sp.MatrixBase) else (1, 1)
    (a, b), (c, d) = spans_of(key, shape, what)
    if not isinstance(matrix, sp.MatrixBase):
        return matrix
    selected = sp.ImmutableMatrix(matrix[a:b, c:d])
    return selected[0, 0] if selected.shape == (1, 1) else selected


def normalize_axis(axis: Any) -> int:
    """0 (rows) or 1 (columns); −2 and −1 name them from the end, as in NumPy."""
    if isinstance(axis, bool) or not isinstance(axis, (int, sp.Integer)) or int(axis) not in (-2, -1, 0, 1):
        raise InvalidAxisError(
            f"axis {axis!r} is not an axis of a matrix: use 0 (stack rows) or 1 (side by side)"
        )
    return int(axis) % 2
