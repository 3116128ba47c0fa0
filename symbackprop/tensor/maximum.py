"""The element-wise maximum of two tensors of any rank, broadcasting as NumPy does (aligned from the last
axis): ``sbp.maximum(a, b)``.

At a tie the gradient is shared equally, half to each operand, as ``torch.maximum``
shares it; elsewhere all of it goes to the larger operand.  Everything about the
operation is here: the node types and the constructor, the chain-rule step and
its sentences, the NumPy kernels, what each interpreter does with it and the name
spec files call it by.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import InvalidOperandError
from ..printing.precedence import Precedence, Printed
from ..registry import (
    Product,
    Pull,
    interprets,
    register,
    served_generically,
    spec_function,
    takes_any_rank,
    vjp,
)
from .algebra import as_tensor, require_broadcastable
from .axes import broadcast_back
from .hadamard import hadamard
from .nodes import Broadcasting, Tensor


@dataclass(frozen=True, eq=False, repr=False)
class Maximum(Broadcasting):
    """max(a, b) element by element."""

    def __repr__(self) -> str:
        return f"maximum({self.left!r}, {self.right!r})"


@dataclass(frozen=True, eq=False, repr=False)
class MaximumShare(Broadcasting):
    """The share of max(a, b)'s gradient that reaches a: 1 where a > b, ½ at a tie, 0 where a < b."""

    def __repr__(self) -> str:
        return f"share({self.left!r} over {self.right!r})"


@spec_function("maximum")
def maximum(a: Any, b: Any) -> Tensor:
    """The larger of ``a`` and ``b`` element by element (a scalar broadcasts), as ``torch.maximum``."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise InvalidOperandError(
            f"maximum takes tensors (a vector, matrix or tensor of the network, or one of them and a number), not "
            f"{type(a).__name__} and {type(b).__name__}: it has no scalar level"
        )
    left, right = as_tensor(a, b if isinstance(b, Tensor) else None), as_tensor(b, a if isinstance(a, Tensor) else None)
    require_broadcastable("take the maximum of", left, right)
    return Maximum(left, right)


# -- the chain rule ------------------------------------------------------------------------------

register("maximum", r"an element-wise maximum passes the gradient to the larger input, half to each at a tie "
                    r"(as torch.maximum does)",
         r"원소별 최댓값: gradient를 더 큰 입력으로 보내고, 두 입력이 같으면 반씩 나눔 (torch.maximum과 같음)")


@vjp(Maximum)
def _maximum_vjp(op: Maximum, g: Tensor) -> list[Pull]:
    result = []
    for operand, other in ((op.left, op.right), (op.right, op.left)):
        share = MaximumShare(operand, other)
        gradient, broadcast = broadcast_back(operand, op, hadamard(g, share))
        result.append(Pull(operand, gradient, "maximum", share,
                           Product.HADAMARD if broadcast is None else Product.OTHER))
    return result


# -- the NumPy kernels ----------------------------------------------------------------------------

def _maximum(a, b):
    return np.maximum(a, b)


def _maximum_share(a, b):
    """1 where a > b, ½ where a == b, 0 where a < b (NaN where either is NaN)."""
    return np.where(a > b, 1.0, np.where(a == b, 0.5, np.where(a < b, 0.0, np.nan)))


# -- the interpreters ----------------------------------------------------------------------------

@interprets("code", Maximum)
def _maximum_code(emitter: Any, node: Maximum) -> Any:
    emitter.namespace["_maximum"] = _maximum
    return emitter.call("_maximum", emitter.tensor(node.left), emitter.tensor(node.right))


@interprets("code", MaximumShare)
def _share_code(emitter: Any, node: MaximumShare) -> Any:
    emitter.namespace["_maximum_share"] = _maximum_share
    return emitter.call("_maximum_share", emitter.tensor(node.left), emitter.tensor(node.right))


@interprets("explicit", Maximum)
def _maximum_explicit(closed: Any, node: Maximum) -> sp.ImmutableMatrix:
    a, b = closed.broadcast(closed.visit(node.left), closed.visit(node.right))
    return sp.ImmutableMatrix(*a.shape, lambda i, j: sp.Max(a[i, j], b[i, j]))


@interprets("explicit", MaximumShare)
def _share_explicit(closed: Any, node: MaximumShare) -> sp.ImmutableMatrix:
    a, b = closed.broadcast(closed.visit(node.left), closed.visit(node.right))
    return sp.ImmutableMatrix(*a.shape, lambda i, j: sp.Heaviside(a[i, j] - b[i, j], sp.S.Half))


@interprets("count", Maximum, MaximumShare)
def _count(counter: Any, node: Broadcasting) -> int:
    return counter.size(node.shape) + counter.count(node.left) + counter.count(node.right)  # a comparison each


@interprets("latex", Maximum)
def _maximum_latex(printer: Any, node: Maximum) -> Printed:
    return Printed(rf"\max\left({printer.print(node.left).text}, {printer.print(node.right).text}\right)",
                   Precedence.ATOM)


@interprets("latex", MaximumShare)
def _share_latex(printer: Any, node: MaximumShare) -> Printed:
    a, b = printer.print(node.left).text, printer.print(node.right).text
    return Printed(rf"\mathbf{{1}}\left[{a} > {b}\right] + \tfrac{{1}}{{2}} \mathbf{{1}}\left[{a} = {b}\right]",
                   Precedence.ADD)


@interprets("dot", Maximum)
def _maximum_dot(writer: Any, node: Maximum) -> str:
    return writer.apply("max", [node.left, node.right])


@interprets("dot", MaximumShare)
def _share_dot(writer: Any, node: MaximumShare) -> str:
    return writer.gradient_side(node)


@interprets("page_graph", Maximum)
def _page_graph(section: Any, node: Maximum) -> Any:
    return section.along(r"\max", [node.left, node.right])


served_generically(("factor_text", "upstream"), Maximum, MaximumShare)


takes_any_rank(Maximum, MaximumShare)  # the kernels are NumPy's, broadcasting from the last axis at any rank


__all__ = ["Maximum", "MaximumShare", "maximum"]
