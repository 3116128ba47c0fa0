"""The scalar level's loss functions: textbook formulas for SymPy, the oracle and the documents."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.ops import NUMPY_KERNELS as NUMPY_FUNCTIONS
from symbackprop.ops import primitive_form
from symbackprop.ops.stable import LikelihoodSlope, LogLikelihood, LogOdds, LogSumExp

STABLE_CLASSES = (LogSumExp, LogLikelihood, LikelihoodSlope, LogOdds)

a, b, c = sp.symbols("a b c", real=True)
p, y = sp.symbols("p y", real=True)
POINT = {a: 0.3, b: -1.2, c: 2.5, p: 0.37, y: 0.8}


def _mp(expr: sp.Expr, at: dict) -> mpmath.mpf:
    return sp.lambdify(list(at), expr, "mpmath")(*(mpmath.mpf(v) for v in at.values()))


@pytest.mark.parametrize("expr", [LogSumExp(a, b, c), LogLikelihood(p, y), LikelihoodSlope(p, y), LogOdds(p)])
def test_derivatives_and_kernels_agree_with_the_textbook_formulas_in_mpmath(expr):
    mpmath.mp.dps = 40
    textbook = primitive_form(expr)
    assert not textbook.has(*STABLE_CLASSES)
    symbols = sorted(expr.free_symbols, key=str)
    at = {s: POINT[s] for s in symbols}
    kernel = NUMPY_FUNCTIONS[type(expr).__name__]
    assert float(kernel(*at.values())) == pytest.approx(float(_mp(textbook, at)), rel=1e-14)
    for s in symbols:
        ours = primitive_form(sp.diff(expr, s))
        assert float(_mp(ours, at)) == pytest.approx(float(_mp(sp.diff(textbook, s), at)), rel=1e-30)


def test_the_clamps_are_pytorchs_at_p_0_and_1():
    kernel = NUMPY_FUNCTIONS
    assert kernel["LogLikelihood"](1.0, 0.0) == -100.0 and kernel["LogLikelihood"](0.0, 1.0) == -100.0
    assert kernel["LogOdds"](1.0) == 100.0
    # the divisor is PyTorch's 1e-12, a float32 constant
    assert kernel["LikelihoodSlope"](1.0, 0.0) == -1.0 / float(np.float32(1e-12))
    assert LogLikelihood(sp.Integer(1), sp.Integer(0)) == -100  # exact values clamp the same way


def _document(loss: str, output: str) -> str:
    derivation = sbp.backprop(sbp.mlp([2, 2], output_activation=output, loss=loss, level="scalar"))
    return derivation.to_markdown()


def test_scalar_level_cross_entropy_prints_log_sum_exp_and_softmax():
    text = _document("cross_entropy", "identity")
    assert r"\log\left(e^{h^{(1)}_{1}} + e^{h^{(1)}_{2}}\right)" in text
    assert r"\frac{e^{h^{(1)}_{1}}}{e^{h^{(1)}_{1}} + e^{h^{(1)}_{2}}}" in text
    assert "LogSumExp" not in text


def test_scalar_level_bce_prints_the_textbook_logs():
    text = _document("binary_cross_entropy", "sigmoid")
    assert r"y_{1} \log h^{(1)}_{1} + \left(1 - y_{1}\right) \log\left(1 - h^{(1)}_{1}\right)" in text
    assert r"\frac{y_{1} - h^{(1)}_{1}}{h^{(1)}_{1} \left(1 - h^{(1)}_{1}\right)}" in text
    assert r"\log h^{(1)}_{1} - \log\left(1 - h^{(1)}_{1}\right)" in text
    for name in ("LogLikelihood", "LikelihoodSlope", "LogOdds"):
        assert name not in text


@pytest.mark.slow
@pytest.mark.parametrize("loss, output", [("cross_entropy", "identity"), ("binary_cross_entropy", "sigmoid")])
def test_scalar_level_losses_pass_the_sympy_diff_oracle(loss, output):
    derivation = sbp.backprop(sbp.mlp([2, 3, 2], activation="tanh", output_activation=output, loss=loss,
                                      level="scalar"))
    rng = np.random.default_rng(7)
    values = {"x": rng.normal(size=2), "y": [0.25, 0.75], "W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=3),
              "W2": rng.normal(size=(2, 3)), "b2": rng.normal(size=2)}
    report = sbp.check_gradients(derivation, values)
    assert report.passed, report
