"""The ``sympy.diff`` oracle: ∂L/∂θ of the loss written out in inputs and parameters, element by element.

Our functions are first rewritten into SymPy primitives (ReLU as a Piecewise, σ
as 1/(1 + e^{−z})), so not even our derivative definitions are reused.  The
expanded loss is a tree with much sharing: walking it node by node, as
``xreplace`` and ``diff`` do, revisits each shared subtree once per path, which
cost minutes on a 64-parameter network.  Here every value except the one
element θ is put in first, in one pass that visits each distinct node once;
what is left is a small expression in θ, which ``sympy.diff`` differentiates.
The partial derivative is the same: the other leaves are constants of ∂/∂θ.

By default a deterministic sample of each parameter's elements is derived
(:func:`sampled_elements`); ``thorough`` derives every element.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy.logic.boolalg import BooleanAtom

from . import tensor as T
from .ops import OWN_FUNCTIONS, primitive_form

#: Elements of each parameter the oracle derives by default: the first, the last and evenly spaced ones.
SYMPY_ORACLE_SAMPLE = 4

#: Digits the leaves are written with, and the digits the derivative is evaluated to.
_LEAF_DIGITS, _RESULT_DIGITS = 30, 20


def sampled_elements(shape: tuple[int, ...], per_parameter: int | None) -> list[tuple[int, ...]]:
    """Indices of the elements to derive: all of them (``per_parameter=None``), else at most
    ``per_parameter``: the first, the last and evenly spaced ones between, in row-major order."""
    every = list(np.ndindex(shape))
    if per_parameter is None or len(every) <= per_parameter:
        return every
    if per_parameter == 1:
        return [every[0]]
    last = len(every) - 1
    picked = sorted({round(k * last / (per_parameter - 1)) for k in range(per_parameter)})
    return [every[i] for i in picked]


def sympy_partial(loss: sp.Expr, leaves: dict[Any, sp.Expr], atom: Any) -> float:
    """∂loss/∂atom at ``leaves`` (every leaf's value, ``atom``'s included) by ``sympy.diff``."""
    reduced = _with_values(loss, leaves, atom)
    partial = sp.diff(reduced, atom)
    value = partial.xreplace({atom: leaves[atom]}).subs(T.BATCH_SIZE, 1)
    return float(value.evalf(_RESULT_DIGITS))


def leaf_value(value: float) -> sp.Float:
    return sp.Float(float(value), _LEAF_DIGITS)


def _with_values(expr: sp.Expr, leaves: dict[Any, sp.Expr], keep: Any) -> sp.Expr:
    """``expr`` with every leaf but ``keep`` replaced by its value, our functions by their primitive
    forms and each Piecewise by its branch that holds at ``keep``'s value, each distinct
    subexpression rewritten once.

    A Piecewise equals its active branch near the point, and at a boundary the
    derivative of the branch that holds is what differentiating the Piecewise gives;
    keeping it whole would make SymPy solve its conditions as sets, which is slow.
    """
    at_point = {keep: leaves[keep]}

    def holds(condition: Any) -> bool:
        if isinstance(condition, BooleanAtom):
            return bool(condition)
        return bool(condition.xreplace(at_point))

    def rewrite(node: Any, done: dict[Any, Any]) -> Any:
        found = done.get(node)
        if found is not None:
            return found
        if node in leaves:
            result = leaves[node]
        elif node == T.BATCH_SIZE:
            result = sp.Integer(1)
        elif not node.args:
            result = node
        elif isinstance(node, sp.Piecewise):
            result = next((rewrite(e, done) for e, c in node.args if holds(rewrite(c, done))), sp.nan)
        elif isinstance(node, OWN_FUNCTIONS):
            # the textbook form, written in placeholders bound to the arguments: not even our
            # forward definition (eval) is used
            arguments = [rewrite(a, done) for a in node.args]
            placeholders = [sp.Dummy(real=True) for _ in arguments]
            form = primitive_form(node.func(*placeholders, evaluate=False).primitive())
            result = rewrite(form, dict(zip(placeholders, arguments)))
        else:
            result = node.func(*[rewrite(a, done) for a in node.args])
        done[node] = result
        return result

    return rewrite(expr, {keep: keep})
