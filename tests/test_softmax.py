"""Softmax and log-softmax along an axis, against PyTorch float64: values, gradients, batches, tails, exact numbers."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.analysis.counting import count_operations
from symbackprop.errors import InvalidAxisError, InvalidOperandError
from symbackprop.graph import to_dot
from symbackprop.rules import RULES

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for softmax: pip install torch==2.13.0")

FUNCTIONS = {"softmax": (sbp.softmax, torch.softmax), "log_softmax": (sbp.log_softmax, torch.log_softmax)}


def _network(kind: str, shape: tuple[int, int], axis: int, inner: int = 3):
    """A = f(X W, axis), L = Σ (A ⊙ C): every entry of ∂L/∂A differs, so every term of the rule counts."""
    rows, columns = shape
    net = sbp.Network()
    x = net.input("X", (rows, inner))
    w = net.param("W", (inner, columns))
    c = net.param("C", shape)
    a = net.node("A", FUNCTIONS[kind][0](x @ w, axis=axis))
    net.loss("L", sbp.total(a * c))
    return net


def _torch(kind: str, values: dict, axis: int):
    x = torch.tensor(values["X"], dtype=torch.float64, requires_grad=True)
    w = torch.tensor(values["W"], dtype=torch.float64, requires_grad=True)
    c = torch.tensor(values["C"], dtype=torch.float64, requires_grad=True)
    a = FUNCTIONS[kind][1](x @ w, dim=axis - 2)  # matrix axis 0 is the rows, dim −2, with a batch in front
    per_sample = (a * c).sum(dim=(-2, -1))
    loss = per_sample.mean()
    loss.backward()
    return a.detach().numpy(), loss.item(), {"X": x.grad.numpy(), "W": w.grad.numpy(), "C": c.grad.numpy()}


@pytest.mark.parametrize("kind", FUNCTIONS)
@pytest.mark.parametrize("shape,axis", [((4, 1), 0), ((1, 5), 1), ((3, 4), 1), ((3, 4), 0), ((2, 2), 1)])
@pytest.mark.parametrize("batch", [None, 3])
def test_matches_pytorch_on_random_shapes(kind, shape, axis, batch):
    rng = np.random.default_rng(hash((kind, shape, axis, batch)) % 2**32)
    net = _network(kind, shape, axis)
    leading = () if batch is None else (batch,)
    values = {"X": rng.normal(size=leading + (shape[0], 3)) * 2, "W": rng.normal(size=(3, shape[1])),
              "C": rng.normal(size=shape)}
    ev = sbp.backprop(net).evaluate(values)
    a, loss, grads = _torch(kind, values, axis)
    np.testing.assert_allclose(ev.forward["A"], a, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ev.loss, loss, rtol=1e-12)
    for name in ("X", "W", "C"):
        np.testing.assert_allclose(ev.grad[name], grads[name], rtol=1e-10, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("kind", FUNCTIONS)
@pytest.mark.parametrize("axis", [0, 1])
def test_logits_of_800_stay_finite_and_exact(kind, axis):
    z = np.array([[800.0, -800.0, 799.0], [-800.0, 0.0, 800.0], [1.0, -799.0, 3.0]])
    c = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0], [2.0, 1.0, -0.5]])
    net = sbp.Network()
    zq = net.input("Z", (3, 3))
    cq = net.param("C", (3, 3))
    a = net.node("A", FUNCTIONS[kind][0](zq, axis=axis))
    net.loss("L", sbp.total(a * cq))
    ev = sbp.backprop(net).evaluate({"Z": z, "C": c})
    zt = torch.tensor(z, requires_grad=True)
    at = FUNCTIONS[kind][1](zt, dim=axis)
    (at * torch.tensor(c)).sum().backward()
    assert np.isfinite(ev.forward["A"]).all() and np.isfinite(ev.grad["Z"]).all()
    np.testing.assert_allclose(ev.forward["A"], at.detach().numpy(), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(ev.grad["Z"], zt.grad.numpy(), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("kind", FUNCTIONS)
@pytest.mark.parametrize("shape,axis", [((3, 1), 0), ((2, 3), 1), ((2, 2), 0)])
def test_exact_evaluation_agrees_with_floats(kind, shape, axis):
    net = sbp.Network()
    z = net.input("Z", shape)
    c = net.param("C", shape)
    a = net.node("A", FUNCTIONS[kind][0](z, axis=axis))
    net.loss("L", sbp.total(a * c))
    d = sbp.backprop(net)
    size = shape[0] * shape[1]
    values = {"Z": np.array([sp.Rational(k - 2, 3) for k in range(size)], dtype=object).reshape(shape),
              "C": np.array([sp.Rational(2 * k + 1, 5) for k in range(size)], dtype=object).reshape(shape)}
    exact = d.evaluate(values, exact=True)
    floats = d.evaluate({k: v.astype(float) for k, v in values.items()})
    assert isinstance(exact.grad["Z"][0, 0], sp.Expr) and not exact.grad["Z"][0, 0].is_Float
    for name in ("Z", "C"):
        np.testing.assert_allclose(np.array(exact.grad[name], dtype=float), floats.grad[name], rtol=1e-13)
    zt = torch.tensor(values["Z"].astype(float), requires_grad=True)
    (FUNCTIONS[kind][1](zt, dim=axis) * torch.tensor(values["C"].astype(float))).sum().backward()
    np.testing.assert_allclose(np.array(exact.grad["Z"], dtype=float), zt.grad.numpy(), rtol=1e-13)


def test_the_step_is_printed_the_textbook_way():
    column = sbp.backprop(_network("softmax", (3, 1), 0)).step_for("X")
    assert "softmax" in column.rules
    rows = sbp.backprop(_network("softmax", (2, 3), 1))
    step = next(s for s in rows.steps if s.target == "X")
    assert "softmax_rows" in step.rules
    latex = rows.to_latex()
    assert (r"A \odot \left(\frac{\partial L}{\partial A} - \left(\frac{\partial L}{\partial A} \odot A\right) "
            r"\, \mathbf{1}_{3 \times 1} \, \mathbf{1}_{3 \times 1}^{\top}\right)") in latex
    vector = sbp.backprop(_network("softmax", (3, 1), 0)).to_latex()
    assert (r"A \odot \left(\frac{\partial L}{\partial A} - \mathbf{1}_{3 \times 1} \, \left(A^{\top} \, "
            r"\frac{\partial L}{\partial A}\right)\right)") in vector
    log = sbp.backprop(_network("log_softmax", (3, 1), 0)).to_latex()
    assert (r"\frac{\partial L}{\partial A} - \operatorname{softmax}\left(X \, W\right) \, "
            r"\left(\mathbf{1}_{3 \times 1}^{\top} \, \frac{\partial L}{\partial A}\right)") in log
    for key in ("softmax", "softmax_rows", "softmax_columns", "log_softmax", "log_softmax_rows",
                "log_softmax_columns"):
        assert set(RULES[key].explanation) == {"en", "ko"}


def test_the_worked_example_shows_numbers():
    net = _network("softmax", (2, 3), 1, inner=2)
    values = {"X": [[1, 0], [0, 1]], "W": [[1, 2, 3], [0, -1, 1]], "C": [[1, 0, 0], [0, 1, 0]]}
    markdown = sbp.backprop(net).to_markdown(values)
    assert r"\operatorname{softmax}_{\mathrm{row}}" in markdown
    assert "0.09003" in markdown  # softmax([1, 2, 3])₁ = 0.0900306 in the example's forward pass


def test_graph_costs_and_errors():
    net = _network("log_softmax", (2, 3), 0)
    assert "log softmax" in to_dot(net)
    counts = count_operations(sbp.backprop(net))
    assert counts.forward > 0 and counts.backward > counts.forward / 2
    net = sbp.Network()
    z = net.input("z", (3, 1))
    for axis in (2, -1, None, True, 0.5):
        with pytest.raises(InvalidAxisError, match="axis"):
            sbp.softmax(z, axis=axis)
    with pytest.raises(InvalidOperandError, match="softmax"):
        sbp.softmax(sp.Symbol("t"))
    with pytest.raises(InvalidOperandError, match="log_softmax"):
        sbp.log_softmax(2.0)


def test_generated_module_runs_on_its_own():
    d = sbp.backprop(_network("softmax", (2, 3), 1))
    scope: dict = {}
    exec(compile(d.lambdify().source, "<module>", "exec"), scope)
    rng = np.random.default_rng(5)
    values = {"X": rng.normal(size=(2, 3)), "W": rng.normal(size=(3, 3)), "C": rng.normal(size=(2, 3))}
    forward, gradients = scope["derivation"](values["X"], values["W"], values["C"], 1)
    np.testing.assert_allclose(gradients["W"], d.evaluate(values).grad["W"], rtol=1e-14)


def test_spec_files_call_softmax_with_an_axis():
    from symbackprop.spec import parse_spec

    text = ('[inputs]\nX = [2, 3]\n[params]\nC = [2, 3]\n[nodes]\nA = "softmax(X, axis=1)"\n'
            'B = "log_softmax(X)"\n[loss]\nL = "sum(A * C) + sum(B * C)"\n')
    spec = parse_spec(text)
    rng = np.random.default_rng(2)
    x, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    ev = sbp.backprop(spec.network).evaluate({"X": x, "C": c})
    xt = torch.tensor(x, requires_grad=True)
    ct = torch.tensor(c)
    ((torch.softmax(xt, 1) * ct).sum() + (torch.log_softmax(xt, 0) * ct).sum()).backward()
    np.testing.assert_allclose(ev.grad["X"], xt.grad.numpy(), rtol=1e-12)
    with pytest.raises(sbp.SymbackpropError, match="axis"):
        parse_spec(text.replace("axis=1", "axis=2"))


def test_the_scalar_level_writes_softmax_out_with_the_same_numbers():
    from symbackprop.spec import parse_spec

    text = ('[inputs]\nX = [2, 3]\n[params]\nC = [2, 3]\n[nodes]\nA = "softmax(X, axis=1)"\n'
            'B = "log_softmax(X, axis=0)"\n[loss]\nL = "sum(A * C) + sum(B * C)"\n')
    x = np.array([[800.0, -800.0, 1.0], [0.5, 799.0, -3.0]])
    c = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])
    xt = torch.tensor(x, requires_grad=True)
    ((torch.softmax(xt, 1) * torch.tensor(c)).sum() + (torch.log_softmax(xt, 0) * torch.tensor(c)).sum()).backward()
    for level in ("vector", "scalar"):
        ev = sbp.backprop(parse_spec(text, level=level).network).evaluate({"X": x, "C": c})
        np.testing.assert_allclose(np.asarray(ev.grad["X"], dtype=float).reshape(2, 3), xt.grad.numpy(),
                                   rtol=1e-12, atol=1e-300, err_msg=level)
