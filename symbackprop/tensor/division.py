"""Element-wise division a ⊘ b of two tensors, or of a scalar by a tensor, broadcasting as NumPy does.

Everything about the operation is here: the node type and its constructor, its
vector–Jacobian product and rule sentences, and what each interpreter does with
it (code, closed forms, operation count, LaTeX, graph labels).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from ..errors import InvalidNumberError
from ..ieee import quotient
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, takes_any_rank, vjp
from .algebra import power, require_broadcastable, scale
from .axes import broadcast_back
from .hadamard import hadamard
from .nodes import Broadcasting, MatMul, Scalar, Tensor


@dataclass(frozen=True, eq=False, repr=False)
class Divide(Broadcasting):
    """Element-wise quotient ⊘; a zero divisor gives ±inf or NaN, as in NumPy."""

    symbol: ClassVar[str] = "/"
    grouped_in_hadamard: ClassVar[bool] = True


def divide(numerator: Tensor, divisor: Tensor) -> Tensor:
    """``a / b`` element-wise; a constant divisor is a factor 1/c, and a zero constant is refused."""
    require_broadcastable("divide element-wise", numerator, divisor)
    if isinstance(divisor, Scalar):
        if divisor.expr == 0:
            raise InvalidNumberError(f"cannot divide {numerator!r} by zero")
        return scale(1 / divisor.expr, numerator)
    return Divide(numerator, divisor)


# -- the chain rule ------------------------------------------------------------------------------

register("divide", r"an element-wise quotient $a \oslash b$ divides the gradient element-wise by the divisor $b$",
         r"원소별 나눗셈 $a \oslash b$: gradient를 나누는 수 $b$로 원소별로 나눔")
register("divisor",
         r"the divisor $b$ of $a \oslash b$ receives $-G \odot a \oslash b^{\circ 2}$, as $d(a/b)/db = -a/b^{2}$",
         r"$a \oslash b$의 나누는 수 $b$는 $-G \odot a \oslash b^{\circ 2}$를 받음 ($d(a/b)/db = -a/b^{2}$)")


@vjp(Divide)
def _divide(op: Divide, g: Tensor) -> list[Pull]:
    a, b = op.left, op.right
    to_a, broadcast_a = broadcast_back(a, op, Divide(g, b))
    local_b = Divide(hadamard(g, a), power(b, 2))
    to_b, broadcast_b = broadcast_back(b, op, scale(-1, local_b))
    return [
        Pull(a, to_a, "divide", power(b, -1), Product.HADAMARD if broadcast_a is None else Product.OTHER),
        Pull(b, to_b, "divisor", scale(-1, Divide(a, power(b, 2))),
             Product.HADAMARD if broadcast_b is None else Product.OTHER),
    ]


# -- the interpreters ----------------------------------------------------------------------------

@interprets("code", Divide)
def _code(emitter: Any, node: Divide) -> ast.expr:
    return ast.BinOp(emitter.tensor(node.left), ast.Div(), emitter.tensor(node.right))


@interprets("explicit", Divide)
def _explicit(closed: Any, node: Divide) -> sp.ImmutableMatrix:
    a, b = closed.broadcast(closed.visit(node.left), closed.visit(node.right))
    return sp.ImmutableMatrix(*a.shape, lambda i, j: quotient(a[i, j], b[i, j]))


@interprets("count", Divide)
def _count(counter: Any, node: Divide) -> int:
    return counter.size(node.shape) + counter.count(node.left) + counter.count(node.right)


@interprets("latex", Divide)
def _latex(printer: Any, node: Divide) -> Printed:
    parts = []
    for operand in (node.left, node.right):
        printed = printer.print(operand)
        keep = printed.precedence >= Precedence.FRACTION and not isinstance(operand, MatMul)
        parts.append(printed.text if keep else rf"\left({printed.text}\right)")
    return Printed(r" \oslash ".join(parts), Precedence.HADAMARD)


@interprets("dot", Divide)
def _dot(writer: Any, node: Divide) -> str:
    return writer.apply("÷", [node.left, node.right], ordered=True)


@interprets("page_graph", Divide)
def _page_graph(section: Any, node: Divide) -> Any:
    return section.along(r"\div", [node.left, node.right])


served_generically(("factor_text", "upstream"), Divide)


takes_any_rank(Divide)

__all__ = ["Divide", "divide"]
