"""Along one axis: broadcasting a row or a column over a matrix, and sums over rows or columns.

An (m, n) matrix combines element-wise with an (m, 1) column, a (1, n) row or
a scalar as in NumPy: the smaller operand is repeated along the axis where its
length is 1.  Its gradient is then the sum of the gradient along that axis,
1ᵀ G for a row and G 1 for a column, an :class:`AxisSum`; the gradient of an
:class:`AxisSum` goes back by repeating it, 1 g for a row sum, g 1ᵀ for a
column sum, a :class:`BroadcastTo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sympy as sp

from ..errors import InvalidAxisError, ShapeMismatchError
from .base import shape_text
from .nodes import SCALAR_SHAPE, Shape, Sum, Tensor, Unary

#: The axis a matrix's entries are summed over: 0 sums each column (rows collapse), 1 each row.
ROWS, COLUMNS = 0, 1


@dataclass(frozen=True, eq=False, repr=False)
class AxisSum(Unary):
    """The sum over one axis: ``axis=0`` gives the (1, n) row of column sums, ``axis=1`` the (m, 1) column."""

    operand: Tensor
    axis: int

    @cached_property
    def shape(self) -> Shape:
        rows, columns = self.operand.shape
        return (1, columns) if self.axis == ROWS else (rows, 1)

    def __repr__(self) -> str:
        return f"sum({self.operand!r}, axis={self.axis})"


@dataclass(frozen=True, eq=False, repr=False)
class BroadcastTo(Unary):
    """A row, column or scalar repeated to a larger shape (the gradient of a sum over an axis)."""

    operand: Tensor
    target_shape: Shape

    @cached_property
    def shape(self) -> Shape:
        return self.target_shape

    def __repr__(self) -> str:
        return f"broadcast({self.operand!r}, {self.target_shape})"


def check_axis(axis: Any, where: str) -> int | None:
    """``None``, 0 or 1 as given; anything else is refused with the axes a matrix has."""
    if axis is None:
        return None
    if isinstance(axis, sp.Integer):
        axis = int(axis)
    if isinstance(axis, bool) or not isinstance(axis, int) or axis not in (ROWS, COLUMNS):
        raise InvalidAxisError(
            f"{where}: axis {axis!r} is not an axis of a matrix; use axis=0 (over the rows, giving a row), "
            "axis=1 (over the columns, giving a column) or axis=None (over every entry, giving a scalar)"
        )
    return axis


def broadcast_shape(op: str, left: Tensor, right: Tensor) -> Shape:
    """The shape of an element-wise result, as NumPy broadcasts two matrices; a mismatch names both shapes."""
    shape = []
    for a, b in zip(left.shape, right.shape):
        if a != b and 1 not in (a, b):
            raise ShapeMismatchError(
                f"cannot {op} {left!r} of shape {shape_text(left.shape)} and "
                f"{right!r} of shape {shape_text(right.shape)}: the shapes do not broadcast (each axis "
                "must have the same length or length 1, as a row, a column or a scalar)"
            )
        shape.append(max(a, b))
    return (shape[0], shape[1])


def axis_sum(operand: Tensor, axis: int) -> Tensor:
    """The sum over ``axis``; a sum over an axis of length 1 is the operand itself."""
    if operand.shape[axis] == 1:
        return operand
    if operand.shape[1 - axis] == 1:  # a row or column summed along its length: the sum of all entries
        return Sum(operand)
    return AxisSum(operand, axis)


def reduce_to(gradient: Tensor, shape: Shape) -> Tensor:
    """A gradient summed over the axes along which an operand of ``shape`` was broadcast."""
    if gradient.shape == shape:
        return gradient
    if shape == SCALAR_SHAPE:
        return gradient if gradient.is_scalar else Sum(gradient)
    for axis in (ROWS, COLUMNS):
        if shape[axis] == 1 and gradient.shape[axis] != 1:
            gradient = axis_sum(gradient, axis)
    return gradient


def broadcast_to(operand: Tensor, shape: Shape) -> Tensor:
    return operand if operand.shape == shape else BroadcastTo(operand, shape)


def broadcast_kind(operand: Shape, result: Shape) -> str | None:
    """How an operand of shape ``operand`` was repeated to ``result``: "scalar", "row", "column" or None."""
    if operand == result:
        return None
    if operand == SCALAR_SHAPE:
        return "scalar"
    return "row" if operand[0] == 1 else "column"


__all__ = ["COLUMNS", "ROWS", "AxisSum", "BroadcastTo", "axis_sum", "broadcast_kind", "broadcast_shape",
           "broadcast_to", "check_axis", "reduce_to"]
