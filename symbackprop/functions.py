"""Activations and losses: SymPy functions with derivatives SymPy knows and NumPy that stays finite.

Each activation is one :class:`Activation`, usable on a SymPy scalar, on an
explicit SymPy matrix (element by element) and on a :class:`~symbackprop.tensor.Tensor`.
Derivatives come from SymPy (``fdiff`` of the classes below), so the scalar and
the vector level agree by construction.  The NumPy implementations avoid the
overflow of the textbook formulas: ``1/(1+exp(-z))`` is NaN below −710, while
the form built on ``exp(-|z|)`` is exact in both tails.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from mpmath.libmp.libmpf import prec_to_dps

from . import tensor as T
from .errors import UnsupportedFunctionError
from .gelu_silu import GATED_CLASSES, GATED_KERNELS, GELU, GELUTanh, SiLU
from .special import SPECIAL_KERNELS, check_expression
from .stable import STABLE_CLASSES, STABLE_KERNELS, relu_for_max

_t = sp.Symbol("t", real=True)


class _Primitive(sp.Function):
    """Our functions evaluate numerically through their SymPy primitive form."""

    def _eval_evalf(self, prec):
        return self.primitive().evalf(prec_to_dps(prec))


class ReLU(_Primitive):
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


class Sigmoid(_Primitive):
    """σ(z) = 1/(1 + e^{−z}); σ′(z) = σ(z)(1 − σ(z)), from the same σ(z) its consumers see."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.Half
        if z.is_Number:
            return 1 / (1 + sp.exp(-z))
        return None

    def fdiff(self, argindex=1):
        # s(1 − s), as PyTorch: a consumer dividing by 1 − s (BCE) cancels it exactly
        s = Sigmoid(self.args[0])
        return s * (1 - s)

    def primitive(self) -> sp.Expr:
        return 1 / (1 + sp.exp(-self.args[0]))


class Softplus(_Primitive):
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


class LeakyReLU(_Primitive):
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


def stable_sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _relu(z, at_zero=0):
    return np.maximum(z, 0.0)


def _leaky_relu(z, slope):
    return np.where(z > 0, z, slope * z)


def _softplus(z):
    return np.logaddexp(0.0, z)


#: NumPy implementations of the SymPy classes above, by class name (the code printer's names).
NUMPY_FUNCTIONS: dict[str, Callable] = {
    "ReLU": _relu,
    "Sigmoid": stable_sigmoid,
    "Softplus": _softplus,
    "LeakyReLU": _leaky_relu,
    **STABLE_KERNELS, **SPECIAL_KERNELS, **GATED_KERNELS,
}

#: SymPy function classes whose derivatives the engine trusts, beyond these.
_OWN_CLASSES = (ReLU, Sigmoid, Softplus, LeakyReLU, *STABLE_CLASSES, *GATED_CLASSES)


def primitive_form(expr: sp.Expr) -> sp.Expr:
    """Rewrite our functions into SymPy primitives (for an oracle independent of our ``fdiff``)."""
    return expr.replace(lambda e: isinstance(e, _OWN_CLASSES), lambda e: e.primitive())


@dataclass(frozen=True, eq=False)
class Activation:
    """An element-wise function of one variable.

    ``formula`` maps a SymPy scalar to a SymPy expression; ``derivative`` is its
    own Activation, derived by SymPy, so f′ prints and evaluates like any f.
    ``source`` keeps a user's plain Python function for rendering.
    """

    name: str
    formula: Callable[[sp.Expr], sp.Expr]
    source: Callable | None = field(default=None, compare=False)
    is_derivative_of: str | None = None

    def __call__(self, argument: Any) -> Any:
        if isinstance(argument, T.Tensor):
            return T.Elementwise(self, argument)
        if isinstance(argument, sp.MatrixBase):
            return argument.applyfunc(self.formula)
        if isinstance(argument, (sp.MatrixExpr,)):
            raise TypeError(f"{self.name}: SymPy matrix expressions are not supported; use net.input/param")
        if isinstance(argument, (int, float)) and not isinstance(argument, bool):
            argument = sp.sympify(argument)
        if isinstance(argument, sp.Expr):
            return self.formula(argument)
        raise TypeError(f"{self.name} cannot be applied to {type(argument).__name__}")

    def at(self, symbol: sp.Symbol) -> sp.Expr:
        """The formula applied to a symbol: f(z)."""
        return self.formula(symbol)

    @property
    def derivative(self) -> Activation:
        cached = _DERIVATIVES.get(id(self))
        if cached is None:
            body = sp.diff(self.formula(_t), _t)
            if body.has(sp.Derivative, sp.Subs):
                raise UnsupportedFunctionError(
                    f"cannot differentiate activation {self.name!r}: SymPy leaves {body}"
                )
            cached = Activation(self.name + "'", sp.Lambda(_t, body), is_derivative_of=self.name)
            _DERIVATIVES[id(self)] = (self, cached)  # the key object is kept alive with its value
            return cached
        return cached[1]

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


