"""Softmax and log-softmax along one axis of a tensor: the node types and their constructors.

``axis=0`` normalises each column (a column vector's entries, as in a
classifier's output), ``axis=1`` each row (a matrix of attention scores, one
distribution per query).  A tensor of rank 3 or more is normalised along any
one of its axes, counted from the front or (negative) from the back, as
``torch.softmax(x, dim=k)``: attention scores (heads, T, T) along the last.
The result has the operand's shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..errors import InvalidAxisError, InvalidOperandError
from .nodes import Tensor, Unary

#: Along which axis the entries are normalised: 0 down each column, 1 along each row.
DOWN_COLUMNS, ALONG_ROWS = 0, 1


@dataclass(frozen=True, eq=False, repr=False)
class Normalised(Unary):
    """A function of the entries of each column (``axis=0``) or each row (``axis=1``) taken together."""

    name: ClassVar[str] = "?"
    operand: Tensor
    axis: int

    @property
    def length(self) -> int:
        """How many entries each normalised slice has."""
        return self.operand.shape[self.axis]

    @property
    def slices(self) -> int:
        """How many columns (``axis=0``) or rows (``axis=1``), or slices along the axis, are normalised separately."""
        return math.prod(self.operand.shape) // self.length

    @property
    def along_vector(self) -> bool:
        """A column normalised down its entries, or a row along them: one distribution, a vector."""
        return self.operand.rank == 2 and self.slices == 1

    def __repr__(self) -> str:
        return f"{self.name}({self.operand!r}, axis={self.axis})"


@dataclass(frozen=True, eq=False, repr=False)
class Softmax(Normalised):
    """e^{zᵢ} / Σⱼ e^{zⱼ} over each slice: entries in (0, 1) that sum to 1."""

    name: ClassVar[str] = "softmax"


@dataclass(frozen=True, eq=False, repr=False)
class LogSoftmax(Normalised):
    """zᵢ − log Σⱼ e^{zⱼ} over each slice: the logarithm of the softmax, computed without forming it."""

    name: ClassVar[str] = "log_softmax"


def softmax_axis(axis: Any, where: str, rank: int = 2) -> int:
    """0 or 1 (a SymPy integer from a spec file too); anything else is refused, naming the two axes.

    A tensor of rank 3 or more takes any of its axes, from the front (0 … rank − 1) or from the back
    (−1 the last), returned counted from the front.
    """
    if isinstance(axis, sp.Integer):
        axis = int(axis)
    if rank > 2:
        if isinstance(axis, bool) or not isinstance(axis, int) or not -rank <= axis < rank:
            raise InvalidAxisError(
                f"{where}: axis {axis!r} is not an axis of a tensor of rank {rank}; use an axis from 0 to "
                f"{rank - 1} (or from -{rank} to -1, counted from the last), as torch.softmax's dim"
            )
        return axis % rank
    if isinstance(axis, bool) or not isinstance(axis, int) or axis not in (DOWN_COLUMNS, ALONG_ROWS):
        raise InvalidAxisError(
            f"{where}: axis {axis!r} is not an axis of a matrix; use axis=0 to normalise each column "
            "(the entries of a column vector) or axis=1 to normalise each row (attention scores)"
        )
    return axis


def _normalised(kind: type[Normalised], operand: Any, axis: Any) -> Tensor:
    if not isinstance(operand, Tensor):
        raise InvalidOperandError(
            f"{kind.name} takes a tensor (a vector or matrix of the network), not {type(operand).__name__} "
            f"{operand!r}"
        )
    return kind(operand, softmax_axis(axis, kind.name, operand.rank))


def softmax(operand: Tensor, axis: Any = DOWN_COLUMNS) -> Tensor:
    return _normalised(Softmax, operand, axis)


def log_softmax(operand: Tensor, axis: Any = DOWN_COLUMNS) -> Tensor:
    return _normalised(LogSoftmax, operand, axis)


__all__ = ["ALONG_ROWS", "DOWN_COLUMNS", "LogSoftmax", "Normalised", "Softmax", "log_softmax", "softmax",
           "softmax_axis"]
