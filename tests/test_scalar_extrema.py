"""sp.Max and sp.Min of scalar nodes, at the vector level (scalar quantities) and the scalar level.

The gradient goes to the extremal argument and, at a tie of k arguments, 1/k of it to each, as
torch.amax / torch.amin of the stacked arguments share it. Oracles: an independent NumPy forward pass
with central differences and sympy.diff of the loss written out (both away from ties), autograd and
PyTorch in float64 (at ties too), and exact evaluation in rationals.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.registry import RULES
from symbackprop.spec import parse_spec

from .oracles import autograd_gradients

NAMES = ("a", "b", "c", "d", "y")
PARAMS = ("w", "v")
CEILING = 3.0


def _network() -> sbp.Network:
    """m = max(w·a, b, c, d), n = min(m, v·b, 3), L = ½(n − y)²: every input and parameter is a scalar."""
    net = sbp.Network()
    a, b, c, d, y = (net.input(name) for name in NAMES)
    w, v = net.param("w"), net.param("v")
    m = net.node("m", sp.Max(w * a, b, c, d))
    n = net.node("n", sp.Min(m, v * b, CEILING))
    net.loss("L", (n - y) ** 2 / 2)
    return net


def _numpy_loss(values: dict[str, float]) -> float:
    m = max(values["w"] * values["a"], values["b"], values["c"], values["d"])
    n = min(m, values["v"] * values["b"], CEILING)
    return 0.5 * (n - values["y"]) ** 2


def _torch_gradients(values: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
    """The batch-mean loss and every leaf's gradient by torch.amax / torch.amin of the stacked arguments."""
    torch = pytest.importorskip("torch")
    t = {name: torch.tensor(np.asarray(value, dtype=float), dtype=torch.float64, requires_grad=True)
         for name, value in values.items()}
    m = torch.amax(torch.stack([t["w"] * t["a"], t["b"], t["c"], t["d"]]), dim=0)
    n = torch.amin(torch.stack([m, t["v"] * t["b"], torch.full_like(m, CEILING)]), dim=0)
    loss = (0.5 * (n - t["y"]) ** 2).mean()
    loss.backward()
    return float(loss), {name: leaf.grad.numpy() for name, leaf in t.items()}


AWAY_FROM_TIES = {"a": 0.7, "b": 1.3, "c": -0.4, "d": 0.9, "y": 0.25, "w": 2.1, "v": 1.9}
# w·a = b = c = 2 (a three-way tie for the largest), then min(2, v·b = 2, 3): a two-way tie for the smallest
AT_TIES = {"a": 1.0, "b": 2.0, "c": 2.0, "d": 0.5, "y": -1.0, "w": 2.0, "v": 1.0}


def test_the_gradient_away_from_ties_matches_central_differences_and_sympy_diff():
    net = _network()
    evaluation = sbp.backprop(net).evaluate(AWAY_FROM_TIES)
    symbols = {name: sp.Symbol(name, real=True) for name in (*NAMES, *PARAMS)}
    s = symbols
    written_out = (sp.Min(sp.Max(s["w"] * s["a"], s["b"], s["c"], s["d"]), s["v"] * s["b"], CEILING) - s["y"]) ** 2 / 2
    at = {symbols[name]: sp.Float(value, 30) for name, value in AWAY_FROM_TIES.items()}
    step = 1e-6
    for name in (*PARAMS, "a", "b", "c", "d"):
        ours = float(evaluation.grad[name])
        up, down = dict(AWAY_FROM_TIES), dict(AWAY_FROM_TIES)
        up[name] += step
        down[name] -= step
        central = (_numpy_loss(up) - _numpy_loss(down)) / (2 * step)
        by_sympy = float(sp.diff(written_out, symbols[name]).subs(at))
        assert ours == pytest.approx(central, rel=1e-7, abs=1e-9), name
        assert ours == pytest.approx(by_sympy, rel=1e-12, abs=1e-15), name
    assert float(evaluation.loss) == pytest.approx(_numpy_loss(AWAY_FROM_TIES), rel=1e-15)
    assert sbp.check_gradients(sbp.backprop(net), AWAY_FROM_TIES).passed


