"""Multi-head attention written on (heads, T, d) tensors, as the exercises write it:

    Q, K, V = X @ Wq, X @ Wk, X @ Wv            # (T, d_model) @ (heads, d_model, d): (heads, T, d)
    S = Q @ permute(K, (0, 2, 1)) / sqrt(d)     # (heads, T, T), a batched product
    A = softmax(S, axis=-1)                     # one distribution per query, along the last axis
    out = A @ V                                 # (heads, T, d)

Every parameter gradient is checked against PyTorch's scaled_dot_product_attention in float64 and, without
PyTorch, against central finite differences of the loss; softmax along each axis and the batched product
on their own too; the documents write; mismatched stacks are refused when the network is built.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import symbackprop as sbp

HEADS, T, D, D_MODEL = 2, 3, 4, 5
PARAMS = ("Wq", "Wk", "Wv")


def _attention() -> sbp.Network:
    net = sbp.Network()
    X = net.input("X", (T, D_MODEL))
    target = net.input("target", (HEADS, T, D))
    Wq, Wk, Wv = (net.param(name, (HEADS, D_MODEL, D)) for name in PARAMS)
    Q, K, V = net.node("Q", X @ Wq), net.node("K", X @ Wk), net.node("V", X @ Wv)
    S = net.node("S", Q @ sbp.permute(K, (0, 2, 1)) * (1 / math.sqrt(D)))
    A = net.node("A", sbp.softmax(S, axis=-1))
    out = net.node("out", A @ V)
    net.loss("L", sbp.total((out - target) ** 2))
    return net


def _values(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"X": rng.normal(size=(T, D_MODEL)), "target": rng.normal(size=(HEADS, T, D)),
            **{name: rng.normal(size=(HEADS, D_MODEL, D)) for name in PARAMS}}


def _central_differences(d: sbp.Derivation, values: dict[str, np.ndarray], name: str) -> np.ndarray:
    step, expected = 1e-6, np.zeros_like(values[name])
    for index in np.ndindex(values[name].shape):
        plus, minus = values[name].copy(), values[name].copy()
        plus[index] += step
        minus[index] -= step
        expected[index] = (float(d.evaluate({**values, name: plus}).forward["L"])
                           - float(d.evaluate({**values, name: minus}).forward["L"])) / (2 * step)
    return expected


def test_the_shapes_are_the_exercises():
    net = _attention()
    assert net["Q"].shape == (HEADS, T, D)
    assert net["S"].shape == net["A"].shape == (HEADS, T, T)
    assert net["out"].shape == (HEADS, T, D)


def test_every_gradient_agrees_with_pytorchs_scaled_dot_product_attention():
    torch = pytest.importorskip("torch")
    values = _values(1)
    evaluation = sbp.backprop(_attention()).evaluate(values)
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in PARAMS) for k, v in values.items()}
    Q, K, V = t["X"] @ t["Wq"], t["X"] @ t["Wk"], t["X"] @ t["Wv"]
    S = Q @ K.transpose(-2, -1) / math.sqrt(D)  # the hand version, for S and A and their gradients
    A = torch.softmax(S, dim=-1)
    out = A @ V
    for tensor in (Q, K, V, S, A, out):
        tensor.retain_grad()
    ((out - t["target"]) ** 2).sum().backward()
    fused = torch.nn.functional.scaled_dot_product_attention(Q.detach(), K.detach(), V.detach())
    np.testing.assert_allclose(evaluation.forward["out"], fused.numpy(), rtol=1e-12, atol=1e-12)
    for name, tensor in {"Q": Q, "K": K, "V": V, "S": S, "A": A, "out": out}.items():
        np.testing.assert_allclose(evaluation.forward[name], tensor.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(evaluation.grad[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    for name in PARAMS:
        np.testing.assert_allclose(evaluation.grad[name], t[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_every_parameter_gradient_agrees_with_central_finite_differences():
    values = _values(2)
    d = sbp.backprop(_attention())
    evaluation = d.evaluate(values)
    for name in PARAMS:
        np.testing.assert_allclose(evaluation.grad[name], _central_differences(d, values, name),
                                   rtol=1e-6, atol=1e-8, err_msg=name)


def test_the_gradient_check_passes_and_the_backends_agree():
    values = _values(3)
    d = sbp.backprop(_attention())
    assert sbp.check_gradients(d, values).passed
    expected = d.lambdify()(**values)
    for backend in ("jax", "torch"):
        pytest.importorskip(backend)
        got = d.lambdify(backend=backend)(**values)
        for name in PARAMS:
            np.testing.assert_allclose(np.asarray(got[name], dtype=float), expected[name], rtol=1e-12, atol=1e-14)


def test_the_documents_write_the_batched_products_and_the_softmax_along_the_last_axis():
    d = sbp.backprop(_attention())
    values = _values(4)
    latex = d.to_latex(values=values)
    assert r"\mathbb{R}^{2 \times 3 \times 3}" in latex  # S and A
    assert r"\operatorname{softmax}_{\mathrm{axis}\,2}" in latex
    assert r"\operatorname{permute}_{(0, 2, 1)}" in latex
    markdown = d.to_markdown(values=values)
    assert r"\frac{\partial L}{\partial \mathrm{Wq}}" in markdown
    assert "softmax along an axis passes" in markdown.lower()
    assert "each matrix of a batched product" in markdown.lower()  # X (T, d_model) repeated over the heads
    assert d.to_html(values=values)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_softmax_along_each_axis_agrees_with_finite_differences_and_pytorch(axis, log):
    rng = np.random.default_rng(5)
    net = sbp.Network()
    z = net.param("z", (2, 3, 4))
    weights = net.input("w", (2, 3, 4))
    s = net.node("s", (sbp.log_softmax if log else sbp.softmax)(z, axis=axis))
    net.loss("L", sbp.total(s * weights))
    values = {"z": rng.normal(size=(2, 3, 4)), "w": rng.normal(size=(2, 3, 4))}
    d = sbp.backprop(net)
    evaluation = d.evaluate(values)
    shifted = np.exp(values["z"] - values["z"].max(axis=axis, keepdims=True))
    softmax = shifted / shifted.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(evaluation.forward["s"], np.log(softmax) if log else softmax, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(evaluation.grad["z"], _central_differences(d, values, "z"), rtol=1e-6, atol=1e-8)
    torch = pytest.importorskip("torch")
    tz = torch.tensor(values["z"], dtype=torch.float64, requires_grad=True)
    ((torch.log_softmax if log else torch.softmax)(tz, dim=axis) * torch.tensor(values["w"])).sum().backward()
    np.testing.assert_allclose(evaluation.grad["z"], tz.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shapes", [((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5)),
                                    ((2, 1, 3, 4), (3, 4, 5))], ids=["equal", "broadcast", "matrix", "rank_4"])
def test_the_batched_product_agrees_with_finite_differences_and_pytorch(shapes):
    rng = np.random.default_rng(6)
    net = sbp.Network()
    a, b = net.param("a", shapes[0]), net.param("b", shapes[1])
    y = net.node("y", a @ b)
    weights = rng.normal(size=net["y"].shape)
    net.loss("L", sbp.total(y * net.input("w", weights.shape)))
    values = {"a": rng.normal(size=shapes[0]), "b": rng.normal(size=shapes[1]), "w": weights}
    d = sbp.backprop(net)
    evaluation = d.evaluate(values)
    np.testing.assert_allclose(evaluation.forward["y"], values["a"] @ values["b"], rtol=1e-12)
    for name in ("a", "b"):
        np.testing.assert_allclose(evaluation.grad[name], _central_differences(d, values, name),
                                   rtol=1e-6, atol=1e-8, err_msg=name)
    torch = pytest.importorskip("torch")
    ta, tb = (torch.tensor(values[k], dtype=torch.float64, requires_grad=True) for k in ("a", "b"))
    (torch.matmul(ta, tb) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(evaluation.grad["a"], ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(evaluation.grad["b"], tb.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_mismatched_stacks_are_refused_when_the_network_is_built():
    net = sbp.Network()
    Q, K = net.input("Q", (2, 3, 4)), net.input("K", (2, 3, 5))
    with pytest.raises(sbp.ShapeMismatchError, match=r"inner dimensions 4 and 5 differ"):
        Q @ sbp.permute(K, (0, 2, 1))
    with pytest.raises(sbp.ShapeMismatchError, match=r"leading \(stack\) axes \(2\) and \(3\) do not broadcast"):
        Q @ net.input("V", (3, 4, 6))
    with pytest.raises(sbp.InvalidAxisError, match="rank 3"):
        sbp.softmax(Q, axis=3)
    with pytest.raises(sbp.InvalidAxisError, match="not an axis of a matrix"):
        sbp.softmax(net.input("m", (2, 3)), axis=-1)  # a matrix keeps its axes 0 and 1, as before
