"""Whether every function of a node can be evaluated, value and derivative, checked where it is written.

A function is only useful if its derivative can be evaluated too, since the
derivative is what the gradient code calls: :func:`check_expression` refuses,
when a node is defined, any function whose value or derivative would have no
implementation, instead of letting the evaluation fail later.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import sympy as sp
from sympy.core.function import Application, ArgumentIndexError

from . import special
from .codegen import ScalarPrinter
from .errors import InvalidNumberError, UnsupportedFunctionError
from .finite import number_problem
from .ops import NUMPY_KERNELS

#: Names the generated code provides itself (the Heaviside step of ReLU′).
_PROGRAM_NAMES = frozenset({"_step"})



def is_differentiable_function(func: sp.Basic) -> bool:
    """Whether SymPy gives a usable derivative for this function application."""
    if isinstance(func, (sp.Max, sp.Min, sp.Piecewise, sp.floor, sp.ceiling, sp.sign, sp.Heaviside)):
        return False
    if isinstance(func, sp.core.function.AppliedUndef):
        return False
    return True


def _known_names() -> set[str]:
    return set(NUMPY_KERNELS) | _PROGRAM_NAMES


def _missing(expr: sp.Expr, arguments: set[str]) -> list[str]:
    """The names the printed code of ``expr`` calls or reads that nothing provides."""
    text = ScalarPrinter(lambda symbol: symbol.name, partial=True).doprint(expr)  # what a program would call
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except SyntaxError:
        return [type(expr).__name__]
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - arguments
    known = _known_names()
    missing = []
    for name in sorted(read):
        if name in known and (name not in special.NEEDS_SCIPY or special.scipy_special() is not None):
            continue
        if name not in known and (hasattr(np, name) or hasattr(builtins, name)):
            continue  # the generated program falls back to NumPy's own names
        missing.append(name)
    return missing


def _ordinal(index: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(index, f"{index}th")


@lru_cache(maxsize=1024)
def _problem(generic: sp.Expr, varying: tuple[int, ...], scipy_lookup: Callable) -> str | None:
    """Why one function application (its varying arguments replaced by placeholders) cannot be evaluated."""
    del scipy_lookup  # part of the cache key only: the answer depends on whether it finds SciPy
    function = type(generic).__name__
    arguments = {str(s) for s in generic.free_symbols}
    missing = _missing(generic, arguments)
    if missing:
        return _explain(function, missing, None)
    for index in varying:
        try:
            derivative = generic.fdiff(index + 1)
        except (ArgumentIndexError, NotImplementedError, TypeError, ValueError):
            derivative = None
        if derivative is None or derivative.has(sp.Derivative, sp.Subs):
            return (f"uses {function}, which SymPy cannot differentiate with respect to its "
                    f"{_ordinal(index + 1)} argument; that argument must be a constant")
        missing = _missing(derivative, arguments)
        if missing:
            return _explain(function, missing, index + 1 if len(varying) > 1 else 0)
    return None


def _explain(function: str, missing: list[str], derivative_index: int | None) -> str:
    names = ", ".join(missing)
    what = f"uses {function}"
    if derivative_index is not None:
        by = f" with respect to its {_ordinal(derivative_index)} argument" if derivative_index else ""
        what += f", whose derivative{by} calls {names}"
    if all(n in special.NEEDS_SCIPY for n in missing):
        needs = "needs SciPy (scipy.special): " + special.INSTALL_SPECIAL
    else:
        needs = "has no NumPy implementation in symbackprop"
    return f"{what}, which {needs}"


def check_expression(expr: sp.Expr, where: str) -> None:
    """Refuse, naming it, a function of ``expr`` that the generated program could not evaluate
    or differentiate numerically."""
    for application in expr.atoms(Application):
        if not is_differentiable_function(application):
            raise UnsupportedFunctionError(f"{where} uses {type(application).__name__}, which symbackprop "
                                           "cannot differentiate")
        varying = tuple(i for i, a in enumerate(application.args) if a.free_symbols)
        placeholders = {i: sp.Symbol(f"_x{i}", real=True) for i in varying}
        try:
            generic = application.func(*[placeholders.get(i, a) for i, a in enumerate(application.args)])
        except (TypeError, ValueError):
            generic = application
        if not isinstance(generic, Application):  # a placeholder argument that evaluated away
            generic = application
        # The lookup, not its answer, is the key: SciPy is imported only for a function that needs it.
        problem = _problem(generic, varying, special.scipy_special)
        if problem is not None:
            raise UnsupportedFunctionError(f"{where} {problem}")


def refuse_kinks(name: str, expr: sp.Expr) -> None:
    """Refuse a function SymPy would differentiate wrongly at its kink (a max of scalars is rewritten
    only where it is a scalar node's own expression)."""
    for function in expr.atoms(Application):  # Max and Min are applications, not Functions
        if not is_differentiable_function(function):
            raise UnsupportedFunctionError(
                f"node {name!r} uses {type(function).__name__}, which symbackprop cannot "
                "differentiate here; use sbp.relu for max(0, z), sbp.maximum for tensors, a scalar node of its "
                "own for sp.Max or sp.Min of scalars, or sbp.elementwise for your own function"
            )


def check_numbers(name: str, expr: sp.Basic) -> None:
    """Refuse a number that is not a finite real (nan, oo, I) written into node ``name``'s definition."""
    problem = number_problem(expr)
    if problem is not None:
        raise InvalidNumberError(f"node {name!r}: {problem}")
