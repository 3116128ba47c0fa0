"""SymPy's special functions in NumPy, and the check that every function of a node can be evaluated.

A generated program calls each function by the name SymPy's NumPy printer gives
it (``asinh`` prints as ``arcsinh``, ``loggamma`` as ``lgamma``), so the kernels
below are keyed by those names.  Most of them need SciPy's ``scipy.special``,
an optional dependency (``pip install 'symbackprop[special]'``); ``erf`` and
``erfc`` fall back to Python's ``math`` module, so GELU works without SciPy.

A function is only useful if its derivative can be evaluated too, since the
derivative is what the gradient code calls: :func:`check_expression` refuses,
when a node is defined, any function whose value or derivative would have no
implementation, instead of letting the evaluation fail later.
"""

from __future__ import annotations

import ast
import builtins
import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import sympy as sp
from sympy.core.function import Application, ArgumentIndexError

from .errors import UnsupportedFunctionError

INSTALL_SPECIAL = "pip install 'symbackprop[special]'"


def scipy_special():
    """``scipy.special``, or None where SciPy is not installed (looked up on each call, so tests can hide it)."""
    try:
        import scipy.special
    except ImportError:
        return None
    return scipy.special


def _by_element(function, x):
    """A scalar ``math`` function applied to every element (the fallback without SciPy)."""
    return np.vectorize(function, otypes=[float])(np.asarray(x, dtype=float))


def _erf(x):
    special = scipy_special()
    return special.erf(x) if special is not None else _by_element(math.erf, x)


def _erfc(x):
    special = scipy_special()
    return special.erfc(x) if special is not None else _by_element(math.erfc, x)


def _gamma(x):
    return scipy_special().gamma(x)


def _lgamma(x):
    # SymPy's loggamma is complex for x <= 0 (the log of a negative Γ, or across the branch cut),
    # so there it is NaN, as log(-1) is; scipy's gammaln (and torch.lgamma) would give log|Γ(x)|.
    x = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, scipy_special().gammaln(np.where(x > 0, x, 1.0)), np.nan)


def _polygamma(n, x):
    return scipy_special().polygamma(n, x)


def _lambert_w(x, k=0):
    # scipy's lambertw is complex-valued; where the branch is not real SymPy's value is complex: NaN.
    w = scipy_special().lambertw(np.asarray(x, dtype=float), int(k))
    return np.where(w.imag == 0, w.real, np.nan)


def _besselj(n, x):
    return scipy_special().jv(n, x)


def _ei(x):
    return scipy_special().expi(x)


#: Kernels by the name SymPy's NumPy printer emits (``allow_unknown_functions``, short module names).
SPECIAL_KERNELS: dict[str, Callable] = {
    "arcsinh": np.arcsinh,
    "arccosh": np.arccosh,
    "arctanh": np.arctanh,
    "sinc": np.sinc,  # SymPy's sinc(x) = sin(x)/x prints as sinc(x/pi): NumPy's is normalised
    "pi": np.pi,
    "e": np.e,
    "erf": _erf,
    "erfc": _erfc,
    "gamma": _gamma,
    "lgamma": _lgamma,
    "polygamma": _polygamma,
    "LambertW": _lambert_w,
    "besselj": _besselj,
    "Ei": _ei,
}

#: Printed names whose kernel needs scipy.special.
NEEDS_SCIPY = frozenset({"gamma", "lgamma", "polygamma", "LambertW", "besselj", "Ei"})

#: Names the generated code provides itself (the Heaviside step of ReLU′).
_PROGRAM_NAMES = frozenset({"_step"})

# -- which functions can be evaluated ---------------------------------------------------------


def is_differentiable_function(func: sp.Basic) -> bool:
    """Whether SymPy gives a usable derivative for this function application."""
    if isinstance(func, (sp.Max, sp.Min, sp.Piecewise, sp.floor, sp.ceiling, sp.sign, sp.Heaviside)):
        return False
    if isinstance(func, sp.core.function.AppliedUndef):
        return False
    return True


def _known_names() -> set[str]:
    from .ops import NUMPY_KERNELS  # the operation records import this module: look the table up late

    return set(NUMPY_KERNELS) | _PROGRAM_NAMES


def _missing(expr: sp.Expr, arguments: set[str]) -> list[str]:
    """The names the printed code of ``expr`` calls or reads that nothing provides."""
    from .codegen import ScalarPrinter  # the code generator reads the operation records, which import this module

    text = ScalarPrinter(lambda symbol: symbol.name, partial=True).doprint(expr)  # what a program would call
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except SyntaxError:
        return [type(expr).__name__]
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - arguments
    known = _known_names()
    missing = []
    for name in sorted(read):
        if name in known and (name not in NEEDS_SCIPY or scipy_special() is not None):
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
    needs = "needs SciPy (scipy.special): " + INSTALL_SPECIAL if all(n in NEEDS_SCIPY for n in missing) else \
        "has no NumPy implementation in symbackprop"
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
        problem = _problem(generic, varying, scipy_special)
        if problem is not None:
            raise UnsupportedFunctionError(f"{where} {problem}")
