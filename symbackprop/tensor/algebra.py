"""Building trees: the only place shapes are checked and trivial trees folded."""

from __future__ import annotations

import math
from typing import Any

import sympy as sp

from ..errors import InvalidOperandError, ShapeMismatchError
from .axes import axis_sum, broadcast_shape, check_axis
from .base import shape_text
from .nodes import (
    Add,
    AddAll,
    Adjoint,
    AdjointSymbol,
    MatMul,
    Power,
    Scalar,
    Scale,
    Sum,
    Tensor,
    Transpose,
)


class Owner:
    """The network a handle belongs to: compared by identity, ignored by equality of trees."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<network {id(self):#x}>"


def as_tensor(value: Any, beside: Tensor | None = None) -> Tensor:
    """Lift a Tensor, SymPy scalar or number into a Tensor (scalars become 1×1).

    ``beside`` is the other operand, named in the message when ``value`` does not fit.
    """
    if isinstance(value, Tensor):
        return value
    partner = "" if beside is None else f" {beside!r}"
    if isinstance(value, (sp.MatrixBase, sp.MatrixExpr)):
        raise InvalidOperandError(
            f"an explicit SymPy matrix cannot be combined with the symbackprop tensor{partner}: the matrix "
            f"(shape {value.shape}) is a quantity declared with elements=True or an sp.Matrix; declare every "
            "quantity with elements=True for a scalar-level network, or none of them"
        )
    if isinstance(value, (int, float, sp.Basic)) and not isinstance(value, bool):
        expr = sp.sympify(value)  # numbers and SymPy objects only: no text reaches sympify
        if not isinstance(expr, sp.Expr):
            raise InvalidOperandError(f"cannot use {value!r} in a tensor expression")
        return Scalar(expr)
    raise InvalidOperandError(f"cannot use {type(value).__name__} {value!r} in a tensor expression")


def require_broadcastable(op: str, left: Tensor, right: Tensor) -> None:
    broadcast_shape(op, left, right)


def add(left: Tensor, right: Tensor) -> Tensor:
    require_broadcastable("add", left, right)
    return Add(left, right)


def add_all(terms: list[Tensor] | tuple[Tensor, ...]) -> Tensor:
    """The sum of ``terms`` as one flat node (a single term is itself)."""
    if not terms:
        raise InvalidOperandError("a sum needs at least one term")
    if any(term.rank != 2 for term in terms):
        for term in terms[1:]:
            broadcast_shape("add", terms[0], term)
        return terms[0] if len(terms) == 1 else AddAll(tuple(terms))
    rows, columns = terms[0].shape
    for term in terms[1:]:
        (a, b) = term.shape
        if a not in (rows, 1) and rows != 1 or b not in (columns, 1) and columns != 1:
            raise ShapeMismatchError(
                f"cannot add {term!r} of shape {shape_text(term.shape)} to a sum of shape "
                f"{shape_text((rows, columns))}: the shapes do not broadcast (each axis must have the same "
                "length or length 1)"
            )
        rows, columns = max(rows, a), max(columns, b)
    return terms[0] if len(terms) == 1 else AddAll(tuple(terms))


def matmul_of(left: Any, right: Any) -> Tensor:
    """``left @ right`` as written: a plain number is refused, since x @ 3 would print as x 3 (and 0.5 3)."""
    tensor = left if isinstance(left, Tensor) else right
    for operand in (left, right):
        if operand is not tensor and (isinstance(operand, (int, float)) or (
                isinstance(operand, sp.Expr) and operand.is_number)):
            raise InvalidOperandError(f"cannot take the matrix product of {tensor!r} and the number {operand}; "
                                      f"scale with * instead ({tensor!r} * {operand})")
    return matmul(as_tensor(left, tensor), as_tensor(right, tensor))


def matmul(left: Tensor, right: Tensor) -> Tensor:
    if right.rank > 2:
        return _batched_matmul(left, right)
    if left.shape[-1] != right.shape[0]:
        raise ShapeMismatchError(
            f"cannot multiply {left!r} of shape {shape_text(left.shape)} by "
            f"{right!r} of shape {shape_text(right.shape)}: inner dimensions "
            f"{left.shape[-1]} and {right.shape[0]} differ"
        )
    return MatMul(left, right)


def _batched_matmul(left: Tensor, right: Tensor) -> Tensor:
    """(…, m, k) @ (…, k, n), matrix by matrix, as torch.matmul: the leading axes broadcast (aligned from the
    last, each equal or of length 1; a matrix on the left is one matrix for every one of the stack)."""
    where = (f"cannot multiply {left!r} of shape {shape_text(left.shape)} by {right!r} of shape "
             f"{shape_text(right.shape)}")
    if left.shape[-1] != right.shape[-2]:
        raise ShapeMismatchError(f"{where}: inner dimensions {left.shape[-1]} and {right.shape[-2]} differ (the last "
                                 "axis of the left factor and the second-to-last of the right)")
    for a, b in zip(reversed(left.shape[:-2]), reversed(right.shape[:-2])):
        if a != b and 1 not in (a, b):
            raise ShapeMismatchError(f"{where}: the leading (stack) axes {shape_text(left.shape[:-2])} and "
                                     f"{shape_text(right.shape[:-2])} do not broadcast (each axis must have the "
                                     "same length or length 1)")
    return MatMul(left, right)


def scale(factor: Any, operand: Tensor) -> Tensor:
    factor = sp.sympify(factor)
    if factor == 1:
        return operand
    if isinstance(operand, Scale):
        return scale(factor * operand.factor, operand.operand)
    if isinstance(operand, Scalar):
        return Scalar(factor * operand.expr)
    return Scale(factor, operand)


def transpose(operand: Tensor) -> Tensor:
    if operand.rank != 2:
        raise InvalidOperandError(
            f"{operand!r} of shape {shape_text(operand.shape)} has rank {operand.rank}: .T is the transpose of "
            "a matrix; reorder the axes of a tensor of rank 3 or more with sbp.permute(x, axes)"
        )
    if isinstance(operand, Transpose):
        return operand.operand
    if isinstance(operand, Scalar):
        return operand
    return Transpose(operand)


def power(operand: Tensor, exponent: Any) -> Tensor:
    exponent = sp.sympify(exponent) if isinstance(exponent, (int, float, sp.Basic)) else exponent
    if not (isinstance(exponent, sp.Expr) and exponent.is_number and exponent.is_real):
        kind = "a tensor" if isinstance(exponent, Tensor) else (
            "a symbol" if isinstance(exponent, sp.Expr) and exponent.free_symbols else "not a real number")
        raise InvalidOperandError(
            f"cannot raise the tensor {operand!r} to the power {exponent!r} ({kind}): a tensor's exponent "
            "must be a constant real number, such as 2 or 0.5"
        )
    if exponent == 1:
        return operand
    return Power(operand, exponent)


def total(operand: Tensor, axis: Any = None) -> Tensor:
    """The sum of all entries (``axis=None``), of each column (``axis=0``, a row) or of each row (``axis=1``)."""
    axis = check_axis(axis, f"the sum of {operand!r}", operand.rank)
    if axis is not None:
        return axis_sum(operand, axis)
    return operand if operand.is_scalar else Sum(operand)


def mean(operand: Tensor, axis: Any = None) -> Tensor:
    """The mean of all entries, of each column (``axis=0``) or of each row (``axis=1``)."""
    axis = check_axis(axis, f"the mean of {operand!r}", operand.rank)
    count = math.prod(operand.shape) if axis is None else operand.shape[axis]
    return scale(sp.Rational(1, count), total(operand, axis))


def walk(tensor: Tensor):
    """Every node of a tree, parents before children (a node may repeat)."""
    stack = [tensor]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def free_scalars(tensor: Tensor) -> set[sp.Symbol]:
    """The SymPy symbols used by the scalar leaves of a tree."""
    found: set[sp.Symbol] = set()
    for node in walk(tensor):
        if isinstance(node, Scalar):
            found |= node.expr.free_symbols
        elif isinstance(node, Scale):
            found |= node.factor.free_symbols
    return found


def as_scalar_expr(value: Tensor) -> sp.Expr | None:
    """The SymPy scalar a 1×1 tree stands for, where that is immediate; else None."""
    if isinstance(value, Scalar):
        return value.expr
    if isinstance(value, Adjoint) and value.is_scalar:
        return AdjointSymbol(value.name)
    if isinstance(value, Scale):
        inner = as_scalar_expr(value.operand)
        return None if inner is None else value.factor * inner
    return None