_DERIVATIVES: dict[int, tuple[Activation, Activation]] = {}


relu = Activation("relu", lambda z: ReLU(z))
sigmoid = Activation("sigmoid", lambda z: Sigmoid(z))
tanh = Activation("tanh", lambda z: sp.tanh(z))
softplus = Activation("softplus", lambda z: Softplus(z))
identity = Activation("identity", lambda z: z)
silu = Activation("silu", lambda z: SiLU(z))


class _GELU(Activation):
    """``nn.GELU``: ``gelu(z)``; ``gelu(approximate="tanh")`` is PyTorch's tanh approximation."""

    def __call__(self, argument: Any = None, approximate: str = "none") -> Any:
        chosen = {"none": self, "tanh": ACTIVATIONS["gelu_tanh"]}.get(approximate)
        if chosen is None:
            raise UnsupportedFunctionError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")
        return chosen if argument is None else Activation.__call__(chosen, argument)


gelu = _GELU("gelu", lambda z: GELU(z))


def make_relu(grad_at_zero: Any = 0) -> Activation:
    """ReLU whose derivative at exactly 0 is ``grad_at_zero`` (PyTorch: 0; SymPy's Heaviside: 1/2)."""
    value = sp.nsimplify(grad_at_zero)
    if value == 0:
        return relu
    return Activation("relu", lambda z: ReLU(z, value))


_DEFAULT_SLOPE = sp.Rational(1, 100)


def leaky_relu(argument: Any = None, negative_slope: Any = _DEFAULT_SLOPE) -> Any:
    """PyTorch's LeakyReLU (default slope 0.01); ``leaky_relu(z)`` applies it,
    ``leaky_relu(negative_slope=0.2)`` returns the activation."""
    slope = sp.nsimplify(negative_slope)
    activation = Activation("leaky_relu", lambda z: LeakyReLU(z, slope))
    return activation if argument is None else activation(argument)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a for a in (relu, sigmoid, tanh, softplus, identity, gelu, silu)
}
ACTIVATIONS["leaky_relu"] = leaky_relu()
ACTIVATIONS["gelu_tanh"] = Activation("gelu_tanh", lambda z: GELUTanh(z))


def elementwise(function: Any, name: str | None = None) -> Activation:
    """A user-defined activation from a SymPy Lambda, a SymPy function class
    (``sp.sin``) or a Python function of one SymPy variable (``lambda t: t**3``)."""
    if isinstance(function, Activation):
        return function
    if isinstance(function, sp.Lambda):
        if len(function.variables) != 1:
            raise UnsupportedFunctionError("an element-wise function takes exactly one variable")
        (variable,) = function.variables
        label = name or "f"
        formula = sp.Lambda(variable, relu_for_max(function.expr))
        source = None
    elif callable(function):
        try:
            probe = function(_t)
        except Exception as error:  # a function of Python floats only, for instance math.exp
            raise UnsupportedFunctionError(
                f"element-wise function {getattr(function, '__name__', function)!r} cannot be "
                f"applied to a SymPy symbol ({error}); write it with SymPy or NumPy-free operators"
            ) from None
        if not isinstance(probe, sp.Expr):
            raise UnsupportedFunctionError(
                f"element-wise function must return a SymPy expression, got {type(probe).__name__}"
            )
        label = name or getattr(function, "__name__", "f")
        if label == "<lambda>":
            label = "f"
        formula = sp.Lambda(_t, relu_for_max(probe))
        source = function if inspect.isfunction(function) else None
    else:
        raise UnsupportedFunctionError(f"cannot use {function!r} as an element-wise function")
    activation = Activation(label, formula, source=source)
    _ = activation.derivative  # fails now, at definition, if SymPy cannot differentiate it
    check_expression(activation.at(_t), f"element-wise function {label!r}")
    return activation


# -- losses ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LossKind:
    """A loss's forward definition; its derivative lives in the rules registry."""

    name: str
    explicit: Callable[[sp.Matrix, sp.Matrix], sp.Expr]
    numeric: Callable[[np.ndarray, np.ndarray], np.ndarray]
    torch_name: str


def _explicit_half_sse(h, y):
    return sp.Rational(1, 2) * sum((h[i] - y[i]) ** 2 for i in range(len(h)))


