"""The classic activations: ReLU, the sigmoid, tanh, softplus, the identity and leaky ReLU.

Each SymPy class here has its derivative (``fdiff``), its textbook form
(``primitive``, which the oracle differentiates independently) and a NumPy
kernel that stays finite in both tails: ``1/(1+exp(-z))`` is NaN below −710,
the form built on ``exp(-|z|)`` is exact there.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import sympy as sp

from ..errors import UnsupportedFunctionError
from ..parsing.number_text import exact_number
from ..printing.precedence import Precedence, Printed
from .primitive import PrimitiveForm
from .record import Activation, ActivationOp, FunctionOp, declare


class ReLU(PrimitiveForm):
    """max(0, z); its derivative at 0 is the second argument (default 0, as in PyTorch)."""

    nargs = (1, 2)

    @classmethod
    def eval(cls, z, at_zero=None):
        if z.is_number and z.is_real:
            return z if z > 0 else sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return sp.Heaviside(self.args[0], self.grad_at_zero)

    @property
    def grad_at_zero(self) -> sp.Expr:
        return self.args[1] if len(self.args) > 1 else sp.S.Zero

    def primitive(self) -> sp.Expr:
        z = self.args[0]
        return sp.Piecewise((z, z > 0), (0, True))


class Sigmoid(PrimitiveForm):
    """σ(z) = 1/(1 + e^{−z}); σ′(z) = σ(z)(1 − σ(z)) = σ(z)σ(−z), the form exact in both tails."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.Half
        if z.is_Number:
            return 1 / (1 + sp.exp(-z))
        return None

    def fdiff(self, argindex=1):
        # σ(z)σ(−z), not s(1 − s): 1 − s loses the digits of σ(−z) where s is near 1 (five at z = 26);
        # the printers write it σ(z)(1 − σ(z)), and BCE∘σ is one exact step of the program (codegen.logits)
        z = self.args[0]
        return Sigmoid(z) * Sigmoid(-z)

    def primitive(self) -> sp.Expr:
        return 1 / (1 + sp.exp(-self.args[0]))


