"""``x.reshape(*shape)``: the same entries, read in row-major order, under another shape, as ``torch.reshape``.

One length may be −1: it is whatever the others leave (``emb.reshape(n, -1)`` flattens each sample's
(block, d) into one row of block·d). A single length n means the column (n, 1), as a shape given to
``net.input`` does. The gradient of a reshape is the upstream gradient reshaped back: no entry moves.
Everything about the operation is here: the node type and its constructor, its rule, its kernel and what
each interpreter does with it.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from ..errors import InvalidOperandError, ShapeMismatchError
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, spec_function, takes_any_rank, vjp
from .base import Shape, Tensor, shape_text
from .nodes import Unary


@dataclass(frozen=True, eq=False, repr=False)
class Reshape(Unary):
    """The entries of ``operand`` in row-major order, laid out as ``target_shape``."""

    operand: Tensor
    target_shape: Shape

    @cached_property
    def shape(self) -> Shape:
        return self.target_shape

    def __repr__(self) -> str:
        return f"{self.operand!r}.reshape{self.target_shape}"


def _lengths(shape: tuple[Any, ...], operand: Tensor) -> Shape:
    """The lengths asked for, the −1 filled in, checked against the operand's number of entries."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])  # x.reshape((n, -1)) as well as x.reshape(n, -1)
    size = math.prod(operand.shape)
    asked = f"{operand!r} of shape {shape_text(operand.shape)} ({size} entries)"
    lengths: list[int] = []
    for length in shape:
        if isinstance(length, bool):
            length = None
        try:
            lengths.append(operator.index(length))
        except TypeError:
            raise InvalidOperandError(f"cannot reshape {asked} to {shape!r}: the lengths must be integers") from None
    if not lengths:
        raise InvalidOperandError(f"cannot reshape {asked}: give the new lengths, as x.reshape(n, -1)")
    if lengths.count(-1) > 1 or any(length == 0 or length < -1 for length in lengths):
        raise InvalidOperandError(f"cannot reshape {asked} to {tuple(lengths)}: the lengths must be positive, "
                                  "and one of them may be -1 (whatever the others leave)")
    known = math.prod(length for length in lengths if length != -1)
    if -1 in lengths:
        if size % known:
            raise ShapeMismatchError(f"cannot reshape {asked} to {tuple(lengths)}: {size} is not a multiple of "
                                     f"{known}, the product of the other lengths")
        lengths[lengths.index(-1)] = size // known
    if math.prod(lengths) != size:
        raise ShapeMismatchError(f"cannot reshape {asked} to {tuple(lengths)}, which holds "
                                 f"{math.prod(lengths)} entries")
    return tuple(lengths) + ((1,) if len(lengths) == 1 else ())  # one length is a column, as everywhere


@spec_function("reshape")
def reshape(operand: Tensor, *shape: Any) -> Tensor:
    """``operand`` with its entries in row-major order laid out as ``shape`` (one length may be −1)."""
    if not isinstance(operand, Tensor):
        raise InvalidOperandError(f"cannot reshape {operand!r}: reshape takes a tensor of the network")
    target = _lengths(shape, operand)
    if isinstance(operand, Reshape):  # row-major twice is row-major once
        operand = operand.operand
    return operand if operand.shape == target else Reshape(operand, target)


# -- the chain rule ------------------------------------------------------------------------------

register("reshape", "a reshape moves no entry: the gradient is reshaped back to the operand's shape",
         "reshape는 원소를 옮기지 않음: gradient를 원래 모양으로 되돌림")


@vjp(Reshape)
def _reshape_vjp(op: Reshape, g: Tensor) -> list[Pull]:
    return [Pull(op.operand, reshape(g, *op.operand.shape), "reshape", None, Product.OTHER)]


# -- the NumPy kernel (axes before the operand's, a batch axis, are kept) -------------------------

def _reshaped(a, rank, *shape):
    """``a`` whose last ``rank`` axes are laid out again as ``shape``, row-major."""
    a = np.asarray(a, dtype=float)
    return a.reshape(a.shape[:max(a.ndim - rank, 0)] + shape)


# -- the interpreters ----------------------------------------------------------------------------

@interprets("code", Reshape)
def _code(emitter: Any, node: Reshape) -> Any:
    emitter.namespace["_reshaped"] = _reshaped
    return emitter.call("_reshaped", emitter.tensor(node.operand), emitter.constant(node.operand.rank),
                        *(emitter.constant(d) for d in node.shape))


@interprets("explicit", Reshape)
def _explicit(closed: Any, node: Reshape) -> sp.ImmutableMatrix:
    value = closed.visit(node.operand)  # a matrix: closed forms refuse tensors of rank 3 or more
    return sp.ImmutableMatrix(*node.shape, list(value))  # SymPy lists a matrix's entries row by row


@interprets("count", Reshape)
def _count(counter: Any, node: Reshape) -> int:
    return counter.count(node.operand)  # laying entries out again is no arithmetic


@interprets("latex", Reshape)
def _latex(printer: Any, node: Reshape) -> Printed:
    size = r" \times ".join(str(d) for d in node.shape)
    return Printed(rf"\operatorname{{reshape}}_{{{size}}}\left({printer.print(node.operand).text}\right)",
                   Precedence.ATOM)


@interprets("dot", Reshape)
def _dot(writer: Any, node: Reshape) -> str:
    return writer.apply("reshape " + "×".join(str(d) for d in node.shape), [node.operand])


@interprets("page_graph", Reshape)
def _page_graph(section: Any, node: Reshape) -> Any:
    return section.along(r"\operatorname{reshape}", [node.operand])


served_generically(("factor_text", "upstream"), Reshape)


takes_any_rank(Reshape)

__all__ = ["Reshape", "reshape"]
