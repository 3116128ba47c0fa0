"""Every number written into a network must be a finite real that a float can hold.

SymPy turns ``1/0`` and ``log(0)`` into complex infinity (``zoo``) and
``sqrt(-1)`` into the imaginary unit, and keeps ``exp(exp(1000))`` exact.  None
of them can be differentiated into a meaningful gradient or evaluated in
floating point, and each would surface much later, far from where it was
written: a parameter "not influencing" a loss that ``zoo`` swallowed, a failure
inside the code generator, a real answer with the imaginary part dropped.  So
they are looked for where an expression enters a network.
"""

from __future__ import annotations

import math
import sys

import sympy as sp

_MAX_SHOWN = 60
_FLOAT_MAX = int(sys.float_info.max)  # exactly, so that huge integers compare without overflowing

_NON_FINITE = (
    (sp.zoo, "complex infinity (zoo), as from a division by zero or log(0)"),
    (sp.nan, "NaN (an undefined number, as from 0/0)"),
    (sp.oo, "infinity (oo)"),
    (-sp.oo, "minus infinity (-oo)"),
)


def number_problem(expr: sp.Basic) -> str | None:
    """Why ``expr`` holds a number symbackprop cannot use, as a sentence; None when all is well."""
    for atom, description in _NON_FINITE:
        if expr.has(atom):
            return f"it contains {description}; every number in a network must be finite"
    if expr.has(sp.I):
        return ("it contains the imaginary unit I, as from the square root or the log of a negative "
                "number; symbackprop works with real numbers only")
    # Parts before the whole, so that the first culprit named is the innermost one.
    for part in sp.postorder_traversal(expr):
        if part.is_number and not _fits_a_float(part):
            return _unusable_number(part)
    return None


def _fits_a_float(number: sp.Expr) -> bool:
    if isinstance(number, sp.Rational):
        return abs(number.p) <= abs(number.q) * _FLOAT_MAX
    try:
        value = number.evalf(15)
    except (ArithmeticError, ValueError):  # evalf itself overflows on exp(exp(exp(1000)))
        return False
    if value.is_real is False:
        return False
    try:
        return math.isfinite(float(value))
    except TypeError:  # a function SymPy cannot evaluate numerically: nothing to judge
        return True


def _unusable_number(number: sp.Expr) -> str:
    shown = sp.sstr(number)
    if len(shown) > _MAX_SHOWN:
        shown = shown[: _MAX_SHOWN - 3] + "..."
    try:
        value = number.evalf(15)
        if value.is_real is False:
            return f"the number {shown} is not real ({sp.sstr(value)}); symbackprop works with real numbers only"
    except (ArithmeticError, ValueError, TypeError):
        pass
    return (f"the number {shown} is too large for floating point (above {sys.float_info.max:.3g}); "
            "make it smaller")
