"""A quantity read in slices: its gradient is every slice's piece added into one array (codegen/placed.py).

Written edge by edge, an RNN's ∂L/∂X is T arrays of X's whole shape summed, time and memory
quadratic in T; the program adds the T pieces into one array.  The oracles: each column of ∂L/∂X
is the gradient of the node that reads it, PyTorch on a parameter read in overlapping slices, and
central differences.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.numeric import Program
from symbackprop.worked import worked_numbers


def _rnn_values(network, rng):
    return {q.name: rng.normal(size=q.shape) for q in network.quantities("input", "param")}


@pytest.mark.parametrize("steps", [3, 257])
def test_an_rnn_input_gradient_is_one_placed_sum_whose_columns_are_the_steps_gradients(steps):
    network = sbp.models.rnn(2, 3, steps)
    derivation = sbp.backprop(network)
    source = Program(derivation).derivation_source
    assert "_embed" not in source and source.count("_placed_sum(") == 1
    evaluation = derivation.evaluate(_rnn_values(network, np.random.default_rng(steps)))
    for t in range(steps):
        np.testing.assert_array_equal(evaluation.grad["X"][:, t:t + 1], evaluation.grad[f"x{t + 1}"])


def test_a_worked_partial_is_its_piece_placed_into_zeros_of_the_whole_shape():
    network = sbp.models.rnn(2, 3, 4)
    derivation = sbp.backprop(network)
    values = _rnn_values(network, np.random.default_rng(0))
    numbers = worked_numbers(derivation, values)
    into_x = [s for s in derivation.steps if s.kind == "edge" and s.target == "X"]
    assert len(into_x) == 4
    for step in into_x:
        partial = numbers.partials[step.index]
        assert partial.shape == (2, 4)
        column = int(step.source[1:]) - 1
        np.testing.assert_array_equal(partial[:, column:column + 1], numbers.evaluation.grad[step.source])
        assert not np.delete(partial, column, axis=1).any()


def _sliced_parameter_network():
    net = sbp.Network()
    x, y = net.input("x", (4, 1)), net.input("y", (2, 1))
    W = net.param("W", (5, 4))
    a = net.node("a", W[0:2, :] @ x)
    b = net.node("b", W[1:4, 1:] @ x[1:, :])  # overlaps the first slice
    c = net.node("c", W[4:5, :] @ x)
    h = net.node("h", sbp.tanh(a) * b[0:2, :] + c)
    net.loss("L", sbp.total((h - y) * (h - y)))
    return net


def _sliced_parameter_loss(xp, W, x, y):
    a = W[0:2, :] @ x
    b = W[1:4, 1:] @ x[..., 1:, :]
    c = W[4:5, :] @ x
    h = xp.tanh(a) * b[..., 0:2, :] + c
    return ((h - y) ** 2).sum(axis=(-2, -1)).mean()


def _central_differences(W, x, y, eps=1e-6):
    grad = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        up, down = W.copy(), W.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (_sliced_parameter_loss(np, up, x, y) - _sliced_parameter_loss(np, down, x, y)) / (2 * eps)
    return grad


BACKENDS = ["numpy"] + [b for b in ("jax", "torch") if importlib.util.find_spec(b) is not None]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch", [None, 1, 6])
def test_a_parameter_read_in_overlapping_slices_matches_central_differences_on_every_backend(backend, batch):
    derivation = sbp.backprop(_sliced_parameter_network())
    rng = np.random.default_rng(batch or 0)
    lead = () if batch is None else (batch,)
    values = {"x": rng.normal(size=(*lead, 4, 1)), "y": rng.normal(size=(*lead, 2, 1)),
              "W": rng.normal(size=(5, 4))}
    expected = _central_differences(values["W"], values["x"], values["y"])
    np.testing.assert_allclose(derivation.evaluate(values).grad["W"], expected, rtol=1e-6, atol=1e-8)
    gradient = derivation.lambdify(backend=backend)(**values)
    found = gradient["W"] if isinstance(gradient, dict) else gradient[1]["W"]
    np.testing.assert_allclose(np.asarray(found), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")
def test_a_parameter_read_in_overlapping_slices_matches_torch_autograd():
    import torch

    derivation = sbp.backprop(_sliced_parameter_network())
    rng = np.random.default_rng(3)
    values = {"x": rng.normal(size=(5, 4, 1)), "y": rng.normal(size=(5, 2, 1)), "W": rng.normal(size=(5, 4))}
    W = torch.tensor(values["W"], dtype=torch.float64, requires_grad=True)
    loss = _sliced_parameter_loss(torch, W, torch.tensor(values["x"]), torch.tensor(values["y"]))
    loss.backward()
    np.testing.assert_allclose(derivation.evaluate(values).grad["W"], W.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_a_quantity_read_in_slices_and_whole_adds_its_other_edges_to_the_placed_pieces():
    net = sbp.Network()
    X = net.input("X", (3, 5))
    w = net.param("w", (1, 3))
    parts = [net.node(f"a{k}", sbp.tanh(w @ X[:, k])) for k in range(5)]
    whole = net.node("s", sbp.total(w @ X))  # X read whole as well
    net.loss("L", sum(parts[1:], parts[0]) * whole)
    derivation = sbp.backprop(net)
    source = Program(derivation).derivation_source
    assert source.count("_placed_sum(") == 1 and "_embed(" not in source
    rng = np.random.default_rng(4)
    values = {"X": rng.normal(size=(3, 5)), "w": rng.normal(size=(1, 3))}

    def loss(X):
        a = np.tanh(values["w"] @ X)
        return float(a.sum() * (values["w"] @ X).sum())

    expected = np.zeros((3, 5))
    for index in np.ndindex(3, 5):
        up, down = values["X"].copy(), values["X"].copy()
        up[index] += 1e-6
        down[index] -= 1e-6
        expected[index] = (loss(up) - loss(down)) / 2e-6
    np.testing.assert_allclose(derivation.evaluate(values).grad["X"], expected, rtol=1e-6, atol=1e-8)
