"""The losses, one record each: forward, both gradients, NumPy kernels, LaTeX, label, PyTorch's name.

Kernels take (…, rows, 1) arrays and give the (…, 1, 1) loss, so a batch is a
leading axis; ``explicit`` writes the same loss element by element in SymPy
(exact numbers, closed forms) and ``written_out`` is the scalar level's loss of
(hᵢ, yᵢ) pairs, with the vector level's safeguards as SymPy functions.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..kernels import _total
from ..printing.precedence import Precedence, Printed, over
from . import softmax_targets as along
from .activations import Sigmoid, Softplus, stable_sigmoid
from .record import LossGradientRecord, LossRecord, declare
from .softmax import _log_softmax
from .stable import EPSILON, LogLikelihood, LogSumExp, _clamped_logs

#: The NumPy axis of a column's entries in (…, rows, 1) arrays.
COLUMNS = -2


def _size(a: np.ndarray) -> int:
    return a.shape[-2] * a.shape[-1]


# -- ½‖h − y‖² -------------------------------------------------------------------------------------

def _half_sse(h, y):
    return 0.5 * _total((h - y) ** 2)


def _error(h, y):
    return h - y


def _negative_error(h, y):
    return y - h


def _half_sse_latex(h: str, y: str, n: int, scalar: bool) -> Printed:
    if scalar:
        return Printed(rf"\frac{{1}}{{2}} \left({h} - {y}\right)^{{2}}", Precedence.PRODUCT)
    return Printed(rf"\frac{{1}}{{2}} \left\lVert {h} - {y} \right\rVert^{{2}}", Precedence.PRODUCT)


half_squared_error = declare(LossRecord(
    "half_squared_error",
    explicit=lambda h, y: sp.Rational(1, 2) * sp.Add(*((h[i] - y[i]) ** 2 for i in range(len(h)))),
    numeric=_half_sse,
    written_out=lambda pairs: sp.Rational(1, 2) * sp.Add(*((a - b) ** 2 for a, b in pairs)),
    latex=_half_sse_latex, dot="½‖·‖²", torch="0.5 * sum of squares",
    prediction=LossGradientRecord(lambda h, y: h - y, _error, lambda h, y, n: Printed(f"{h} - {y}", Precedence.ADD),
                              ("the squared error gives $(h - y)$", "제곱 오차: $(h - y)$ 형태로 gradient 계산")),
    target=LossGradientRecord(lambda h, y: y - h, _negative_error, lambda h, y, n: Printed(f"{y} - {h}",
                                                                                           Precedence.ADD),
                          ("for the target, the squared error gives $(y - h)$",
                           "제곱 오차: 정답에 대한 gradient는 $(y - h)$")),
    scalars_written_out=True, any_shape=True,
))


# -- mean squared error -------------------------------------------------------------------------

def _mse(h, y):
    return _total((h - y) ** 2) / _size(h)


def _mse_prediction(h, y):
    return 2 * (h - y) / _size(h)


def _mse_target(h, y):
    return 2 * (y - h) / _size(h)


def _mse_latex(h: str, y: str, n: int, scalar: bool) -> Printed:
    if scalar:
        return Printed(rf"\left({h} - {y}\right)^{{2}}", Precedence.POSTFIX)
    return Printed(rf"{over(n)}\left\lVert {h} - {y} \right\rVert^{{2}}", Precedence.PRODUCT)


def _twice_over(difference: str, n: int) -> Printed:
    if n == 2:
        return Printed(difference, Precedence.ADD)
    return Printed(rf"{over(n, 2)}\left({difference}\right)", Precedence.PRODUCT)


mse = declare(LossRecord(
    "mse",
    explicit=lambda h, y: sp.Add(*((h[i] - y[i]) ** 2 for i in range(len(h)))) / len(h),
    numeric=_mse,
    written_out=lambda pairs: sp.Add(*((a - b) ** 2 for a, b in pairs)) / len(pairs),
    latex=_mse_latex, dot="MSE", torch="nn.MSELoss",
    prediction=LossGradientRecord(lambda h, y: 2 * (h - y) / len(h), _mse_prediction,
                              lambda h, y, n: _twice_over(f"{h} - {y}", n),
                              ("the mean squared error gives $2(h - y)/n$",
                               "평균 제곱 오차: $2(h - y)/n$ 형태로 gradient 계산")),
    target=LossGradientRecord(lambda h, y: 2 * (y - h) / len(h), _mse_target,
                          lambda h, y, n: _twice_over(f"{y} - {h}", n),
                          ("for the target, the mean squared error gives $2(y - h)/n$",
                           "평균 제곱 오차: 정답에 대한 gradient는 $2(y - h)/n$")),
    scalars_written_out=True, any_shape=True,
))


# -- binary cross-entropy of probabilities --------------------------------------------------------

def _bce(p, y):
    log_p, log_q = _clamped_logs(p)
    return -_total(y * log_p + (1 - y) * log_q) / _size(p)


def _bce_prediction(p, y):
    # PyTorch's BCELoss backward divides by max(p(1 − p), ε), keeping p = 0 or 1 finite.
    return (p - y) / np.maximum(p * (1 - p), EPSILON) / _size(p)


def _bce_of_sigmoid_prediction(z, y):
    """_bce_prediction(σ(z), y)·σ′(z) = (σ(z) − y)/n from the logit z, exact in both tails (codegen.logits)."""
    return ((1 - y) * stable_sigmoid(z) - y * stable_sigmoid(-z)) / _size(z)


def _bce_target(p, y):
    log_p, log_q = _clamped_logs(p)
    return (log_q - log_p) / _size(p)


def _bce_latex(h: str, y: str, n: int, scalar: bool) -> Printed:
    if scalar:
        return Printed(rf"-\left({y} \log {h} + \left(1 - {y}\right) \log\left(1 - {h}\right)\right)",
                       Precedence.NEGATIVE)
    return Printed(rf"-{over(n)}\left({y}^{{\top}} \log {h} + \left(1 - {y}\right)^{{\top}} "
                   rf"\log\left(1 - {h}\right)\right)", Precedence.NEGATIVE)


def _bce_prediction_latex(h: str, y: str, n: int) -> Printed:
    if n == 1:
        return Printed(rf"\frac{{{h} - {y}}}{{{h} \left(1 - {h}\right)}}", Precedence.FRACTION)
    return Printed(rf"{over(n)}\left({h} - {y}\right) \oslash \left({h} \odot \left(1 - {h}\right)\right)",
                   Precedence.PRODUCT)


binary_cross_entropy = declare(LossRecord(
    "binary_cross_entropy",
    explicit=lambda p, y: -sp.Add(*(y[i] * sp.log(p[i]) + (1 - y[i]) * sp.log(1 - p[i])
                                    for i in range(len(p)))) / len(p),
    numeric=_bce,
    written_out=lambda pairs: -sp.Add(*(LogLikelihood(a, b) for a, b in pairs)) / len(pairs),
    latex=_bce_latex, dot="BCE", torch="nn.BCELoss",
    prediction=LossGradientRecord(
        lambda p, y: sp.Matrix([(p[i] - y[i]) / (p[i] * (1 - p[i])) / len(p) for i in range(len(p))]),
        _bce_prediction, _bce_prediction_latex,
        ("binary cross-entropy gives $(p - y)/(p(1 - p))/n$",
         "이진 교차 엔트로피: $(p - y)/(p(1 - p))/n$ 형태로 gradient 계산")),
    target=LossGradientRecord(
        lambda p, y: sp.Matrix([(sp.log(1 - p[i]) - sp.log(p[i])) / len(p) for i in range(len(p))]),
        _bce_target,
        lambda h, y, n: Printed(rf"{over(n)}\left(\log\left(1 - {h}\right) - \log {h}\right)", Precedence.PRODUCT),
        (r"for the target, binary cross-entropy gives $(\log(1 - p) - \log p)/n$",
         r"이진 교차 엔트로피: 정답에 대한 gradient는 $(\log(1 - p) - \log p)/n$")),
    aliases=("bce",),
))


# -- binary cross-entropy of logits ---------------------------------------------------------------

def _bce_logits(z, y):
    return _total(np.logaddexp(0.0, z) - y * z) / _size(z)


def _bce_logits_prediction(z, y):
    # σ(z) − y as (1 − y)σ(z) − yσ(−z): σ(26) − 1 in floats keeps only 11 of σ(−26)'s digits
    return ((1 - y) * stable_sigmoid(z) - y * stable_sigmoid(-z)) / _size(z)


def _bce_logits_target(z, y):
    return -z / _size(z)


def _bce_logits_latex(h: str, y: str, n: int, scalar: bool) -> Printed:
    if scalar:
        return Printed(rf"\operatorname{{softplus}}\left({h}\right) - {y} {h}", Precedence.ADD)
    return Printed(rf"{over(n)}\mathbf{{1}}^{{\top}} \left(\operatorname{{softplus}}\left({h}\right) "
                   rf"- {y} \odot {h}\right)", Precedence.PRODUCT)


bce_with_logits = declare(LossRecord(
    "bce_with_logits",
    explicit=lambda z, y: sp.Add(*(Softplus(z[i]) - y[i] * z[i] for i in range(len(z)))) / len(z),
    numeric=_bce_logits,
    written_out=lambda pairs: sp.Add(*(Softplus(a) - b * a for a, b in pairs)) / len(pairs),
    latex=_bce_logits_latex, dot="BCE\\nlogits", torch="nn.BCEWithLogitsLoss",
    prediction=LossGradientRecord(
        lambda z, y: sp.Matrix([(Sigmoid(z[i]) - y[i]) / len(z) for i in range(len(z))]),
        _bce_logits_prediction,
        lambda h, y, n: Printed(rf"{over(n)}\left(\sigma\left({h}\right) - {y}\right)", Precedence.PRODUCT),
        (r"binary cross-entropy on logits gives $(\sigma(z) - y)/n$",
         r"로짓에 대한 이진 교차 엔트로피: $(\sigma(z) - y)/n$ 형태로 gradient 계산")),
    target=LossGradientRecord(
        lambda z, y: -z / len(z), _bce_logits_target, lambda h, y, n: Printed(rf"-{over(n)}{h}", Precedence.NEGATIVE),
        ("for the target, binary cross-entropy on logits gives $-z/n$",
         "로짓에 대한 이진 교차 엔트로피: 정답에 대한 gradient는 $-z/n$")),
))


# -- softmax cross-entropy ------------------------------------------------------------------------

# A node with options (an axis, class indices, a mean over columns or rows) passes them on.

def _cross_entropy(z, y, axis=0, index=False, samples=1):
    if index or axis or samples != 1:
        return cross_entropy_along(z, y, axis, index, samples)
    return -_total(y * _log_softmax(z, COLUMNS))


def _cross_entropy_prediction(z, y, axis=0, index=False, samples=1):
    if index or axis or samples != 1:
        return cross_entropy_prediction_along(z, y, axis, index, samples)
    return np.exp(_log_softmax(z, COLUMNS)) - y


def _cross_entropy_target(z, y, axis=0, index=False, samples=1):
    if index or axis or samples != 1:
        return cross_entropy_target_along(z, y, axis, index, samples)
    return -_log_softmax(z, COLUMNS)


cross_entropy_along = along.loss_along
cross_entropy_prediction_along = along.prediction_gradient_along
cross_entropy_target_along = along.target_gradient_along


def _classic_or_along(classic, general):
    """The record's SymPy or LaTeX form: the classic column's, or the general one for a node with options."""
    return lambda *arguments, **options: general(*arguments, **options) if options else classic(*arguments)


def _softmax_explicit(z):
    total = sp.Add(*(sp.exp(z[i]) for i in range(len(z))))
    return sp.Matrix([sp.exp(z[i]) / total for i in range(len(z))])


def _cross_entropy_written_out(pairs):
    log_sum = LogSumExp(*(a for a, _ in pairs))
    return -sp.Add(*(b * (a - log_sum) for a, b in pairs))


def _explicit_log_sum_exp(z):
    return sp.log(sp.Add(*(sp.exp(z[i]) for i in range(len(z)))))


def _explicit_cross_entropy(z, y):
    log_sum = _explicit_log_sum_exp(z)
    return -sp.Add(*(y[i] * (z[i] - log_sum) for i in range(len(z))))


cross_entropy = declare(LossRecord(
    "cross_entropy",
    explicit=_classic_or_along(_explicit_cross_entropy, along.explicit_along),
    numeric=_cross_entropy,
    written_out=_cross_entropy_written_out,
    latex=_classic_or_along(
        lambda h, y, n, scalar: Printed(rf"-{y}^{{\top}} \log \operatorname{{softmax}}\left({h}\right)",
                                        Precedence.NEGATIVE),
        along.latex_along),
    dot="CE", torch="nn.CrossEntropyLoss",
    prediction=LossGradientRecord(
        _classic_or_along(lambda z, y: _softmax_explicit(z) - y, along.explicit_prediction_along),
        _cross_entropy_prediction,
        _classic_or_along(lambda h, y, n: Printed(rf"\operatorname{{softmax}}\left({h}\right) - {y}", Precedence.ADD),
                          along.latex_prediction_along),
        (r"softmax with cross-entropy gives $\operatorname{softmax}(z) - y$",
         r"소프트맥스 교차 엔트로피: $\operatorname{softmax}(z) - y$ 형태로 gradient 계산")),
    target=LossGradientRecord(
        _classic_or_along(lambda z, y: -(z - sp.ones(*z.shape) * _explicit_log_sum_exp(z)),
                          along.explicit_target_along),
        _cross_entropy_target,
        _classic_or_along(lambda h, y, n: Printed(rf"-\log \operatorname{{softmax}}\left({h}\right)",
                                                  Precedence.NEGATIVE),
                          along.latex_target_along),
        (r"for the target, softmax with cross-entropy gives $-\log \operatorname{softmax}(z)$",
         r"소프트맥스 교차 엔트로피: 정답에 대한 gradient는 $-\log \operatorname{softmax}(z)$")),
    construct=along.loss_node,
))

softmax_cross_entropy = cross_entropy

#: The loss of a classifier's class indices (the default of sbp.models.cnn), named here with its record.
CLASSIFICATION_LOSS = cross_entropy.name
