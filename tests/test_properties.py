"""Property-based tests: random networks, random points, independent oracles."""

import importlib.util

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop.functions import primitive_form
from tests.oracles import autograd_gradients, torch_gradients
from tests.tooling import require_tool

ACTIVATIONS = ["relu", "sigmoid", "tanh", "softplus", "leaky_relu", "identity"]
LOSSES = ["half_squared_error", "mse", "binary_cross_entropy", "bce_with_logits", "cross_entropy"]
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def random_mlp(draw):
    depth = draw(st.integers(1, 4))
    widths = [draw(st.integers(1, 6)) for _ in range(depth + 1)]
    loss = draw(st.sampled_from(LOSSES))
    activation = draw(st.sampled_from(ACTIVATIONS))
    output = "sigmoid" if loss == "binary_cross_entropy" else draw(st.sampled_from(ACTIVATIONS))
    if loss == "cross_entropy":
        widths[-1] = max(widths[-1], 2)
    level = draw(st.sampled_from(["vector", "vector", "scalar"]))
    batch = draw(st.sampled_from([None, 1, 3]))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    net = sbp.mlp(widths, activation=activation, output_activation=output, loss=loss, level=level)
    rng = np.random.default_rng(seed)
    # weights scaled by 1/√fan-in keep sigmoid outputs away from 0 and 1, where BCE's gradient is
    # clamped as in PyTorch (tested on its own) and no longer the derivative finite differences see
    values = {q.name: rng.normal(size=q.shape or ()) / np.sqrt(q.matrix_shape[1]) for q in net.params}
    n_out = widths[-1]
    shape = (batch,) if batch else ()
    values["x"] = rng.normal(size=shape + (widths[0],))
    if loss == "cross_entropy":
        values["y"] = np.eye(n_out)[rng.integers(0, n_out, size=shape)]
    else:
        values["y"] = rng.uniform(0.05, 0.95, size=shape + (n_out,))
    if n_out == 1:
        values["y"] = values["y"][..., 0]
    return net, values


def _assert_close(ours, oracle, rtol=1e-8, atol=1e-10):
    for name, expected in oracle.items():
        np.testing.assert_allclose(ours[name], expected, rtol=rtol, atol=atol, err_msg=name)


@SETTINGS
@given(random_mlp())
def test_random_mlps_agree_with_autograd(case):
    net, values = case
    ours = sbp.backprop(net).evaluate(values).grad
    _assert_close(ours, autograd_gradients(net, values))


@pytest.mark.slow
@SETTINGS
@given(random_mlp())
def test_random_mlps_agree_with_finite_differences_and_lambdify(case):
    net, values = case
    d = sbp.backprop(net)
    report = sbp.check_gradients(d, values, tolerance=1e-4, use_sympy=False)
    assert report.passed, [(r.name, r.max_relative_error) for r in report.rows]
    fast = d.lambdify()(**values)
    _assert_close(fast, {q.name: d.evaluate(values).grad[q.name] for q in net.params}, rtol=1e-12, atol=1e-15)


@settings(max_examples=10, deadline=None)
@given(random_mlp())
def test_random_mlps_agree_with_pytorch(case):
    if importlib.util.find_spec("torch") is None:
        require_tool("torch", "pip install torch==2.13.0")
    net, values = case
    ours = sbp.backprop(net).evaluate(values).grad
    _assert_close(ours, torch_gradients(net, values), rtol=1e-9, atol=1e-11)


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.sampled_from(["sigmoid", "tanh", "softplus"]),
       st.integers(0, 2 ** 32 - 1))
def test_small_mlps_agree_with_sympy_diff(width, depth, activation, seed):
    net = sbp.mlp([2] + [width] * depth + [1], activation=activation, output_activation="identity")
    rng = np.random.default_rng(seed)
    values = {q.name: rng.normal(size=q.shape or ()) for q in net.quantities("input", "param")}
    report = sbp.check_gradients(sbp.backprop(net), values, tolerance=1e-4, use_sympy=True)
    assert report.passed and all(r.sympy_diff is not None for r in report.rows)


# -- random scalar expression graphs with fan-out ------------------------------------------

UNARY = [
    ("sin", sp.sin), ("tanh", sp.tanh), ("sigmoid", sbp.sigmoid), ("softplus", sbp.softplus),
    ("square", lambda a: a ** 2), ("log1p2", lambda a: sp.log(1 + a ** 2)), ("exp", lambda a: sp.exp(a / 4)),
]
BINARY = [("add", lambda a, b: a + b), ("mul", lambda a, b: a * b), ("sub", lambda a, b: a - 2 * b)]


@st.composite
def random_graph(draw):
    """A network of scalar nodes, each an operation on earlier quantities (reuse = fan-out)."""
    net = sbp.Network()
    handles = [net.input("x1"), net.input("x2"), net.param("p1"), net.param("p2"), net.param("p3")]
    closed = {h: h for h in handles}  # each handle's expression in inputs and params, built independently
    for k in range(draw(st.integers(2, 8))):
        if draw(st.booleans()):
            _, f = draw(st.sampled_from(UNARY))
            a = draw(st.sampled_from(handles))
            expr, full = f(a), f(closed[a])
        else:
            _, f = draw(st.sampled_from(BINARY))
            a, b = draw(st.sampled_from(handles)), draw(st.sampled_from(handles))
            expr, full = f(a, b), f(closed[a], closed[b])
        node = net.node(f"n{k}", expr)
        closed[node] = full
        handles.append(node)
    last = handles[-3:]
    loss = sum(v ** 2 for v in last) / 2
    net.loss("L", loss)
    full_loss = primitive_form(sum(closed[v] ** 2 for v in last) / 2)  # not our fdiff, SymPy's
    point = {name: draw(st.floats(-1.5, 1.5)) for name in ("x1", "x2", "p1", "p2", "p3")}
    return net, full_loss, point


# a random graph may leave a parameter unused: its gradient must then be 0, which the oracle checks
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::symbackprop.UnusedParameterWarning")
@settings(max_examples=40, deadline=None)
@given(random_graph())
def test_random_scalar_graphs_agree_with_sympy_diff(case):
    net, full_loss, point = case
    d = sbp.backprop(net)
    ours = d.evaluate(point).grad
    symbols = {sp.Symbol(n, real=True): sp.Float(v, 40) for n, v in point.items()}
    for name in ("p1", "p2", "p3", "x1", "x2"):
        expected = float(sp.diff(full_loss, sp.Symbol(name, real=True)).subs(symbols).evalf(30))
        assert ours[name] == pytest.approx(expected, rel=1e-9, abs=1e-12), name


@pytest.mark.filterwarnings("ignore::symbackprop.UnusedParameterWarning")
@settings(max_examples=15, deadline=None)
@given(random_graph())
def test_random_scalar_graphs_exact_and_expanded_forms_agree(case):
    net, full_loss, point = case
    d = sbp.backprop(net)
    p1 = sp.Symbol("p1", real=True)
    expanded = d.gradient("p1", expand=True)
    symbols = {sp.Symbol(n, real=True): sp.Float(v, 40) for n, v in point.items()}
    assert float((expanded - sp.diff(full_loss, p1)).subs(symbols).evalf(30)) == pytest.approx(0, abs=1e-9)
    sums = [s for s in d.steps if s.kind == "sum"]
    for step in sums:
        assert len(step.parts) >= 2