@pytest.mark.parametrize("values", [AWAY_FROM_TIES, AT_TIES], ids=["away", "ties"])
def test_the_gradient_matches_torch_amax_and_autograd_at_ties_too(values):
    net = _network()
    evaluation = sbp.backprop(net).evaluate(values)
    loss, expected = _torch_gradients(values)
    assert float(evaluation.loss) == pytest.approx(loss, rel=1e-15)
    for name, gradient in expected.items():
        assert float(evaluation.grad[name]) == pytest.approx(float(gradient), rel=1e-14, abs=1e-15), name
    for name, gradient in autograd_gradients(net, values).items():
        assert float(evaluation.grad[name]) == pytest.approx(float(gradient), rel=1e-14, abs=1e-15), name


def test_the_shares_at_ties_are_exact_fractions():
    """A three-way tie gives each of the tied arguments a third; a two-way tie half."""
    evaluation = sbp.backprop(_network()).evaluate({k: Fraction(v).limit_denominator() for k, v in AT_TIES.items()},
                                                     exact=True)
    upstream = sp.Integer(3)  # ∂L/∂n = n − y with n = 2, y = −1
    assert evaluation.grad["n"] == upstream
    assert evaluation.grad["m"] == sp.Rational(1, 2) * upstream  # half of min's gradient: m ties with v·b
    assert evaluation.grad["c"] == sp.Rational(1, 6) * upstream  # a third of m's
    assert evaluation.grad["d"] == 0
    assert evaluation.grad["v"] == sp.Rational(1, 2) * upstream * 2  # half, times b = 2
    assert evaluation.grad["b"] == (sp.Rational(1, 6) + sp.Rational(1, 2) * 1) * upstream  # through m and v·b


def test_a_batch_with_ties_in_some_samples_matches_torch():
    values = {name: np.array([AWAY_FROM_TIES[name], AT_TIES[name], AT_TIES[name] + 0.5 * (name == "d")])
              for name in NAMES}
    values.update({name: AT_TIES[name] for name in PARAMS})
    evaluation = sbp.backprop(_network()).evaluate(values)
    loss, expected = _torch_gradients({**values, **{k: np.full(3, v) for k, v in values.items() if k in PARAMS}})
    assert float(evaluation.loss) == pytest.approx(loss, rel=1e-14)
    for name in PARAMS:  # the parameters were repeated per sample for torch: their gradient is the sum
        assert float(evaluation.grad[name]) == pytest.approx(float(expected[name].sum()), rel=1e-14), name
    for name in ("a", "b", "c", "d"):  # an input's gradient is per sample, of the mean loss
        np.testing.assert_allclose(np.ravel(evaluation.grad[name]), expected[name], rtol=1e-14, atol=1e-16)


def test_the_steps_name_the_rule_and_the_documents_write_it():
    d = sbp.backprop(_network())
    assert {rule for step in d.steps_into("m") for rule in step.rules} == {"smallest"}
    assert {rule for step in d.steps_into("c") for rule in step.rules} == {"largest"}
    markdown, korean = d.to_markdown(AT_TIES), d.to_markdown(AT_TIES, lang="ko")
    for rule in ("largest", "smallest"):  # the English sentence begins with a capital letter in the document
        assert RULES[rule].explanation["en"][1:] in markdown and RULES[rule].explanation["ko"] in korean
    latex = d.to_latex(AT_TIES)
    assert r"\max\left(" in latex and r"\mathbf{1}\left[c = \max\left(" in latex


