"""The largest or smallest entry of a tensor, over every entry or along one axis: ``sbp.max(x, axis)``, ``sbp.min``.

The reduced axis is kept, as ``sbp.total`` keeps it: over every entry a 1×1 result, ``axis=0`` a row
(each column's extremum), ``axis=1`` a column (each row's). The gradient goes to the entry that was
chosen. At a tie it follows PyTorch's rule for the same function: along an axis the first extremal
entry takes all of it, as ``torch.max(x, dim)`` chooses its index; over every entry it is shared
equally, as ``torch.amax`` (and ``torch.max(x)``) share it. Everything about the operation is here:
the node types and constructors, the chain-rule step and its sentences, the NumPy kernels, what
each interpreter does with it and the names spec files call it by.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from ..errors import InvalidOperandError
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, spec_function, takes_any_rank, vjp
from .axes import ROWS, broadcast_to, check_axis
from .hadamard import hadamard
from .nodes import SCALAR_SHAPE, Shape, Tensor, Unary

KINDS = ("max", "min")


@dataclass(frozen=True, eq=False, repr=False)
class Extremum(Unary):
    """The largest (``kind="max"``) or smallest entry over every entry (``axis=None``) or along ``axis``."""

    grouped_in_hadamard: ClassVar[bool] = False
    operand: Tensor
    axis: int | None
    kind: str

    @cached_property
    def shape(self) -> Shape:
        return reduced_shape(self.operand.shape, self.axis)

    def __repr__(self) -> str:
        return f"{self.kind}({self.operand!r}, axis={self.axis})"


@dataclass(frozen=True, eq=False, repr=False)
class ExtremumChoice(Unary):
    """Where the extremum's gradient goes: 1 at the chosen entry, 0 elsewhere (1/k at a k-way tie over
    every entry), the operand's shape."""

    operand: Tensor
    axis: int | None
    kind: str

    def __repr__(self) -> str:
        return f"arg{self.kind}({self.operand!r}, axis={self.axis})"


def reduced_shape(shape: Shape, axis: int | None) -> Shape:
    if axis is None:
        return SCALAR_SHAPE
    if len(shape) > 2:  # the axis kept with length 1
        return tuple(1 if k == axis else d for k, d in enumerate(shape))
    return (1, shape[1]) if axis == ROWS else (shape[0], 1)


