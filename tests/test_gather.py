"""Indexing by an integer input: C[idx] (an embedding) and x[range(n), y] (one entry per row)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import InvalidIndexError

from .tooling import compile_latex, pdflatex

V, D, N_ROWS, CLASSES = 5, 3, 4, 2


def _lecture_network() -> sbp.Network:
    """emb = C[idx], logits = emb W, the log-probability of each row's class picked and averaged."""
    net = sbp.Network()
    idx, y = net.input("idx", (N_ROWS, 1)), net.input("y", (N_ROWS, 1))
    table, weights = net.param("C", (V, D)), net.param("W", (D, CLASSES))
    emb = net.node("emb", table[idx])
    logprobs = net.node("logprobs", sbp.log_softmax(emb @ weights, axis=1))
    picked = net.node("picked", logprobs[range(N_ROWS), y])
    net.loss("L", -sbp.mean(picked))
    return net


def _values(rng: np.random.Generator, batch: int | None = None) -> dict[str, np.ndarray]:
    leading = () if batch is None else (batch,)
    return {"idx": rng.integers(0, V, size=(*leading, N_ROWS, 1)),
            "y": rng.integers(0, CLASSES, size=(*leading, N_ROWS, 1)),
            "C": rng.normal(size=(V, D)), "W": rng.normal(size=(D, CLASSES))}


def _numpy_loss(values: dict[str, np.ndarray]) -> float:
    idx, y = np.asarray(values["idx"])[..., 0], np.asarray(values["y"])[..., 0]
    logits = values["C"][idx] @ values["W"]
    logprobs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(logprobs, y[..., None], axis=-1)
    return float(-picked.mean())


def _finite_differences(values: dict[str, np.ndarray], name: str, step: float = 1e-6) -> np.ndarray:
    gradient = np.zeros_like(values[name])
    for index in np.ndindex(values[name].shape):
        plus, minus = ({**values, name: values[name].copy()} for _ in range(2))
        plus[name][index] += step
        minus[name][index] -= step
        gradient[index] = (_numpy_loss(plus) - _numpy_loss(minus)) / (2 * step)
    return gradient


@pytest.mark.parametrize("batch", [None, 3])
def test_the_embedding_and_the_picked_entries_against_finite_differences(batch):
    d = sbp.backprop(_lecture_network())
    values = _values(np.random.default_rng(7), batch)
    evaluation, compiled = d.evaluate(values), d.lambdify()(**values)
    assert float(np.mean(evaluation.forward["L"])) == pytest.approx(_numpy_loss(values), rel=1e-12)
    for name in ("C", "W"):
        expected = _finite_differences(values, name)
        np.testing.assert_allclose(evaluation.grad[name], expected, rtol=1e-6, atol=1e-8, err_msg=name)
        np.testing.assert_allclose(compiled[name], evaluation.grad[name], rtol=1e-12, atol=1e-15, err_msg=name)


def test_a_row_picked_twice_adds_both_gradients():
    net = sbp.Network()
    idx, weights = net.input("idx", (4, 1)), net.input("G", (4, 3))
    table = net.param("C", (5, 3))
    net.loss("L", sbp.total(table[idx] * weights))
    values = {"idx": [[3], [0], [3], [3]], "G": np.arange(12.0).reshape(4, 3), "C": np.ones((5, 3))}
    gradient = sbp.backprop(net).evaluate(values).grad["C"]
    expected = np.zeros((5, 3))
    np.add.at(expected, [3, 0, 3, 3], values["G"])  # a scatter-add
    np.testing.assert_array_equal(gradient, expected)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")