def test_max_with_zero_is_still_relu_and_more_arguments_are_not():
    net = sbp.Network()
    a, b = net.input("a"), net.param("b")
    relu = net.node("r", sp.Max(b, 0))
    net.node("s", sp.Max(a, b, 0))
    assert type(net["r"].definition).__name__ == "ReLU" and type(net["s"].definition).__name__ == "Largest"
    net.loss("L", relu + net["s"].symbol)
    gradient = sbp.backprop(net).evaluate({"a": 0.0, "b": 0.0}).grad["b"]
    assert float(gradient) == pytest.approx(0.0 + 1 / 3)  # ReLU′(0) = 0; a three-way tie gives a third


def _pooling_network() -> sbp.Network:
    """The scalar level: z = W·x (3 neurons), p = [max(z1, z2), min(z1, z2, z3)], L = ½‖p − y‖²."""
    net = sbp.Network()
    x = net.input("x", (4, 1), elements=True)
    y = net.input("y", (2, 1), elements=True)
    W = net.param("W", (3, 4), elements=True)  # noqa: N806
    z = net.node("z", W * x)
    p = net.node("p", sp.Matrix([[sp.Max(z[0], z[1])], [sp.Min(z[0], z[1], z[2])]]))
    net.loss("L", sum(((p[i] - y[i]) ** 2 / 2 for i in range(2)), sp.S.Zero))
    return net


@pytest.mark.parametrize("tied", [False, True])
def test_the_scalar_level_matches_torch(tied):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    W = rng.normal(size=(3, 4))  # noqa: N806
    if tied:
        W[1] = W[2] = W[0]  # every neuron equal: max and min both tie
    values = {"x": rng.normal(size=(4, 1)), "y": rng.normal(size=(2, 1)), "W": W}
    d = sbp.backprop(_pooling_network())
    ours = d.evaluate(values).grad
    leaf = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    z = leaf @ torch.tensor(values["x"], dtype=torch.float64)
    p = torch.stack([torch.amax(z[:2, 0]), torch.amin(z[:, 0])])
    (0.5 * ((p - torch.tensor(values["y"][:, 0])) ** 2).sum()).backward()
    np.testing.assert_allclose(ours["W"], leaf.grad.numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(d.lambdify()(**values)["W"], leaf.grad.numpy(), rtol=1e-13, atol=1e-15)
    if not tied:
        assert sbp.check_gradients(d, values).passed


def test_the_scalar_level_away_from_ties_passes_the_gradient_check_and_writes_its_documents():
    rng = np.random.default_rng(6)
    values = {"x": rng.normal(size=(4, 1)), "y": rng.normal(size=(2, 1)), "W": rng.normal(size=(3, 4))}
    net = _pooling_network()
    d = sbp.backprop(net)
    assert sbp.check_gradients(d, values).passed
    np.testing.assert_allclose(d.evaluate(values).grad["W"], autograd_gradients(net, values)["W"], rtol=1e-13)
    assert r"\min\left(" in d.to_markdown(values)


SPEC = """
[inputs]
a = []
b = []
x = [3, 1]
[params]
w = []
[nodes]
m = "max(w * a, b, 2)"
n = "min(m, w)"
s = "max(x)"
[loss]
L = "0.5 * (n + s)**2"
"""


def test_a_spec_file_takes_max_and_min_of_scalars_beside_the_reduction_of_a_tensor():
    net = parse_spec(SPEC).network
    assert type(net["m"].definition).__name__ == "Largest" and type(net["s"].definition).__name__ == "Extremum"
    values = {"a": 1.0, "b": 2.0, "x": [1.0, 2.0, 3.0], "w": 2.0}  # w·a = b = 2: a three-way tie; min ties too
    gradient = float(sbp.backprop(net).evaluate(values).grad["w"])
    upstream = 2.0 + 3.0
    assert gradient == pytest.approx(upstream * (0.5 * 1.0 / 3 * 1.0 + 0.5))
    away = {**values, "w": 2.7, "b": 1.5}
    assert sbp.check_gradients(sbp.backprop(net), away).passed