def _extremum(kind: str, x: Any, axis: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise InvalidOperandError(
            f"{kind} takes a vector or matrix of the network, not {type(x).__name__}; of scalars, "
            f"take sp.{kind.capitalize()} of them"
        )
    axis = check_axis(axis, kind, x.rank)
    if x.rank > 2 and axis is None:  # the extremum of every entry: of the entries laid out as one column
        from .reshape import reshape  # a node type built on this package's algebra: looked up when used

        return _extremum(kind, reshape(x, -1, 1), None)
    if x.shape == reduced_shape(x.shape, axis):  # one entry along the axis: it is its own extremum
        return x
    return Extremum(x, axis, kind)


@spec_function("max")
def maximal(x: Any, axis: Any = None) -> Tensor:
    """The largest entry of ``x`` (``axis=None``) or of each column (``axis=0``, a row) or row (``axis=1``,
    a column), as ``torch.amax`` and ``torch.max(x, dim, keepdim=True)``."""
    return _extremum("max", x, axis)


@spec_function("min")
def minimal(x: Any, axis: Any = None) -> Tensor:
    """The smallest entry of ``x`` or of each column or row, as :func:`maximal` the largest."""
    return _extremum("min", x, axis)


# -- the chain rule ------------------------------------------------------------------------------

register("extremum_axis",
         r"a maximum or minimum along an axis passes the gradient to the chosen entry, the first one at a tie "
         r"(as torch.max along a dimension does)",
         r"축을 따라 구한 최댓값 또는 최솟값: gradient를 선택된 원소로 보내고, 같은 값이 여럿이면 첫 번째로 보냄 "
         r"(차원을 준 torch.max와 같음)")
register("extremum_all",
         r"a maximum or minimum of every entry passes the gradient to the chosen entry, shared equally at a tie "
         r"(as torch.amax does)",
         r"모든 원소의 최댓값 또는 최솟값: gradient를 선택된 원소로 보내고, 같은 값이 여럿이면 똑같이 나눔 "
         r"(torch.amax와 같음)")


@vjp(Extremum)
def _extremum_vjp(op: Extremum, g: Tensor) -> list[Pull]:
    choice = ExtremumChoice(op.operand, op.axis, op.kind)
    gradient = hadamard(broadcast_to(g, op.operand.shape), choice)
    return [Pull(op.operand, gradient, "extremum_all" if op.axis is None else "extremum_axis", choice,
                 Product.OTHER)]


# -- the NumPy kernels (on (…, rows, columns) arrays) --------------------------------------------------

def _numpy_axes(axis, rank=2):
    """The axes counted from the last (a batch axis may lead): ``rank`` is the operand's number of axes."""
    return tuple(range(-rank, 0)) if axis is None else (axis - rank,)


def _extremum_value(x, axis, kind, rank=2):
    reduce = np.max if kind == "max" else np.min
    return reduce(x, axis=_numpy_axes(axis, rank), keepdims=True)


def _extremum_choice(x, axis, kind, rank=2):
    """1 at the chosen entry: the first extremal one along an axis, every extremal one shared over all."""
    axes = _numpy_axes(axis, rank)
    hit = np.asarray(x == _extremum_value(x, axis, kind, rank), dtype=float)
    if axis is None:
        return hit / np.sum(hit, axis=axes, keepdims=True)
    return hit * np.asarray(np.cumsum(hit, axis=axes[0]) == 1, dtype=float)  # the first, without assigning


# -- the interpreters ----------------------------------------------------------------------------

@interprets("code", Extremum)
def _extremum_code(emitter: Any, node: Extremum) -> Any:
    emitter.namespace["_extremum_value"] = _extremum_value
    return emitter.call("_extremum_value", emitter.tensor(node.operand), emitter.constant(node.axis),
                        emitter.constant(node.kind), *_rank_argument(emitter, node))


def _rank_argument(emitter: Any, node: Extremum | ExtremumChoice) -> list[Any]:
    """The operand's rank where it is not a matrix's (a matrix's calls stay as they were)."""
    return [emitter.constant(node.operand.rank)] if node.operand.rank > 2 else []


@interprets("code", ExtremumChoice)
def _choice_code(emitter: Any, node: ExtremumChoice) -> Any:
    emitter.namespace["_extremum_choice"] = _extremum_choice
    return emitter.call("_extremum_choice", emitter.tensor(node.operand), emitter.constant(node.axis),
                        emitter.constant(node.kind), *_rank_argument(emitter, node))


def _groups(value: sp.MatrixBase, axis: int | None) -> list[list[tuple[int, int]]]:
    """The entries each result entry is the extremum of, in order: every entry, each column or each row."""
    rows, columns = value.shape
    if axis is None:
        return [[(i, j) for i in range(rows) for j in range(columns)]]
    if axis == ROWS:
        return [[(i, j) for i in range(rows)] for j in range(columns)]
    return [[(i, j) for j in range(columns)] for i in range(rows)]


@interprets("explicit", Extremum)
def _extremum_explicit(closed: Any, node: Extremum) -> sp.ImmutableMatrix:
    value = closed.visit(node.operand)
    extremum = sp.Max if node.kind == "max" else sp.Min
    found = [extremum(*(value[i, j] for i, j in group)) for group in _groups(value, node.axis)]
    return sp.ImmutableMatrix(*node.shape, found)


@interprets("explicit", ExtremumChoice)
def _choice_explicit(closed: Any, node: ExtremumChoice) -> sp.ImmutableMatrix:
    value = closed.visit(node.operand)
    beats = (lambda a, b: a >= b) if node.kind == "max" else (lambda a, b: a <= b)
    strictly = (lambda a, b: a > b) if node.kind == "max" else (lambda a, b: a < b)
    choice = sp.zeros(*value.shape)
    for group in _groups(value, node.axis):
        wins = {}
        for k, (i, j) in enumerate(group):
            earlier = [strictly(value[i, j], value[p]) if node.axis is not None else beats(value[i, j], value[p])
                       for p in group[:k]]
            later = [beats(value[i, j], value[p]) for p in group[k + 1:]]
            wins[(i, j)] = sp.Piecewise((1, sp.And(*earlier, *later)), (0, True))
        total = sp.Add(*wins.values()) if node.axis is None else 1
        for (i, j), win in wins.items():
            choice[i, j] = win / total
    return sp.ImmutableMatrix(choice)


@interprets("count", Extremum, ExtremumChoice)
def _count(counter: Any, node: Unary) -> int:
    return counter.size(node.operand.shape) + counter.count(node.operand)  # a comparison per entry


def _reduced_over(node: Extremum | ExtremumChoice) -> str:
    if node.axis is not None and node.operand.rank > 2:
        return rf"_{{\mathrm{{axis}}\,{node.axis}}}"
    return "" if node.axis is None else ("_{\\downarrow}" if node.axis == ROWS else "_{\\rightarrow}")


@interprets("latex", Extremum)
def _extremum_latex(printer: Any, node: Extremum) -> Printed:
    return Printed(rf"\{node.kind}{_reduced_over(node)}\left({printer.print(node.operand).text}\right)",
                   Precedence.ATOM)


@interprets("latex", ExtremumChoice)
def _choice_latex(printer: Any, node: ExtremumChoice) -> Printed:
    operand = printer.print(node.operand).text
    return Printed(rf"\mathbf{{1}}\left[{operand} = \{node.kind}{_reduced_over(node)} {operand}\right]",
                   Precedence.ATOM)


@interprets("dot", Extremum)
def _extremum_dot(writer: Any, node: Extremum) -> str:
    over = "" if node.axis is None else (f" axis {node.axis}" if node.operand.rank > 2
                                         else " rows" if node.axis == ROWS else " columns")
    return writer.apply(f"{node.kind}{over}", [node.operand])


@interprets("dot", ExtremumChoice)
def _choice_dot(writer: Any, node: ExtremumChoice) -> str:
    return writer.gradient_side(node)


@interprets("page_graph", Extremum)
def _page_graph(section: Any, node: Extremum) -> Any:
    return section.along(rf"\{node.kind}", [node.operand])


served_generically(("factor_text", "upstream"), Extremum, ExtremumChoice)


takes_any_rank(Extremum, ExtremumChoice)

__all__ = ["KINDS", "Extremum", "ExtremumChoice", "maximal", "minimal"]
