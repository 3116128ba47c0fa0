"""``sbp.permute(x, axes)``: the axes of a tensor reordered, as ``torch.permute``.

Axis i of the result is axis ``axes[i]`` of the operand. Its gradient is the upstream gradient with
the inverse permutation applied. On a matrix the one reordering there is, (1, 0), is the transpose
``x.T``. Everything about the operation is here: the node type and its constructor, its rule, its
kernel and what each interpreter does with it.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import InvalidAxisError, InvalidOperandError, UnsupportedRankError
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, spec_function, takes_any_rank, vjp
from .algebra import transpose
from .base import Shape, Tensor, shape_text
from .nodes import Unary


@dataclass(frozen=True, eq=False, repr=False)
class Permute(Unary):
    """``operand`` with its axes reordered: axis i of the result is axis ``axes[i]`` of the operand."""

    operand: Tensor
    axes: tuple[int, ...]

    @cached_property
    def shape(self) -> Shape:
        return tuple(self.operand.shape[axis] for axis in self.axes)

    def __repr__(self) -> str:
        return f"permute({self.operand!r}, {self.axes})"


def _order(axes: tuple[Any, ...], operand: Tensor) -> tuple[int, ...]:
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])  # permute(x, (2, 0, 1)) as well as x.permute(2, 0, 1)
    rank = operand.rank
    where = f"cannot permute {operand!r} of shape {shape_text(operand.shape)} by {axes!r}"
    try:
        order = tuple(operator.index(axis) % rank if -rank <= operator.index(axis) < rank else None
                      for axis in axes if not isinstance(axis, bool))
    except TypeError:
        raise InvalidAxisError(f"{where}: the axes must be integers") from None
    if len(order) != rank or None in order or sorted(order) != list(range(rank)):
        raise InvalidAxisError(f"{where}: give each of its {rank} axes (0 to {rank - 1}, or -1 for the last) "
                               "exactly once, in the order the result takes them")
    return order


@spec_function("permute")
def permute(operand: Tensor, *axes: Any) -> Tensor:
    """``operand`` with its axes in the order ``axes`` (a permutation of 0 … rank − 1), as ``torch.permute``."""
    if not isinstance(operand, Tensor):
        raise InvalidOperandError(f"cannot permute {operand!r}: permute takes a tensor of the network")
    order = _order(axes, operand)
    if order == tuple(range(operand.rank)):
        return operand
    if operand.rank == 2:
        return transpose(operand)  # the one reordering of a matrix's axes, printed as ᵀ
    if isinstance(operand, Permute):  # two reorderings are one
        return permute(operand.operand, tuple(operand.axes[axis] for axis in order))
    return Permute(operand, order)


def matrix_transpose(operand: Tensor) -> Tensor:
    """Each matrix of a stack transposed (its last two axes swapped, as ``torch.transpose(x, -2, -1)``); a
    matrix's transpose ``x.T``."""
    rank = operand.rank
    return permute(operand, (*range(rank - 2), rank - 1, rank - 2))


def inverse(axes: tuple[int, ...]) -> tuple[int, ...]:
    """The reordering that undoes ``axes``."""
    undone = [0] * len(axes)
    for position, axis in enumerate(axes):
        undone[axis] = position
    return tuple(undone)


# -- the chain rule ------------------------------------------------------------------------------

register("permute", "a reordering of the axes sends the gradient back with the inverse reordering",
         "축의 순서 바꾸기: gradient를 역순서로 되돌려 보냄")


@vjp(Permute)
def _permute_vjp(op: Permute, g: Tensor) -> list[Pull]:
    return [Pull(op.operand, permute(g, inverse(op.axes)), "permute", None, Product.OTHER)]


# -- the NumPy kernel (axes before the operand's, a batch axis, are kept in front) ----------------

def _permuted(a, *axes):
    """``a`` with its last len(axes) axes reordered as ``axes``."""
    lead = np.ndim(a) - len(axes)
    return np.transpose(a, tuple(range(lead)) + tuple(lead + axis for axis in axes))


# -- the interpreters ----------------------------------------------------------------------------

@interprets("code", Permute)
def _code(emitter: Any, node: Permute) -> Any:
    emitter.namespace["_permuted"] = _permuted
    return emitter.call("_permuted", emitter.tensor(node.operand), *(emitter.constant(a) for a in node.axes))


@interprets("explicit", Permute)
def _explicit(closed: Any, node: Permute) -> Any:
    raise UnsupportedRankError("closed forms are written for matrices; a permutation reorders a tensor of rank 3 "
                            "or more")


@interprets("count", Permute)
def _count(counter: Any, node: Permute) -> int:
    return counter.count(node.operand)  # moving entries is no arithmetic


@interprets("latex", Permute)
def _latex(printer: Any, node: Permute) -> Printed:
    order = ", ".join(str(axis) for axis in node.axes)
    return Printed(rf"\operatorname{{permute}}_{{({order})}}\left({printer.print(node.operand).text}\right)",
                   Precedence.ATOM)


@interprets("dot", Permute)
def _dot(writer: Any, node: Permute) -> str:
    return writer.apply("permute " + ",".join(str(axis) for axis in node.axes), [node.operand])


@interprets("page_graph", Permute)
def _page_graph(section: Any, node: Permute) -> Any:
    return section.along(r"\operatorname{permute}", [node.operand])


served_generically(("factor_text", "upstream"), Permute)


takes_any_rank(Permute)

__all__ = ["Permute", "inverse", "matrix_transpose", "permute"]
