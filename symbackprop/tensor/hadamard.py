"""The element-wise product a ⊙ b of two tensors, broadcasting as NumPy does, and ``*`` between tensors.

Everything about the operation is here: the node type and its constructors, its
vector–Jacobian product and rule sentences, and what each interpreter does with
it (code, closed forms, operation count, LaTeX, graph labels).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, takes_any_rank, vjp
from .algebra import as_tensor, require_broadcastable, scale
from .axes import broadcast_back
from .nodes import Broadcasting, Elementwise, Ones, Scalar, Tensor


@dataclass(frozen=True, eq=False, repr=False)
class Hadamard(Broadcasting):
    """Element-wise product ⊙."""

    symbol: ClassVar[str] = "*"
    hadamard_product: ClassVar[bool] = True


def hadamard(left: Tensor, right: Tensor) -> Tensor:
    require_broadcastable("multiply element-wise", left, right)
    if isinstance(left, Scalar):
        return scale(left.expr, right)
    if isinstance(right, Scalar):
        return scale(right.expr, left)
    return Hadamard(left, right)


def scaled_by(coefficient: sp.Expr, operand: Tensor) -> Tensor:
    """coefficient ⊙ operand kept as a product, not folded into a constant factor: for a symbolic coefficient."""
    return Hadamard(Scalar(coefficient), operand)


def multiply(left: Any, right: Any) -> Tensor:
    """``*``: a scalar factor scales; two tensors multiply element-wise, as in NumPy."""
    if not isinstance(left, Tensor):
        return scale(sp.sympify(left), right) if _is_number_like(left) else hadamard(as_tensor(left, right), right)
    if not isinstance(right, Tensor):
        return scale(sp.sympify(right), left) if _is_number_like(right) else hadamard(left, as_tensor(right, left))
    return hadamard(left, right)


def _is_number_like(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or (
        isinstance(value, sp.Basic) and value.is_number
    )


# -- the chain rule ------------------------------------------------------------------------------

register("hadamard", "an element-wise product multiplies the gradient element-wise by the other factor",
         "원소별 곱: gradient에 다른 인자를 원소별로 곱함")
register("hadamard_broadcast_row",
         r"a row multiplied into every row receives $\mathbf{1}^{\top} (G \odot B)$, the sum over the rows, "
         r"$B$ the other factor",
         r"모든 행에 곱해진 행 벡터는 행들에 대한 합 $\mathbf{1}^{\top} (G \odot B)$를 받음 ($B$는 다른 인자)")
register("hadamard_broadcast_column",
         r"a column multiplied into every column receives $(G \odot B) \mathbf{1}$, the sum over the columns, "
         r"$B$ the other factor",
         r"모든 열에 곱해진 열 벡터는 열들에 대한 합 $(G \odot B) \mathbf{1}$을 받음 ($B$는 다른 인자)")


@vjp(Hadamard)
def _hadamard_vjp(op: Hadamard, g: Tensor) -> list[Pull]:
    result = []
    for operand, other in ((op.left, op.right), (op.right, op.left)):
        gradient, rule = broadcast_back(operand, op, hadamard(g, other))
        if rule is not None:
            result.append(Pull(operand, gradient, "hadamard" if rule == "broadcast" else "hadamard_" + rule,
                               other, Product.OTHER))
        else:
            result.append(Pull(operand, gradient, "hadamard", other, Product.HADAMARD))
    return result


# -- the interpreters ----------------------------------------------------------------------------

@interprets("code", Hadamard)
def _code(emitter: Any, node: Hadamard) -> ast.expr:
    at_zero = emitter.step_at_zero(node.right)
    if at_zero is not None:
        return emitter.call("_gate", emitter.tensor(node.left), emitter.tensor(node.right.operand),
                            emitter.scalar(at_zero))
    return ast.BinOp(emitter.tensor(node.left), ast.Mult(), emitter.tensor(node.right))


@interprets("explicit", Hadamard)
def _explicit(closed: Any, node: Hadamard) -> sp.ImmutableMatrix:
    a, b = closed.broadcast(closed.visit(node.left), closed.visit(node.right))
    return sp.ImmutableMatrix(a.multiply_elementwise(b))


_T = sp.Symbol("t", real=True)


def _is_ones(node: Tensor) -> bool:
    if isinstance(node, Ones):
        return True
    if isinstance(node, Scalar):
        return node.expr == 1
    return isinstance(node, Elementwise) and _is_one(node.function)


@functools.cache  # by activation: a count of T steps builds its formula once, not T times
def _is_one(function: Any) -> bool:
    return function.formula(_T) == 1


@interprets("count", Hadamard)
def _count(counter: Any, node: Hadamard) -> int:
    operands = counter.count(node.left) + counter.count(node.right)
    if _is_ones(node.left) or _is_ones(node.right):
        return operands  # a broadcast, no arithmetic
    return counter.size(node.shape) + operands


@interprets("latex", Hadamard)
def _latex(printer: Any, node: Hadamard) -> Printed:
    if node.left.is_scalar != node.right.is_scalar:  # a 1×1 factor scales: c x, not c ⊙ x
        factor, other = (node.left, node.right) if node.left.is_scalar else (node.right, node.left)
        printed = printer.print(factor)
        factor_text = printed.text if printed.precedence >= Precedence.PRODUCT else rf"\left({printed.text}\right)"
        operand = printer.wrapped(other, Precedence.PRODUCT)
        # a number beside a number, or beside the vector of ones 𝟏, would read as one number
        numbers_meet = factor_text[-1:].isdigit() or operand[:1].isdigit() or operand.startswith("-")
        separator = r" \cdot " if numbers_meet else " "
        return Printed(f"{factor_text}{separator}{operand}", Precedence.PRODUCT)
    parts = []
    for operand in (node.left, node.right):
        printed = printer.print(operand)
        # ⊙ is associative; a quotient inside a product is parenthesised so that ⊘ never reads ambiguously
        keep = printed.precedence >= Precedence.HADAMARD and (
            printer.replaced(operand) or not operand.grouped_in_hadamard)
        parts.append(printed.text if keep else rf"\left({printed.text}\right)")
    return Printed(r" \odot ".join(parts), Precedence.HADAMARD)


@interprets("dot", Hadamard)
def _dot(writer: Any, node: Hadamard) -> str:
    return writer.apply("⊙", [node.left, node.right])


@interprets("page_graph", Hadamard)
def _page_graph(section: Any, node: Hadamard) -> Any:
    return section.along(r"\odot", [node.left, node.right])


served_generically(("factor_text", "upstream"), Hadamard)


takes_any_rank(Hadamard)

__all__ = ["Hadamard", "hadamard", "multiply", "scaled_by"]
