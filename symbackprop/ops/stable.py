"""The losses of the scalar level as SymPy functions whose NumPy kernels are the vector level's.

A scalar-level network writes its loss out element by element.  Written with
``log`` and ``exp`` the softmax overflows at logits of ±800 and the binary
cross-entropy of p = 0 or 1 is infinite; these classes give the scalar level
the vector level's safeguards with the same formulas, so both levels compute
the same numbers: log-sum-exp shifted by its largest argument, PyTorch's
``BCELoss`` clamp of each log at −100 and its gradient's divisor
max(p(1 − p), 10⁻¹²).  SymPy sees the textbook definitions (``primitive``,
the oracle's form, and ``fdiff``), the documents print them as the textbook
writes them.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from .activations import ReLU, stable_sigmoid
from .primitive import PrimitiveForm
from .record import FunctionOp, declare

#: PyTorch's BCELoss: each log is at least this, and the gradient divides by at least EPSILON,
#: its 1e-12 as a float32 constant (9.99999996e-13), which sets the gradient where p(1 − p) < 1e-12.
LOG_CLAMP = -100.0
EPSILON = float(np.float32(1e-12))


def _clamped_log(u: sp.Expr) -> sp.Expr:
    return sp.Integer(-100) if u.is_zero else sp.Max(sp.log(u), -100)


class LogSumExp(PrimitiveForm):
    """log(e^{z₁} + … + e^{zₙ}); ∂/∂zₖ is the softmax e^{zₖ − LogSumExp(z)}, which cannot overflow."""

    @classmethod
    def eval(cls, *z):
        if not z:
            raise TypeError("LogSumExp takes at least one argument")
        if len(z) == 1:
            return z[0]
        if all(a.is_Number for a in z):
            return sp.log(sp.Add(*(sp.exp(a) for a in z)))
        return None

    def fdiff(self, argindex=1):
        if not 1 <= argindex <= len(self.args):
            raise sp.ArgumentIndexError(self, argindex)
        return sp.exp(self.args[argindex - 1] - self)

    def primitive(self) -> sp.Expr:
        return sp.log(sp.Add(*(sp.exp(a) for a in self.args)))


class LogLikelihood(PrimitiveForm):
    """y log p + (1 − y) log(1 − p), each log clamped at −100; −LogLikelihood is one element's BCE."""

    nargs = 2
    precedence = PRECEDENCE["Add"]  # printed as a sum: a factor or a negation puts it in parentheses

    @classmethod
    def eval(cls, p, y):
        if p.is_Number and y.is_Number:
            return y * _clamped_log(p) + (1 - y) * _clamped_log(1 - p)
        return None

    def fdiff(self, argindex=1):
        p, y = self.args
        if argindex == 1:
            return LikelihoodSlope(p, y)
        if argindex == 2:
            return LogOdds(p)
        raise sp.ArgumentIndexError(self, argindex)

    def primitive(self) -> sp.Expr:
        p, y = self.args
        return y * sp.log(p) + (1 - y) * sp.log(1 - p)


class LikelihoodSlope(PrimitiveForm):
    """∂LogLikelihood/∂p = (y − p)/(p(1 − p)), the divisor at least 10⁻¹² as in PyTorch's BCELoss backward."""

    nargs = 2
    precedence = PRECEDENCE["Mul"]

    @classmethod
    def eval(cls, p, y):
        if p.is_Number and y.is_Number:
            return (y - p) / sp.Max(p * (1 - p), sp.Rational(EPSILON))
        return None

    def fdiff(self, argindex=1):
        if argindex not in (1, 2):
            raise sp.ArgumentIndexError(self, argindex)
        return sp.diff(self.primitive(), self.args[argindex - 1])

    def primitive(self) -> sp.Expr:
        p, y = self.args
        return (y - p) / (p * (1 - p))


def _likelihood_logit_slope(z, y):
    """LikelihoodSlope(σ(z), y)·σ′(z) = y − σ(z), as yσ(−z) − (1 − y)σ(z): exact in both tails."""
    return y * stable_sigmoid(-z) - (1 - y) * stable_sigmoid(z)


class LogOdds(PrimitiveForm):
    """log p − log(1 − p), each log clamped at −100: ∂LogLikelihood/∂y."""

    nargs = 1
    precedence = PRECEDENCE["Add"]

    @classmethod
    def eval(cls, p):
        if p.is_Number:
            return _clamped_log(p) - _clamped_log(1 - p)
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return sp.diff(self.primitive(), self.args[0])

    def primitive(self) -> sp.Expr:
        p = self.args[0]
        return sp.log(p) - sp.log(1 - p)


def relu_for_max(body: sp.Expr) -> sp.Expr:
    """max(a, 0) as ReLU(a), whose derivative at 0 is the documented 0 (PyTorch's) at both levels,
    where SymPy's would be Heaviside(0) = ½; any other max or min is left to be refused."""
    return body.replace(lambda e: isinstance(e, sp.Max) and len(e.args) == 2 and sp.S.Zero in e.args,
                        lambda e: ReLU(e.args[1] if e.args[0] == 0 else e.args[0]))


# -- NumPy kernels: the vector level's formulas, element by element ------------------------

def _log_sum_exp(*z):
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in z))
    peak = np.maximum.reduce(arrays)
    # shifting by the largest argument keeps every exponential ≤ 1; an infinite peak is not
    # shifted (inf − inf would be NaN) and gives the limit, ±inf
    shift = np.where(np.isfinite(peak), peak, 0.0)
    return shift + np.log(sum(np.exp(a - shift) for a in arrays))


def _clamped_logs(p):
    # PyTorch's BCELoss clamps each log at −100 so that p = 0 or 1 gives a finite loss.
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), LOG_CLAMP), np.maximum(np.log1p(-p), LOG_CLAMP)


def _log_likelihood(p, y):
    log_p, log_q = _clamped_logs(np.asarray(p, dtype=float))
    return y * log_p + (1 - y) * log_q


def _likelihood_slope(p, y):
    p = np.asarray(p, dtype=float)
    return (y - p) / np.maximum(p * (1 - p), EPSILON)


def _log_odds(p):
    log_p, log_q = _clamped_logs(np.asarray(p, dtype=float))
    return log_p - log_q


# The scalar level's loss pieces print as formulas (printing/scalars.py), so they declare no LaTeX name.
declare(FunctionOp(LogSumExp, _log_sum_exp, None, "log Σ exp"))
declare(FunctionOp(LogLikelihood, _log_likelihood, None, "log-likelihood"))
declare(FunctionOp(LikelihoodSlope, _likelihood_slope, None, "∂ log-likelihood"))
declare(FunctionOp(LogOdds, _log_odds, None, "log-odds"))