def test_against_pytorch_embedding_and_arange_indexing():
    import torch

    d = sbp.backprop(_lecture_network())
    values = _values(np.random.default_rng(8))
    table = torch.tensor(values["C"], requires_grad=True)
    weights = torch.tensor(values["W"], requires_grad=True)
    idx, y = torch.tensor(values["idx"][:, 0]), torch.tensor(values["y"][:, 0])
    logprobs = torch.log_softmax(torch.nn.functional.embedding(idx, table) @ weights, dim=1)
    (-logprobs[torch.arange(N_ROWS), y].mean()).backward()
    evaluation = d.evaluate(values)
    np.testing.assert_allclose(evaluation.grad["C"], table.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(evaluation.grad["W"], weights.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_backend_gives_numpys_gradients(backend):
    pytest.importorskip(backend)
    d = sbp.backprop(_lecture_network())
    for batch in (None, 2):
        values = _values(np.random.default_rng(9), batch)
        expected, got = d.lambdify()(**values), d.lambdify(backend=backend)(**values)
        for name in expected:
            np.testing.assert_allclose(np.asarray(got[name]), expected[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_exact_evaluation_and_the_gradient_check_agree():
    d = sbp.backprop(_lecture_network())
    values = _values(np.random.default_rng(10))
    exact = d.evaluate({**values, "C": np.round(values["C"], 1), "W": np.round(values["W"], 1)}, exact=True)
    floats = d.evaluate({**values, "C": np.round(values["C"], 1), "W": np.round(values["W"], 1)})
    np.testing.assert_allclose(np.asarray(exact.grad["C"], dtype=float), floats.grad["C"], rtol=1e-12, atol=1e-15)
    assert sbp.check_gradients(d, values).passed


def test_indices_that_are_not_integers_within_the_bound_are_refused_with_the_bound():
    d = sbp.backprop(_lecture_network())
    values = _values(np.random.default_rng(11))
    for bad, shown in (([[0], [5], [1], [1]], "5"), ([[0], [1.5], [1], [1]], "1.5"), ([[-1], [0], [0], [0]], "-1")):
        with pytest.raises(InvalidIndexError, match=rf"'idx': {shown}.*from 0 to 4"):
            d.evaluate({**values, "idx": bad})
    with pytest.raises(InvalidIndexError, match=r"'y': 2.*from 0 to 1"):
        d.evaluate({**values, "y": [[0], [2], [1], [1]]})


def test_bad_indexing_is_refused_when_the_network_is_built():
    net = sbp.Network()
    table, idx = net.param("C", (5, 3)), net.input("idx", (4, 1))
    x = net.input("x", (4, 2))
    with pytest.raises(InvalidIndexError, match="an input holding integers"):
        table[idx * 2]
    assert table[net.input("pairs", (4, 2))].shape == (4, 2, 3)  # a matrix of indices: one row of C each
    with pytest.raises(InvalidIndexError, match=r"\(n, 1\) column"):
        x[range(4), net.input("two", (4, 2))]
    with pytest.raises(InvalidIndexError, match=r"range\(4\)"):
        x[range(3), idx]
    with pytest.raises(InvalidIndexError, match="one for each of the 4 rows"):
        x[range(4), net.input("short", (3, 1))]


def test_the_document_says_the_scatter_add_and_compiles():
    d = sbp.backprop(_lecture_network())
    values = _values(np.random.default_rng(12))
    markdown = d.to_markdown(values)
    assert r"\mathrm{C}\left[\mathrm{idx}\right]" in markdown or r"C\left[\mathrm{idx}\right]" in markdown
    assert "scatter-add" in markdown and "One entry picked from each row" in markdown
    if pdflatex() is not None:
        compiled = compile_latex(d.to_latex(values, standalone=True, lang="en"))
        assert compiled.ok, compiled.errors


def test_the_independent_autodiff_oracles_agree():
    from .oracles import autograd_gradients, torch_gradients

    network = _lecture_network()
    values = _values(np.random.default_rng(13))
    evaluation = sbp.backprop(network).evaluate(values)
    oracles = [autograd_gradients]
    if importlib.util.find_spec("torch") is not None:
        oracles.append(torch_gradients)
    for oracle in oracles:
        expected = oracle(network, values)
        for name in ("C", "W"):
            np.testing.assert_allclose(evaluation.grad[name], expected[name], rtol=1e-10, atol=1e-12,
                                       err_msg=f"{oracle.__name__}: {name}")


def test_a_compiled_gradient_checks_the_indices_of_every_call():
    d = sbp.backprop(_lecture_network())
    values = {name: np.asarray(value, dtype=float) for name, value in _values(np.random.default_rng(14)).items()}
    grad = d.lambdify()
    grad(**values)  # the first call of these float64 shapes: the later ones take the fast path
    with pytest.raises(InvalidIndexError, match=r"'idx': 7.*from 0 to 4"):
        grad(**{**values, "idx": np.array([[0.0], [7.0], [1.0], [1.0]])})
