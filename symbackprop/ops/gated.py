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

from typing import Any

import numpy as np
import sympy as sp

from ..errors import UnsupportedFunctionError
from ..special import _erfc
from .activations import Sigmoid, stable_sigmoid
from .primitive import PrimitiveForm
from .record import Activation, ActivationOp, FunctionOp, declare

#: PyTorch's coefficient of the cubic term in the tanh approximation.
TANH_CUBIC = sp.Rational(44715, 1000000)
_SQRT_2_OVER_PI = sp.sqrt(2 / sp.pi)


class _Named(PrimitiveForm):
    """A function of one argument."""

    nargs = 1


class NormalCDF(_Named):
    """Φ(z) = ½(1 + erf(z/√2)), the standard normal CDF; Φ′(z) = e^(−z²/2)/√(2π)."""


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


def tanh_argument_slope(z: sp.Expr) -> sp.Expr:
    """u′ = √(2/π)(1 + 3·0.044715z²), written out: ``sp.diff(u, z)`` needs z to be a symbol, and z may be −c."""
    return _SQRT_2_OVER_PI * (1 + 3 * TANH_CUBIC * z ** 2)


class GELUTanh(_Named):
    """½z(1 + tanh u) = z·σ(2u); its derivative is σ(2u) + 2z·σ(2u)σ(−2u)·u′."""


    @classmethod
    def eval(cls, z):
        return sp.S.Zero if z.is_zero else None

    def fdiff(self, argindex=1):
        z = self.args[0]
        u = tanh_argument(z)
        return Sigmoid(2 * u) + 2 * z * Sigmoid(2 * u) * Sigmoid(-2 * u) * tanh_argument_slope(z)

    def primitive(self) -> sp.Expr:
        z = self.args[0]
        return z * (1 + sp.tanh(tanh_argument(z))) / 2


class SiLU(_Named):
    """z·σ(z) (also called swish); SiLU′(z) = σ(z)(1 + z·σ(−z))."""


    @classmethod
    def eval(cls, z):
        return sp.S.Zero if z.is_zero else None

    def fdiff(self, argindex=1):
        z = self.args[0]
        return Sigmoid(z) * (1 + z * Sigmoid(-z))

    def primitive(self) -> sp.Expr:
        z = self.args[0]
        return z / (1 + sp.exp(-z))


# -- NumPy -------------------------------------------------------------------------------------

_SQRT_HALF = float(np.sqrt(0.5))
_SQRT_2_OVER_PI_FLOAT = float(np.sqrt(2.0 / np.pi))
_CUBIC = 0.044715


def _normal_cdf(x):
    return 0.5 * _erfc(-np.asarray(x, dtype=float) * _SQRT_HALF)


def _gelu(x):
    x = np.asarray(x, dtype=float)
    return x * _normal_cdf(x)


def _gelu_tanh(x):
    x = np.asarray(x, dtype=float)
    return x * stable_sigmoid(2.0 * _SQRT_2_OVER_PI_FLOAT * (x + _CUBIC * x ** 3))


def _silu(x):
    x = np.asarray(x, dtype=float)
    return x * stable_sigmoid(x)


# -- the records ---------------------------------------------------------------------------------

declare(FunctionOp(NormalCDF, _normal_cdf, r"\Phi", "Φ"))
declare(FunctionOp(GELU, _gelu, r"\operatorname{GELU}", "GELU"))
declare(FunctionOp(GELUTanh, _gelu_tanh, r"\operatorname{GELU}_{\tanh}", "GELU (tanh)"))
declare(FunctionOp(SiLU, _silu, r"\operatorname{SiLU}", "SiLU"))

gelu_tanh = Activation("gelu_tanh", lambda z: GELUTanh(z))
silu = Activation("silu", lambda z: SiLU(z))


class _GELU(Activation):
    """``nn.GELU``: ``gelu(z)``; ``gelu(approximate="tanh")`` is PyTorch's tanh approximation."""

    def __call__(self, argument: Any = None, approximate: str = "none") -> Any:
        chosen = {"none": self, "tanh": gelu_tanh}.get(approximate)
        if chosen is None:
            raise UnsupportedFunctionError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")
        return chosen if argument is None else Activation.__call__(chosen, argument)


gelu = _GELU("gelu", lambda z: GELU(z))

declare(ActivationOp("gelu", gelu, r"\operatorname{GELU}", "GELU",
                     (r"GELU multiplies the gradient by $\Phi(z) + z \, \phi(z)$, $\Phi$ and $\phi$ the "
                      r"standard normal CDF and density",
                      r"GELU: gradient에 $\Phi(z) + z \, \phi(z)$를 곱함 "
                      r"($\Phi$, $\phi$는 표준정규분포의 누적분포함수와 밀도)"),
                     torch="GELU", from_torch=lambda module: gelu(approximate=module.approximate)))
declare(ActivationOp("gelu_tanh", gelu_tanh, r"\operatorname{GELU}_{\tanh}", "GELU (tanh)",
                     (r"GELU's tanh approximation multiplies the gradient by its derivative, written with $\sigma(2u)$",
                      r"GELU의 tanh 근사: gradient에 $\sigma(2u)$로 쓴 도함수를 곱함")))
declare(ActivationOp("silu", silu, r"\operatorname{SiLU}", "SiLU",
                     (r"SiLU multiplies the gradient by $\sigma(z)(1 + z \, \sigma(-z))$",
                      r"SiLU: gradient에 $\sigma(z)(1 + z \, \sigma(-z))$를 곱함"),
                     torch="SiLU"))
