"""GELU and SiLU as SymPy functions, with PyTorch's definitions and NumPy kernels finite in both tails.

* ``GELU(z)`` = z·Φ(z), Φ the standard normal CDF — ``nn.GELU()``;
* ``GELUTanh(z)`` = ½z(1 + tanh(√(2/π)(z + 0.044715z³))) — ``nn.GELU(approximate="tanh")``;
* ``SiLU(z)`` = z·σ(z) — ``nn.SiLU()``.

The textbook forms cancel in the left tail: 1 + erf(z/√2) and 1 + tanh(u) are
differences of numbers close to 1 there.  The kernels use Φ(z) = ½erfc(−z/√2)
and 1 + tanh(u) = 2σ(2u) instead, which keep full relative accuracy, and the
derivatives are written with Φ and σ for the same reason.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from mpmath.libmp.libmpf import prec_to_dps

from .special import _erfc

#: PyTorch's coefficient of the cubic term in the tanh approximation.
TANH_CUBIC = sp.Rational(44715, 1000000)
_SQRT_2_OVER_PI = sp.sqrt(2 / sp.pi)


def _sigmoid_class():
    from .functions import Sigmoid  # functions imports this module

    return Sigmoid


class _Named(sp.Function):
    """Evaluates numerically through its primitive form and prints as its LaTeX name."""

    nargs = 1
    latex_name = ""

    def _eval_evalf(self, prec):
        return self.primitive().evalf(prec_to_dps(prec))

    def _latex(self, printer, exp=None):
        head = f"{self.latex_name}^{{{exp}}}" if exp else self.latex_name
        return rf"{head}\left({printer._print(self.args[0])}\right)"


class NormalCDF(_Named):
    """Φ(z) = ½(1 + erf(z/√2)), the standard normal CDF; Φ′(z) = e^(−z²/2)/√(2π)."""

    latex_name = r"\Phi"

    @classmethod
    def eval(cls, z):
        return sp.S.Half if z.is_zero else None

    def fdiff(self, argindex=1):
        z = self.args[0]
        return sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)

    def primitive(self) -> sp.Expr:
        return (1 + sp.erf(self.args[0] / sp.sqrt(2))) / 2


class GELU(_Named):
    """z·Φ(z) (PyTorch's exact GELU); GELU′(z) = Φ(z) + z·e^(−z²/2)/√(2π)."""

    latex_name = r"\operatorname{GELU}"

    @classmethod
    def eval(cls, z):
        return sp.S.Zero if z.is_zero else None

    def fdiff(self, argindex=1):
        z = self.args[0]
        return NormalCDF(z) + z * NormalCDF(z).fdiff()

    def primitive(self) -> sp.Expr:
        z = self.args[0]
        return z * (1 + sp.erf(z / sp.sqrt(2))) / 2


def tanh_argument(z: sp.Expr) -> sp.Expr:
    """u = √(2/π)(z + 0.044715z³), the argument of tanh in GELU's approximation."""
    return _SQRT_2_OVER_PI * (z + TANH_CUBIC * z ** 3)


class GELUTanh(_Named):
    """½z(1 + tanh u) = z·σ(2u); its derivative is σ(2u) + 2z·σ(2u)σ(−2u)·u′."""

    latex_name = r"\operatorname{GELU}_{\tanh}"

    @classmethod
    def eval(cls, z):
        return sp.S.Zero if z.is_zero else None

    def fdiff(self, argindex=1):
        sigmoid = _sigmoid_class()
        z = self.args[0]
        u = tanh_argument(z)
        return sigmoid(2 * u) + 2 * z * sigmoid(2 * u) * sigmoid(-2 * u) * sp.diff(u, z)

    def primitive(self) -> sp.Expr:
        z = self.args[0]
        return z * (1 + sp.tanh(tanh_argument(z))) / 2


class SiLU(_Named):
    """z·σ(z) (also called swish); SiLU′(z) = σ(z)(1 + z·σ(−z))."""

    latex_name = r"\operatorname{SiLU}"

    @classmethod
    def eval(cls, z):
        return sp.S.Zero if z.is_zero else None

    def fdiff(self, argindex=1):
        sigmoid = _sigmoid_class()
        z = self.args[0]
        return sigmoid(z) * (1 + z * sigmoid(-z))

    def primitive(self) -> sp.Expr:
        z = self.args[0]
        return z / (1 + sp.exp(-z))


# -- NumPy -------------------------------------------------------------------------------------

_SQRT_HALF = float(np.sqrt(0.5))
_SQRT_2_OVER_PI_FLOAT = float(np.sqrt(2.0 / np.pi))
_CUBIC = 0.044715


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _normal_cdf(x):
    return 0.5 * _erfc(-np.asarray(x, dtype=float) * _SQRT_HALF)


def _gelu(x):
    x = np.asarray(x, dtype=float)
    return x * _normal_cdf(x)


def _gelu_tanh(x):
    x = np.asarray(x, dtype=float)
    return x * _sigmoid(2.0 * _SQRT_2_OVER_PI_FLOAT * (x + _CUBIC * x ** 3))


def _silu(x):
    x = np.asarray(x, dtype=float)
    return x * _sigmoid(x)


#: Kernels by class name (the name the NumPy printer gives an application of each class).
GATED_KERNELS = {"NormalCDF": _normal_cdf, "GELU": _gelu, "GELUTanh": _gelu_tanh, "SiLU": _silu}
GATED_CLASSES = (NormalCDF, GELU, GELUTanh, SiLU)
