"""batch_norm, lstm, gru and transformer_block without PyTorch: the autograd oracle, finite differences and
sympy.diff (through check_gradients), and their documents.

The oracle (tests/oracles.py) interprets the forward definitions with HIPS autograd, reading no rule
or generated code of ours; it gives every parameter's and the input's gradient of the mean loss.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from autograd import grad

import symbackprop as sbp

from .oracles import autograd_backend, autograd_gradients, mean_loss

BLOCKS = {
    "batch_norm": (lambda: sbp.models.batch_norm(3, 4), "X"),
    "lstm": (lambda: sbp.models.lstm(2, 3, 3), "X"),
    "gru": (lambda: sbp.models.gru(2, 3, 3), "X"),
    "transformer_block": (lambda: sbp.models.transformer_block(4, T=3, heads=2, d_ff=5), "X"),
}
SMALL = {
    "batch_norm": lambda: sbp.models.batch_norm(2, 3),
    "lstm": lambda: sbp.models.lstm(1, 2, 2),
    "gru": lambda: sbp.models.gru(1, 2, 2),
    "transformer_block": lambda: sbp.models.transformer_block(2, T=2, heads=2, d_ff=2),
}


def _values(net: sbp.Network, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {q.name: rng.normal(size=q.matrix_shape) for q in net.quantities("input", "param")}


def _autograd_input_gradient(net: sbp.Network, values: dict[str, np.ndarray], name: str) -> np.ndarray:
    backend = autograd_backend()

    def loss_of(array):
        return mean_loss(backend, net, {**values, name: array})

    return grad(loss_of)(values[name])


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_every_gradient_matches_the_autograd_oracle(block):
    build, input_name = BLOCKS[block]
    net = build()
    values = _values(net, 30)
    evaluation = sbp.backprop(net).evaluate(values)
    expected = autograd_gradients(net, values)
    assert set(expected) == {q.name for q in net.params}
    for name, gradient in expected.items():
        np.testing.assert_allclose(evaluation.grad[name], gradient, rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(evaluation.grad[input_name], _autograd_input_gradient(net, values, input_name),
                               rtol=1e-10, atol=1e-12, err_msg=input_name)
    assert float(evaluation.loss) == pytest.approx(float(mean_loss(autograd_backend(), net, values)), rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_check_gradients_passes(block):
    """Finite differences of the forward program and sympy.diff of the loss written out agree with the derivation."""
    net = BLOCKS[block][0]()
    values = _values(net, 31)
    report = sbp.check_gradients(sbp.backprop(net), values)
    assert report.passed, report


@pytest.mark.parametrize("block", sorted(SMALL))
def test_the_default_markdown_document_writes(block):
    net = SMALL[block]()
    d = sbp.backprop(net)
    values = _values(net, 32)
    started = time.perf_counter()
    markdown = d.to_markdown(values)
    assert markdown.startswith("# Backpropagation") and "out" in markdown
    assert time.perf_counter() - started < 60, "the document took over a minute"


def test_batch_norm_couples_the_samples():
    """Each sample's output depends on every other sample through μ and σ²: ∂out/∂X is not block-diagonal."""
    net = sbp.models.batch_norm(1, 3)
    values = _values(net, 33)
    first = np.zeros((3, 1))
    first[0, 0] = 1.0
    values["y"] = sbp.backprop(net).evaluate(values).forward["out"] - first  # ∂L/∂out = out − y: the first sample
    gradient = sbp.backprop(net).evaluate(values).grad["X"]
    assert np.all(np.abs(gradient[1:]) > 1e-6)  # the other samples receive some of it
    assert abs(float(gradient.sum())) < 1e-12  # a shift of every sample changes nothing
