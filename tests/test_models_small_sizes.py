"""Every block at sizes of one (one hidden unit, one time step, one feature, one head): a 1×1 quantity is a
scalar of the network, and the block's formulas still hold, derive, evaluate and check."""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp

SMALL = [
    ("rnn", (1, 1, 1)), ("rnn", (1, 1, 4)), ("rnn", (2, 1, 3)), ("rnn", (1, 3, 1)),
    ("lstm", (1, 1, 1)), ("lstm", (1, 1, 3)), ("gru", (1, 1, 2)), ("gru", (3, 1, 1)),
    ("attention_head", (1, 1)), ("attention_head", (2, 1)), ("swiglu_mlp", (1, 1)),
    ("batch_norm", (1, 2)), ("layer_norm", (1,)), ("rms_norm", (1,)),
    ("transformer_block", (1, 1, 1)), ("transformer_block", (2, 1, 2)), ("residual_block", (1, 1)),
]


@pytest.mark.parametrize(("block", "sizes"), SMALL)
def test_a_block_at_sizes_of_one_derives_evaluates_and_checks(block, sizes):
    network = getattr(sbp.models, block)(*sizes)
    derivation = sbp.backprop(network)
    rng = np.random.default_rng(11)
    values = {q.name: rng.normal(size=q.matrix_shape) * 0.7 for q in network.quantities("input", "param")}
    evaluation = derivation.evaluate(values)
    compiled = derivation.lambdify()(**values)
    for name in compiled:
        np.testing.assert_allclose(np.reshape(compiled[name], -1), np.reshape(evaluation.grad[name], -1),
                                   rtol=1e-12, atol=1e-14, err_msg=name)
    report = sbp.check_gradients(derivation, values)
    assert report.passed, report
    assert "Backward Pass" in derivation.to_markdown(values=values, sections=())


def test_a_scalar_recurrence_is_the_textbook_one():
    """rnn(1, 1, T): h_t = tanh(w h_{t−1} + u x_t + b), the vanishing-gradient example, by hand."""
    derivation = sbp.backprop(sbp.models.rnn(1, 1, T=3))
    values = {"X": np.array([[0.5, -1.0, 2.0]]), "h0": 0.1, "y": np.array([[0.2, 0.0, -0.3]]),
              "W": 0.8, "U": -0.6, "b": 0.05}
    h, states = 0.1, []
    for x in values["X"][0]:
        h = np.tanh(values["W"] * h + values["U"] * x + values["b"])
        states.append(h)
    dh, dw, previous = 0.0, 0.0, [0.1, *states[:-1]]
    for t in reversed(range(3)):
        dh = dh + states[t] - values["y"][0, t]
        dz = dh * (1 - states[t] ** 2)
        dw += dz * previous[t]
        dh = dz * values["W"]
    assert float(derivation.evaluate(values).grad["W"]) == pytest.approx(dw, rel=1e-12)


def test_constants_of_derivatives_print_as_latex_knows_them():
    """Exact GELU's derivative holds √π: it printed as \\text{\\Pi}, which pdflatex refuses."""
    import sympy as sp

    from symbackprop.printing.names import Notation
    from symbackprop.printing.scalars import ScalarPrinter

    printer = ScalarPrinter(Notation(sbp.mlp([2, 3, 1], activation="gelu")))
    assert printer.doprint(sp.sqrt(sp.pi)) == r"\sqrt{\pi}"
    assert printer.doprint(sp.EulerGamma) == r"\gamma"


@pytest.mark.parametrize("sizes", [(4, 3, 2), (2, 1, 2)])
def test_the_transformer_blocks_document_compiles(sizes):
    from .tooling import compile_latex, pdflatex, require_pdflatex

    if pdflatex() is None:
        pytest.skip("pdflatex is not installed")
    require_pdflatex()
    network = sbp.models.transformer_block(*sizes)
    rng = np.random.default_rng(3)
    values = {q.name: rng.normal(size=q.matrix_shape) * 0.5 for q in network.quantities("input", "param")}
    compiled = compile_latex(sbp.backprop(network).to_latex(values=values, standalone=True))
    assert compiled.ok, compiled.errors
