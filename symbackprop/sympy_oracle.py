"""The ``sympy.diff`` oracle: ∂L/∂θ of the loss written out element by element, for one element θ at a time.

Every value except θ is put in first: the forward pass is written out in SymPy
with θ the one symbol, every input and parameter a number, and every node θ
does not reach its value from the forward pass.  Writing out the whole loss in
symbols first (and only then putting the numbers in) took minutes on networks of
a thousand parameters; what is left here is an expression in θ alone, as large as
the part of the network θ reaches.  The partial derivative is the same: the other
leaves are constants of ∂/∂θ.  Our functions in that expression are then rewritten
into SymPy primitives (ReLU as a Piecewise, σ as 1/(1 + e^{−z})), so not even our
derivative definitions are reused, and ``sympy.diff`` differentiates it.

Which elements are derived is chosen by work (:mod:`symbackprop.check_plan`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.logic.boolalg import BooleanAtom

from . import tensor as T
from .explicit import ClosedForms
from .ops import OWN_FUNCTIONS, primitive_form

if TYPE_CHECKING:
    from .derivation import Derivation

#: Digits the leaves are written with, and the digits the derivative is evaluated to.
_LEAF_DIGITS, _RESULT_DIGITS = 30, 20


def element_partial(derivation: Derivation, samples: list[dict[str, Any]], parameter: str,
                    position: tuple[int, int]) -> float:
    """∂L/∂θ for the element θ of ``parameter`` at ``position``, averaged over the samples.

    Each sample maps names to SymPy values (numbers, or matrices of numbers): every input and
    parameter, element quantities by their own names, and any node θ does not reach.
    """
    quantity = derivation.network[parameter]
    i, j = position
    total = 0.0
    for leaves in samples:
        theta = sp.Dummy(f"{parameter}_{i + 1}_{j + 1}", real=True)
        with_theta = dict(leaves)
        if quantity.elements is not None:
            value = leaves[quantity.elements[i][j]]
            with_theta[quantity.elements[i][j]] = theta
        elif quantity.is_scalar:
            value = leaves[parameter]
            with_theta[parameter] = theta
        else:
            matrix = leaves[parameter].as_mutable()
            value, matrix[i, j] = matrix[i, j], theta
            with_theta[parameter] = sp.ImmutableMatrix(matrix)
        loss = ClosedForms(derivation, expand=True, leaves=with_theta).forward(derivation.loss)
        total += sympy_partial(sp.sympify(loss), {theta: value}, theta)
    return total / len(samples)


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
