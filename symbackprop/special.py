"""SymPy's special functions in NumPy, keyed by the names SymPy's NumPy printer writes.

A generated program calls each function by the name SymPy's NumPy printer gives
it (``asinh`` prints as ``arcsinh``, ``loggamma`` as ``lgamma``), so the kernels
below are keyed by those names.  Most of them need SciPy's ``scipy.special``,
an optional dependency (``pip install 'symbackprop[special]'``); ``erf`` and
``erfc`` fall back to Python's ``math`` module, so GELU works without SciPy.

Whether a node's functions can be evaluated at all is checked in
:mod:`symbackprop.evaluable`, which reads these tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

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
