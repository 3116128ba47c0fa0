"""Reading a subscript: the rows and columns ``X[i, :]``, ``X[:, j]`` or ``X[:, a:b]`` select, checked;
at rank 3 or more, the range along every axis ``x[a:b, :, k]`` selects.

Indices are 0-based and negative indices count from the end, as in NumPy; a
range is (start, stop) with the stop excluded.  Everything is checked here,
where the user wrote it; the node types are in :mod:`symbackprop.tensor.indexing`
(matrices) and :mod:`symbackprop.tensor.slicing` (rank 3 or more).
"""

from __future__ import annotations

import operator
from typing import Any

import sympy as sp

from ..errors import IndexOutOfRangeError, InvalidAxisError, InvalidIndexError
from .base import shape_text

#: A range of rows or columns: (start, stop), 0-based, stop excluded.
Span = tuple[int, int]
Shape = tuple[int, ...]

AXIS_NAMES = ("row", "column")


def _axis_name(axis: int, rank: int) -> str:
    return AXIS_NAMES[axis] if rank == 2 else f"axis {axis}"


def _length_text(size: int, axis: int, rank: int) -> str:
    """How many entries an axis has: "3 rows" of a matrix, "3 entries along axis 2" of a tensor of rank 3."""
    if rank == 2:
        return f"{size} {AXIS_NAMES[axis]}{'s' if size != 1 else ''}"
    return f"{size} entr{'ies' if size != 1 else 'y'} along axis {axis}"


def span_text(span: Span, size: int) -> str:
    """NumPy's spelling of a range: ':' for all of it, 'i' for one index, 'a:b' otherwise."""
    start, stop = span
    if (start, stop) == (0, size):
        return ":"
    if stop == start + 1:
        return str(start)
    return f"{start}:{stop}"


def index_text(span: Span, size: int) -> str:
    """A range as the documents print it, 1-based with both ends included: ':' for all of it, 'i', 'a:b'."""
    start, stop = span
    if (start, stop) == (0, size):
        return ":"
    if stop == start + 1:
        return str(start + 1)
    return f"{start + 1}:{stop}"


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


def spans_along(key: Any, shape: Shape, what: str) -> tuple[Span, ...]:
    """The range along each axis of a tensor of rank 3 or more that a subscript selects.

    Missing trailing indices take the whole axis and one ``...`` stands for as many whole axes as the
    other indices leave, as in NumPy; an integer keeps its axis with length 1, as a matrix's row stays
    a 1×n row (``x.reshape`` drops it).
    """
    keys = key if isinstance(key, tuple) else (key,)
    rank = len(shape)
    if sum(k is Ellipsis for k in keys) > 1:
        raise InvalidIndexError(f"cannot index {what} of shape {shape_text(shape)} with {key!r}: "
                                "'...' may stand once")
    if Ellipsis in keys:
        at = next(i for i, k in enumerate(keys) if k is Ellipsis)
        keys = keys[:at] + (slice(None),) * (rank - len(keys) + 1) + keys[at + 1:]
    if len(keys) > rank:
        raise InvalidIndexError(
            f"cannot index {what} of shape {shape_text(shape)} with {len(keys)} indices: it has {rank} axes, "
            "one index (an integer or a range a:b) for each at most"
        )
    keys = keys + (slice(None),) * (rank - len(keys))
    return tuple(_span(k, shape, axis, what) for axis, k in enumerate(keys))


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
                f"the {_axis_name(axis, len(shape))} range {_slice_text(key)} of {what} of shape {shape_text(shape)} "
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
            f"{_axis_name(axis, len(shape))} {'bound' if stop else 'index'} {index} is out of range for {what} "
            f"of shape {shape_text(shape)}: it has {_length_text(size, axis, len(shape))} (indices {limits})"
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
