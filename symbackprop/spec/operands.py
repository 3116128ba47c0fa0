"""The quantities a spec expression combines, so that one text means one network at either level.

At the vector level operators go straight to the tensor algebra.  At the scalar
level the operands are SymPy matrices, whose own ``*`` and ``**`` are matrix
products and powers and which refuse to add a scalar; here they act element by
element with scalars broadcasting, as tensors do, and a 1×1 result is a scalar.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import sympy as sp

from .. import tensor as T
from ..errors import ShapeMismatchError
from ..finite import number_problem
from ..tensor.subscripts import select_elements

__all__ = ["Operand", "as_matrix", "collapse", "scalar_number_problem", "unwrap"]


def _operator_pair(
    op: Callable[[Any, Any], Any],
) -> tuple[Callable[[Operand, Any], Operand], Callable[[Operand, Any], Operand]]:
    """The method for ``operand <op> other`` and the one for ``other <op> operand``."""

    def forward(self: Operand, other: Any) -> Operand:
        return Operand(_combine(op, self.value, unwrap(other)))

    def reflected(self: Operand, other: Any) -> Operand:
        return Operand(_combine(op, unwrap(other), self.value))

    return forward, reflected


class Operand:
    """A quantity inside a spec expression (see the module's docstring)."""

    __slots__ = ("value",)
    # SymPy hands binary operations to the operand with the higher priority.
    _op_priority = 1_000_000.0

    def __init__(self, value: Any) -> None:
        self.value = value

    __add__, __radd__ = _operator_pair(operator.add)
    __sub__, __rsub__ = _operator_pair(operator.sub)
    __mul__, __rmul__ = _operator_pair(operator.mul)
    __truediv__, __rtruediv__ = _operator_pair(operator.truediv)
    __matmul__, __rmatmul__ = _operator_pair(operator.matmul)
    __pow__, __rpow__ = _operator_pair(operator.pow)

    def __neg__(self) -> Operand:
        return Operand(_combine(operator.mul, sp.Integer(-1), self.value))

    def __getitem__(self, key: Any) -> Operand:
        if isinstance(self.value, T.Tensor):
            return Operand(self.value[key])
        return Operand(select_elements(self.value, key, _described(self.value)))


def _described(value: Any) -> str:
    return "a scalar" if not isinstance(value, sp.MatrixBase) else "a matrix"


def unwrap(value: Any) -> Any:
    return value.value if isinstance(value, Operand) else value


def scalar_number_problem(value: Any) -> str | None:
    """What is wrong with a scalar result (1/0, log(0), sqrt(-1), exp(1000)), if anything."""
    # Scalars only: they are small, and every such result is a scalar.
    # Tensors and matrices are checked once, whole, when the node is defined.
    value = unwrap(value)
    return number_problem(value) if isinstance(value, sp.Expr) else None


def collapse(value: Any) -> Any:
    """A 1×1 SymPy matrix is a scalar, as a 1×1 tensor is."""
    if isinstance(value, sp.MatrixBase) and value.shape == (1, 1):
        return value[0, 0]
    return value


def as_matrix(value: Any) -> sp.ImmutableMatrix:
    return value if isinstance(value, sp.MatrixBase) else sp.ImmutableMatrix([[value]])


_OPERATOR_TEXT = {
    operator.add: "add", operator.sub: "subtract", operator.mul: "multiply element-wise",
    operator.truediv: "divide", operator.matmul: "multiply", operator.pow: "raise",
}


def _combine(op: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    if not (isinstance(left, sp.MatrixBase) or isinstance(right, sp.MatrixBase)):
        return op(left, right)
    symbol = _OPERATOR_TEXT[op]
    if op is operator.matmul:
        if not (isinstance(left, sp.MatrixBase) and isinstance(right, sp.MatrixBase)):
            left, right = as_matrix(left), as_matrix(right)
        if left.shape[1] != right.shape[0]:
            raise ShapeMismatchError(
                f"cannot multiply shape {left.shape} by shape {right.shape}: inner dimensions "
                f"{left.shape[1]} and {right.shape[0]} differ"
            )
        return collapse(sp.ImmutableMatrix(left * right))
    if op is operator.pow:
        if isinstance(right, sp.MatrixBase):
            raise TypeError("the exponent must be a number")
        return collapse(left.applyfunc(lambda e: e**right))
    if isinstance(left, sp.MatrixBase) and isinstance(right, sp.MatrixBase):
        # a row or a column broadcasts along its axis of length 1, as NumPy and the tensor algebra do
        if any(a != b and 1 not in (a, b) for a, b in zip(left.shape, right.shape)):
            raise ShapeMismatchError(
                f"cannot {symbol} shape {left.shape} and shape {right.shape}: the shapes do not broadcast"
            )
        rows, columns = max(left.rows, right.rows), max(left.cols, right.cols)

        def entry(m: sp.MatrixBase, i: int, j: int) -> Any:
            return m[i if m.rows > 1 else 0, j if m.cols > 1 else 0]

        return collapse(sp.ImmutableMatrix(rows, columns, lambda i, j: op(entry(left, i, j), entry(right, i, j))))
    # A scalar broadcasts over the matrix, keeping its side of the operator.
    if isinstance(left, sp.MatrixBase):
        return collapse(left.applyfunc(lambda e: op(e, right)))
    return collapse(right.applyfunc(lambda e: op(left, e)))