def _explicit_mse(h, y):
    return sum((h[i] - y[i]) ** 2 for i in range(len(h))) / len(h)


def _explicit_bce(p, y):
    return -sum(y[i] * sp.log(p[i]) + (1 - y[i]) * sp.log(1 - p[i]) for i in range(len(p))) / len(p)


def _explicit_bce_logits(z, y):
    return sum(Softplus(z[i]) - y[i] * z[i] for i in range(len(z))) / len(z)


def _explicit_softmax_ce(z, y):
    log_sum = sp.log(sum(sp.exp(z[i]) for i in range(len(z))))
    return -sum(y[i] * (z[i] - log_sum) for i in range(len(z)))


def _sum_last2(a):
    return np.sum(a, axis=(-2, -1), keepdims=True)


def _numeric_half_sse(h, y):
    return 0.5 * _sum_last2((h - y) ** 2)


def _numeric_mse(h, y):
    return _sum_last2((h - y) ** 2) / (h.shape[-2] * h.shape[-1])


def _numeric_bce(p, y):
    # PyTorch's BCELoss clamps each log at -100 so that p = 0 or 1 gives a finite loss.
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_q = np.maximum(np.log1p(-p), -100.0)
    return -_sum_last2(y * log_p + (1 - y) * log_q) / (p.shape[-2] * p.shape[-1])


def _numeric_bce_logits(z, y):
    return _sum_last2(np.logaddexp(0.0, z) - y * z) / (z.shape[-2] * z.shape[-1])


def log_softmax(z):
    """Column-wise log-softmax by log-sum-exp (stable for any logits)."""
    shifted = z - np.max(z, axis=-2, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-2, keepdims=True))


def _numeric_softmax_ce(z, y):
    return -_sum_last2(y * log_softmax(z))


LOSSES: dict[str, LossKind] = {
    k.name: k
    for k in (
        LossKind("half_squared_error", _explicit_half_sse, _numeric_half_sse, "0.5 * sum of squares"),
        LossKind("mse", _explicit_mse, _numeric_mse, "nn.MSELoss"),
        LossKind("binary_cross_entropy", _explicit_bce, _numeric_bce, "nn.BCELoss"),
        LossKind("bce_with_logits", _explicit_bce_logits, _numeric_bce_logits, "nn.BCEWithLogitsLoss"),
        LossKind("cross_entropy", _explicit_softmax_ce, _numeric_softmax_ce, "nn.CrossEntropyLoss"),
    )
}


def _loss(kind: str, prediction: Any, target: Any) -> Any:
    both_scalar = not isinstance(prediction, T.Tensor) and not isinstance(target, T.Tensor)
    if both_scalar and kind == "half_squared_error":
        return sp.Rational(1, 2) * (prediction - target) ** 2
    if both_scalar and kind == "mse":
        return (prediction - target) ** 2
    h, y = T.as_tensor(prediction), T.as_tensor(target)
    if h.shape != y.shape:
        raise T.ShapeMismatchError(
            f"{kind}: prediction {h!r} has shape {h.shape} but target {y!r} has shape {y.shape}"
        )
    if h.shape[1] != 1:
        raise T.ShapeMismatchError(f"{kind}: prediction and target must be column vectors, got shape {h.shape}")
    return T.LossOp(kind, h, y)


def half_squared_error(prediction: Any, target: Any) -> Any:
    """½‖h − y‖², the reference page's loss."""
    return _loss("half_squared_error", prediction, target)


def mse(prediction: Any, target: Any) -> Any:
    """Mean of squared errors over the elements, as ``nn.MSELoss()``."""
    return _loss("mse", prediction, target)


def binary_cross_entropy(probability: Any, target: Any) -> Any:
    """−mean(y log p + (1 − y) log(1 − p)), as ``nn.BCELoss()`` (logs clamped at −100)."""
    return _loss("binary_cross_entropy", probability, target)


def bce_with_logits(logits: Any, target: Any) -> Any:
    """Binary cross-entropy of σ(z), computed stably from logits, as ``nn.BCEWithLogitsLoss()``."""
    return _loss("bce_with_logits", logits, target)


def cross_entropy(logits: Any, target: Any) -> Any:
    """−Σ y log softmax(z) for a probability (one-hot) target, as ``nn.CrossEntropyLoss()``."""
    return _loss("cross_entropy", logits, target)


softmax_cross_entropy = cross_entropy


def total(argument: Any) -> Any:
    """Sum of all elements of a tensor (a scalar stays as it is)."""
    return T.total(argument) if isinstance(argument, T.Tensor) else argument
