"""The rules of sums over an axis, of repeating along an axis, and of element-wise division."""

from __future__ import annotations

from .. import tensor as T
from .registry import Product, Pull, register, vjp
from .tensor_ops import broadcast_back

register("sum_rows", r"a sum over the rows sends each column's gradient to every entry of that column, $\mathbf{1} g$",
         r"행에 대한 합: 각 열의 gradient를 그 열의 모든 원소에 전달 ($\mathbf{1} g$)")
register("sum_columns",
         r"a sum over the columns sends each row's gradient to every entry of that row, $g \mathbf{1}^{\top}$",
         r"열에 대한 합: 각 행의 gradient를 그 행의 모든 원소에 전달 ($g \mathbf{1}^{\top}$)")
register("divide", r"an element-wise quotient $a \oslash b$ divides the gradient element-wise by the divisor $b$",
         r"원소별 나눗셈 $a \oslash b$: gradient를 나누는 수 $b$로 원소별로 나눔")
register("divisor",
         r"the divisor $b$ of $a \oslash b$ receives $-G \odot a \oslash b^{\circ 2}$, as $d(a/b)/db = -a/b^{2}$",
         r"$a \oslash b$의 나누는 수 $b$는 $-G \odot a \oslash b^{\circ 2}$를 받음 ($d(a/b)/db = -a/b^{2}$)")


@vjp(T.AxisSum)
def _axis_sum(op: T.AxisSum, g: T.Tensor) -> list[Pull]:
    rule = "sum_rows" if op.axis == T.ROWS else "sum_columns"
    return [Pull(op.operand, T.broadcast_to(g, op.operand.shape), rule, None, Product.SUM)]


@vjp(T.BroadcastTo)
def _broadcast_to(op: T.BroadcastTo, g: T.Tensor) -> list[Pull]:
    gradient, rule = broadcast_back(op.operand, op, g)
    return [Pull(op.operand, gradient, rule or "add", None, Product.SUM)]


@vjp(T.Divide)
def _divide(op: T.Divide, g: T.Tensor) -> list[Pull]:
    a, b = op.left, op.right
    to_a, broadcast_a = broadcast_back(a, op, T.Divide(g, b))
    local_b = T.Divide(T.hadamard(g, a), T.power(b, 2))
    to_b, broadcast_b = broadcast_back(b, op, T.scale(-1, local_b))
    return [
        Pull(a, to_a, "divide", T.power(b, -1), Product.HADAMARD if broadcast_a is None else Product.OTHER),
        Pull(b, to_b, "divisor", T.scale(-1, T.Divide(a, T.power(b, 2))),
             Product.HADAMARD if broadcast_b is None else Product.OTHER),
    ]