class Softplus(PrimitiveForm):
    """log(1 + e^z); its derivative is σ(z)."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.log(2)
        return None

    def fdiff(self, argindex=1):
        return Sigmoid(self.args[0])

    def primitive(self) -> sp.Expr:
        return sp.log(1 + sp.exp(self.args[0]))


class LeakyReLU(PrimitiveForm):
    """z for z > 0, slope·z otherwise (PyTorch's derivative at 0 is the slope)."""

    nargs = 2

    @classmethod
    def eval(cls, z, slope):
        if z.is_number and z.is_real:
            return z if z > 0 else slope * z
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        z, slope = self.args
        return sp.Heaviside(z, 0) + slope * sp.Heaviside(-z, 1)

    def primitive(self) -> sp.Expr:
        z, slope = self.args
        return sp.Piecewise((z, z > 0), (slope * z, True))


# -- NumPy kernels ------------------------------------------------------------------------------

def stable_sigmoid(z):
    """σ(z) = e^{min(z, 0)} / (1 + e^{−|z|}): finite for every z, e^{z} kept in the far negative tail, and no
    branch (a ``where`` of 1/(1 + e) and e/(1 + e) computes both, in twice the passes over fresh arrays).
    The same numbers, bit for bit, as that ``where``; its two arrays are reused in place."""
    z = np.asarray(z, dtype=float)
    if z.ndim == 0:
        return np.asarray(np.exp(np.minimum(z, 0.0)) / (1.0 + np.exp(-np.abs(z))))
    denominator = np.abs(z)
    np.negative(denominator, out=denominator)
    np.exp(denominator, out=denominator)
    denominator += 1.0
    numerator = np.minimum(z, 0.0)
    np.exp(numerator, out=numerator)
    return np.divide(numerator, denominator, out=numerator)


def _relu(z, at_zero=0):
    return np.maximum(z, 0.0)


def _leaky_relu(z, slope):
    return np.where(z > 0, z, slope * z)


def _softplus(z):
    return np.logaddexp(0.0, z)


# -- the records ---------------------------------------------------------------------------------

declare(FunctionOp(ReLU, _relu, r"\operatorname{ReLU}", "ReLU"))
declare(FunctionOp(Sigmoid, stable_sigmoid, r"\sigma", "σ"))
declare(FunctionOp(Softplus, _softplus, r"\operatorname{softplus}", "softplus"))
declare(FunctionOp(LeakyReLU, _leaky_relu, r"\operatorname{LeakyReLU}", "LReLU"))

relu = Activation("relu", lambda z: ReLU(z))
sigmoid = Activation("sigmoid", lambda z: Sigmoid(z))
tanh = Activation("tanh", lambda z: sp.tanh(z))
softplus = Activation("softplus", lambda z: Softplus(z))
identity = Activation("identity", lambda z: z)

_DEFAULT_SLOPE = sp.Rational(1, 100)


def leaky_relu(argument: Any = None, negative_slope: Any = _DEFAULT_SLOPE) -> Any:
    """PyTorch's LeakyReLU (default slope 0.01); ``leaky_relu(z)`` applies it,
    ``leaky_relu(negative_slope=0.2)`` returns the activation."""
    slope = exact_number(negative_slope, "leaky_relu: negative_slope")
    activation = Activation("leaky_relu", functools.partial(_leaky_relu_with_slope, slope))
    return activation if argument is None else activation(argument)


def make_relu(grad_at_zero: Any = 0) -> Activation:
    """ReLU whose derivative at exactly 0 is ``grad_at_zero`` (PyTorch: 0; SymPy's Heaviside: 1/2)."""
    value = exact_number(grad_at_zero, "make_relu: grad_at_zero")
    if value == 0:
        return relu
    return Activation("relu", functools.partial(_relu_with_grad_at_zero, value))


# Module-level, so that an activation with an option pickles (a lambda would not).
def _leaky_relu_with_slope(slope: sp.Expr, z: sp.Expr) -> sp.Expr:
    return LeakyReLU(z, slope)


def _relu_with_grad_at_zero(grad_at_zero: sp.Expr, z: sp.Expr) -> sp.Expr:
    return ReLU(z, grad_at_zero)


def _sigmoid_derivative(argument: str) -> Printed:
    return Printed(rf"\sigma\left({argument}\right) \odot \left(1 - \sigma\left({argument}\right)\right)",
                   Precedence.HADAMARD)


def _tanh_derivative(argument: str) -> Printed:
    return Printed(rf"1 - \tanh^{{2}}\left({argument}\right)", Precedence.ADD)


declare(ActivationOp("relu", relu, r"\operatorname{ReLU}", "ReLU",
                     ("ReLU passes the gradient where its input was positive",
                      "ReLU: 입력이 양수였던 곳만 gradient 전달"), torch="ReLU"))
declare(ActivationOp("sigmoid", sigmoid, r"\sigma", "σ",
                     (r"the sigmoid multiplies the gradient by $\sigma(z)(1 - \sigma(z))$",
                      r"시그모이드: gradient에 $\sigma(z)(1 - \sigma(z))$를 곱함"), torch="Sigmoid",
                     derivative_latex=_sigmoid_derivative))
declare(ActivationOp("tanh", tanh, r"\tanh", "tanh",
                     (r"tanh multiplies the gradient by $1 - \tanh^{2}(z)$",
                      r"tanh: gradient에 $1 - \tanh^{2}(z)$를 곱함"),
                     torch="Tanh", derivative_latex=_tanh_derivative, from_output=lambda y: 1 - y ** 2))
# nn.Softplus becomes linear above its threshold (20), which this softplus does not: beyond it the
# two differ by about e⁻²⁰.
declare(ActivationOp("softplus", softplus, r"\operatorname{softplus}", "softplus",
                     (r"softplus multiplies the gradient by $\sigma(z)$", r"softplus: gradient에 $\sigma(z)$를 곱함"),
                     torch="Softplus", from_torch=lambda module: _softplus_from_torch(module)))
declare(ActivationOp("identity", identity, r"\operatorname{id}", "id",
                     ("the identity passes the gradient through unchanged", "항등 함수: gradient를 그대로 전달"),
                     torch="Identity"))
declare(ActivationOp("leaky_relu", leaky_relu(), r"\operatorname{LeakyReLU}", "LReLU",
                     ("leaky ReLU passes the gradient where its input was positive and scales it by the slope "
                      "elsewhere", "Leaky ReLU: 입력이 양수인 곳은 그대로, 나머지는 기울기를 곱해 전달"),
                     torch="LeakyReLU", from_torch=lambda module: leaky_relu(negative_slope=module.negative_slope),
                     call=leaky_relu))


def _softplus_from_torch(module: Any) -> Activation:
    if module.beta != 1:
        raise UnsupportedFunctionError(f"nn.Softplus with beta={module.beta} is not supported; only beta=1")
    return softplus


mish = Activation("mish", lambda z: z * sp.tanh(Softplus(z)))

declare(ActivationOp("mish", mish, r"\operatorname{Mish}", "Mish",
                     (r"Mish multiplies the gradient by $\tanh(\operatorname{softplus} z) + z \, \sigma(z) \, "
                      r"(1 - \tanh^{2}(\operatorname{softplus} z))$",
                      r"Mish: gradient에 도함수 $\tanh(\operatorname{softplus} z) + z \, \sigma(z) \, "
                      r"(1 - \tanh^{2}(\operatorname{softplus} z))$를 곱함"),
                     torch="Mish"))
