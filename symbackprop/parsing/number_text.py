"""A number given to the Python API where a number is expected (an option such as ReLU′(0) or a slope).

Text is read exactly as spec and values files read a number — through the expression whitelist,
so ``"1/3"`` and ``"2.5e-3"`` are exact fractions — and never by SymPy's ``sympify``, which would run
``"__import__('os').system(...)"``.  Any other object must already be a finite real number.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import sympy

from ..errors import ExpressionError, OptionError
from . import parse_expression
from .limits import Limits

__all__ = ["NUMBER_TEXT_LIMITS", "exact_number", "rational_from_text"]

#: A number written as text ("1/3") is a tiny expression: keep it tiny.
NUMBER_TEXT_LIMITS = Limits(max_length=100, max_nodes=20, max_depth=10, max_exponent=16)


def rational_from_text(text: str) -> sympy.Rational:
    """The exact rational ``text`` writes (``"1/3"``, ``"-2.5e-3"``, ``"2**-10"``); ExpressionError otherwise."""
    number = parse_expression(text, {}, {}, limits=NUMBER_TEXT_LIMITS)
    if not isinstance(number, sympy.Rational):
        raise ExpressionError(f"{text!r} is not a rational number")
    return number


def exact_number(value: Any, what: str) -> sympy.Expr:
    """``value`` as an exact SymPy number (a float as the simplest fraction it rounds, 0.2 as 1/5).

    Raises :class:`~symbackprop.errors.OptionError` naming ``what`` for text that is not a number,
    NaN, infinity, complex numbers, True/False and anything that is not a number at all.
    """
    if isinstance(value, str):
        try:
            return rational_from_text(value)
        except ExpressionError as error:
            raise OptionError(f"{what} must be a finite real number; {value!r} is not one ({error})") from None
    if isinstance(value, sympy.Basic):
        if isinstance(value, sympy.Expr) and value.is_number and value.is_extended_real and value.is_finite:
            return value
        raise OptionError(f"{what} must be a finite real number, got {value}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OptionError(f"{what} must be a finite real number, got {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)):
        raise OptionError(f"{what} must be a finite real number, got {value!r}")
    return sympy.nsimplify(value)  # not text: SymPy converts the number itself
