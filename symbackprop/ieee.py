"""Exact numbers where SymPy leaves the real line: the value NumPy's IEEE arithmetic gives instead.

Exact evaluation must agree with floats.  SymPy writes log(0), 1/0 and 0⁻¹ as
complex infinity (zoo), which has no sign, and sqrt(−1), log(−1) as imaginary
numbers; NumPy and PyTorch give −inf, ±inf and NaN.  Only those points are
replaced, by the IEEE value converted back to SymPy (−oo, oo, nan), so every
finite result stays exact and later arithmetic (oo·0 = nan) still follows IEEE.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import sympy as sp


def leaves_the_reals(value: sp.Basic) -> bool:
    """A number that NumPy would not give: complex infinity or a non-real number."""
    if not isinstance(value, sp.Expr) or not value.is_number:
        return False
    return value.has(sp.zoo) or value.is_extended_real is False


def from_float(number: float) -> sp.Expr:
    if math.isnan(number):
        return sp.nan
    if math.isinf(number):
        return sp.oo if number > 0 else -sp.oo
    return sp.Float(number)


def quotient(numerator: sp.Expr, divisor: sp.Expr) -> sp.Expr:
    """a / b, with a zero divisor giving ±oo by the numerator's sign, or nan for 0/0, as in NumPy."""
    if divisor.is_number and divisor.is_zero and numerator.is_number:
        if numerator.is_extended_positive:
            return sp.oo
        if numerator.is_extended_negative:
            return -sp.oo
        return sp.nan
    return numerator / divisor


def applied(formula: Callable[[sp.Expr], sp.Expr], numeric: Callable[[float], float],
            argument: sp.Expr) -> sp.Expr:
    """``formula(argument)``; where a number's exact value leaves the reals, ``numeric`` at its float."""
    value = formula(argument)
    if argument.is_number and leaves_the_reals(value):
        with np.errstate(all="ignore"):
            return from_float(float(numeric(np.float64(float(argument)))))  # NumPy's rules, not Python's
    return value


__all__ = ["applied", "from_float", "leaves_the_reals", "quotient"]
