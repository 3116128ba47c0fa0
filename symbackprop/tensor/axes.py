"""Along one axis: broadcasting a row or a column over a matrix, and sums over rows or columns.

An (m, n) matrix combines element-wise with an (m, 1) column, a (1, n) row or
a scalar as in NumPy: the smaller operand is repeated along the axis where its
length is 1.  Its gradient is then the sum of the gradient along that axis,
1ᵀ G for a row and G 1 for a column, an :class:`AxisSum`; the gradient of an
:class:`AxisSum` goes back by repeating it, 1 g for a row sum, g 1ᵀ for a
column sum, a :class:`BroadcastTo`.

Everything about the two operations is here: the node types and their
constructors, their chain-rule steps and rule sentences, and what each
interpreter does with them (code, closed forms, operation counts, LaTeX, graph
labels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from ..errors import InvalidAxisError, ShapeMismatchError
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, takes_any_rank, vjp
from .base import broadcast_lengths, shape_text
from .nodes import SCALAR_SHAPE, Shape, Sum, Tensor, Unary

#: The axis a matrix's entries are summed over: 0 sums each column (rows collapse), 1 each row.
ROWS, COLUMNS = 0, 1


@dataclass(frozen=True, eq=False, repr=False)
class AxisSum(Unary):
    """The sum over one axis: ``axis=0`` gives the (1, n) row of column sums, ``axis=1`` the (m, 1) column."""

    grouped_in_hadamard: ClassVar[bool] = True
    operand: Tensor
    axis: int

    @cached_property
    def shape(self) -> Shape:
        if self.operand.rank > 2:  # the summed axis kept with length 1, as keepdim=True
            return tuple(1 if k == self.axis else d for k, d in enumerate(self.operand.shape))
        rows, columns = self.operand.shape
        return (1, columns) if self.axis == ROWS else (rows, 1)

    def __repr__(self) -> str:
        return f"sum({self.operand!r}, axis={self.axis})"


@dataclass(frozen=True, eq=False, repr=False)
class BroadcastTo(Unary):
    """A row, column or scalar repeated to a larger shape (the gradient of a sum over an axis)."""

    grouped_in_hadamard: ClassVar[bool] = True
    operand: Tensor
    target_shape: Shape

    @cached_property
    def shape(self) -> Shape:
        return self.target_shape

    def __repr__(self) -> str:
        return f"broadcast({self.operand!r}, {self.target_shape})"


def check_axis(axis: Any, where: str, rank: int = 2) -> int | None:
    """``None``, 0 or 1 as given; anything else is refused with the axes a matrix has.

    A tensor of rank 3 or more takes any of its axes, counted from the front (0 … rank − 1) or, as in
    PyTorch, from the back (−1 the last).
    """
    if axis is None:
        return None
    if isinstance(axis, sp.Integer):
        axis = int(axis)
    if rank > 2:
        if isinstance(axis, bool) or not isinstance(axis, int) or not -rank <= axis < rank:
            raise InvalidAxisError(
                f"{where}: axis {axis!r} is not an axis of a tensor of rank {rank}; use an axis from 0 to "
                f"{rank - 1} (or from -{rank} to -1, counted from the last), or axis=None for every entry"
            )
        return axis % rank
    if isinstance(axis, bool) or not isinstance(axis, int) or axis not in (ROWS, COLUMNS):
        raise InvalidAxisError(
            f"{where}: axis {axis!r} is not an axis of a matrix; use axis=0 (over the rows, giving a row), "
            "axis=1 (over the columns, giving a column) or axis=None (over every entry, giving a scalar)"
        )
    return axis


def broadcast_shape(op: str, left: Tensor, right: Tensor) -> Shape:
    """The shape of an element-wise result, as NumPy broadcasts two matrices; a mismatch names both shapes."""
    if left.rank != 2 or right.rank != 2:  # aligned from the last axis, as NumPy and PyTorch align them
        for a, b in zip(reversed(left.shape), reversed(right.shape)):
            if a != b and 1 not in (a, b):
                raise ShapeMismatchError(
                    f"cannot {op} {left!r} of shape {shape_text(left.shape)} and "
                    f"{right!r} of shape {shape_text(right.shape)}: the shapes do not broadcast (aligned from "
                    "the last axis, each axis must have the same length or length 1)"
                )
        return broadcast_lengths(left.shape, right.shape)
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
    if operand.rank > 2:  # the axis is kept with length 1, so no sum of all entries (a 1×1) stands for it
        return AxisSum(operand, axis)
    if operand.shape[1 - axis] == 1:  # a row or column summed along its length: the sum of all entries
        return Sum(operand)
    return AxisSum(operand, axis)


def reduce_to(gradient: Tensor, shape: Shape) -> Tensor:
    """A gradient summed over the axes along which an operand of ``shape`` was broadcast."""
    if gradient.shape == shape:
        return gradient
    if shape == SCALAR_SHAPE:
        return gradient if gradient.is_scalar else Sum(gradient)
    if gradient.rank > 2 or len(shape) > 2:
        return _reduce_axes(gradient, shape)
    for axis in (ROWS, COLUMNS):
        if shape[axis] == 1 and gradient.shape[axis] != 1:
            gradient = axis_sum(gradient, axis)
    return gradient


def _reduce_axes(gradient: Tensor, shape: Shape) -> Tensor:
    """A gradient of higher rank summed over the axes an operand of ``shape`` was repeated along (aligned from
    the last axis), then brought to that shape: the leading axes NumPy added are dropped."""
    added = gradient.rank - len(shape)
    for axis, length in enumerate(gradient.shape):
        wanted = 1 if axis < added else shape[axis - added]
        if wanted == 1 and length != 1:
            gradient = axis_sum(gradient, axis)
    if gradient.shape == shape:
        return gradient
    from .reshape import reshape  # reshape builds on this module's sums: looked up when first used

    return reshape(gradient, *shape)


def broadcast_to(operand: Tensor, shape: Shape) -> Tensor:
    return operand if operand.shape == shape else BroadcastTo(operand, shape)


#: The rule of an operand repeated along an axis, by how it was repeated (see :func:`broadcast_kind`).
BROADCAST_RULES = {"scalar": "broadcast", "row": "broadcast_row", "column": "broadcast_column",
                   "axes": "broadcast_axes"}


def broadcast_back(operand: Tensor, result: Tensor, gradient: Tensor) -> tuple[Tensor, str | None]:
    """A scalar, row or column broadcast over ``result`` receives the gradient summed along the broadcast
    axes; the rule of that sum, or None where the operand was not broadcast."""
    kind = broadcast_kind(operand.shape, result.shape)
    if kind is None:
        return gradient, None
    return reduce_to(gradient, operand.shape), BROADCAST_RULES[kind]


def broadcast_kind(operand: Shape, result: Shape) -> str | None:
    """How an operand of shape ``operand`` was repeated to ``result``: "scalar", "row", "column" or None."""
    if operand == result:
        return None
    if operand == SCALAR_SHAPE:
        return "scalar"
    if len(operand) > 2 or len(result) > 2:  # repeated along some axes of a tensor of rank 3 or more
        return "axes"
    return "row" if operand[0] == 1 else "column"


# -- the chain rule ------------------------------------------------------------------------------

register("sum_rows", r"a sum over the rows sends each column's gradient to every entry of that column, $\mathbf{1} g$",
         r"행에 대한 합: 각 열의 gradient를 그 열의 모든 원소에 전달 ($\mathbf{1} g$)")
register("sum_columns",
         r"a sum over the columns sends each row's gradient to every entry of that row, $g \mathbf{1}^{\top}$",
         r"열에 대한 합: 각 행의 gradient를 그 행의 모든 원소에 전달 ($g \mathbf{1}^{\top}$)")


register("broadcast_axes",
         "a tensor repeated along some axes receives the gradient summed along those axes",
         "몇몇 축을 따라 반복된 텐서는 그 축들을 따라 더한 gradient를 받음")
register("sum_axis", "a sum along an axis sends each sum's gradient to every entry it added up",
         "한 축을 따라 더한 합: 각 합의 gradient를 더해진 모든 원소에 전달")


@vjp(AxisSum)
def _axis_sum_vjp(op: AxisSum, g: Tensor) -> list[Pull]:
    rule = "sum_axis" if op.operand.rank > 2 else "sum_rows" if op.axis == ROWS else "sum_columns"
    return [Pull(op.operand, broadcast_to(g, op.operand.shape), rule, None, Product.SUM)]


@vjp(BroadcastTo)
def _broadcast_to_vjp(op: BroadcastTo, g: Tensor) -> list[Pull]:
    gradient, rule = broadcast_back(op.operand, op, g)
    return [Pull(op.operand, gradient, rule or "add", None, Product.SUM)]


# -- the NumPy kernels of tensors of rank 3 or more (axes counted from the last: a batch axis may lead) ----

def _sum_along(a, axis):
    """The sum along one axis (negative: counted from the last), kept with length 1."""
    return np.sum(a, axis=axis, keepdims=True)


def _repeated_to(a, *shape):
    """``a`` repeated along its axes of length 1 to ``shape`` (the axes before those of ``shape`` kept)."""
    a = np.asarray(a, dtype=float)
    return np.array(np.broadcast_to(a, a.shape[:max(a.ndim - len(shape), 0)] + shape))


# -- the interpreters ----------------------------------------------------------------------------

@interprets("code", AxisSum)
def _axis_sum_code(emitter: Any, node: AxisSum) -> Any:
    if node.operand.rank > 2:
        emitter.namespace["_sum_along"] = _sum_along
        return emitter.call("_sum_along", emitter.tensor(node.operand),
                            emitter.constant(node.axis - node.operand.rank))
    return emitter.call("_axis_sum", emitter.tensor(node.operand), emitter.constant(node.axis))


@interprets("code", BroadcastTo)
def _broadcast_to_code(emitter: Any, node: BroadcastTo) -> Any:
    if node.rank > 2:
        emitter.namespace["_repeated_to"] = _repeated_to
        return emitter.call("_repeated_to", emitter.tensor(node.operand), *(emitter.constant(d) for d in node.shape))
    return emitter.call("_broadcast", emitter.tensor(node.operand), *(emitter.constant(d) for d in node.shape))


@interprets("explicit", AxisSum)
def _axis_sum_explicit(closed: Any, node: AxisSum) -> sp.ImmutableMatrix:
    value = closed.visit(node.operand)
    if node.axis == ROWS:
        return sp.ImmutableMatrix([[sum(value[:, j]) for j in range(value.cols)]])
    return sp.ImmutableMatrix([[sum(value[i, :])] for i in range(value.rows)])


@interprets("explicit", BroadcastTo)
def _broadcast_to_explicit(closed: Any, node: BroadcastTo) -> sp.ImmutableMatrix:
    return closed.repeated(closed.visit(node.operand), node.shape)


@interprets("count", AxisSum)
def _axis_sum_count(counter: Any, node: AxisSum) -> int:
    if node.operand.rank > 2:  # each entry of the operand added once, less one per sum
        return math.prod(node.operand.shape) - math.prod(node.shape) + counter.count(node.operand)
    rows, columns = node.operand.shape
    additions = (rows - 1) * columns if node.axis == ROWS else rows * (columns - 1)
    return additions + counter.count(node.operand)


@interprets("count", BroadcastTo)
def _broadcast_to_count(counter: Any, node: BroadcastTo) -> int:
    return counter.count(node.operand)  # repeating a value is no arithmetic


def _factor(printer: Any, operand: Tensor) -> str:
    """The operand of 1ᵀ X or X 1: parenthesised unless it binds as a product (an element-wise product is)."""
    return printer.wrapped(operand, Precedence.ATOM if operand.hadamard_product else Precedence.PRODUCT)


@interprets("latex", AxisSum)
def _axis_sum_latex(printer: Any, node: AxisSum) -> Printed:
    if node.operand.rank > 2:
        operand = printer.print(node.operand).text
        return Printed(rf"\textstyle\sum_{{\mathrm{{axis}}\,{node.axis}}} \left({operand}\right)", Precedence.PRODUCT)
    rows, columns = node.operand.shape
    operand = _factor(printer, node.operand)
    if node.axis == ROWS:  # 1ᵀ X: each column summed, a row
        return Printed(rf"\mathbf{{1}}_{{{rows}}}^{{\top}} \, {operand}", Precedence.PRODUCT)
    return Printed(rf"{operand} \, \mathbf{{1}}_{{{columns}}}", Precedence.PRODUCT)


@interprets("latex", BroadcastTo)
def _broadcast_to_latex(printer: Any, node: BroadcastTo) -> Printed:
    if node.rank > 2:
        size = r" \times ".join(str(d) for d in node.shape)
        operand = printer.print(node.operand).text
        return Printed(rf"\operatorname{{repeat}}_{{{size}}}\left({operand}\right)", Precedence.ATOM)
    rows, columns = node.shape
    operand = _factor(printer, node.operand)
    kind = broadcast_kind(node.operand.shape, node.shape)
    if kind == "row":  # 1 g: the row repeated down every row
        return Printed(rf"\mathbf{{1}}_{{{rows}}} \, {operand}", Precedence.PRODUCT)
    if kind == "column":  # g 1ᵀ: the column repeated across every column
        return Printed(rf"{operand} \, \mathbf{{1}}_{{{columns}}}^{{\top}}", Precedence.PRODUCT)
    return Printed(rf"{operand} \, \mathbf{{1}}_{{{rows} \times {columns}}}", Precedence.PRODUCT)


@interprets("dot", AxisSum)
def _axis_sum_dot(writer: Any, node: AxisSum) -> str:
    if node.operand.rank > 2:
        return writer.apply(f"Σ axis {node.axis}", [node.operand])
    return writer.apply("Σ rows" if node.axis == ROWS else "Σ columns", [node.operand])


@interprets("dot", BroadcastTo)
def _broadcast_to_dot(writer: Any, node: BroadcastTo) -> str:
    return writer.gradient_side(node)


served_generically(("factor_text", "upstream"), AxisSum, BroadcastTo)


takes_any_rank(AxisSum, BroadcastTo)

__all__ = ["BROADCAST_RULES", "COLUMNS", "ROWS", "AxisSum", "BroadcastTo", "broadcast_back", "axis_sum",
    "broadcast_kind", "broadcast_shape",
           "broadcast_to", "check_axis", "reduce_to"]
