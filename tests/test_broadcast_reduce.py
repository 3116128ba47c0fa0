"""Broadcasting, reductions over an axis, element-wise division and the element-wise functions of tensors,
each against PyTorch float64 (values and the gradient of every parameter), exactly with rationals, and
in the documents."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop.errors import InvalidAxisError, ShapeMismatchError, TensorInSymPyError
from symbackprop.rules import RULES
from symbackprop.spec import parse_spec

torch = pytest.importorskip("torch")


def _torch_grads(build, values, params):
    """The loss and ∂L/∂param of ``build`` (a function of torch tensors by name), in float64."""
    tensors = {name: torch.tensor(np.asarray(v, dtype=float), dtype=torch.float64, requires_grad=name in params)
               for name, v in values.items()}
    loss = build(tensors)
    loss.backward()
    grads = {name: tensors[name].grad.numpy() if tensors[name].grad is not None else
             np.zeros_like(values[name], dtype=float) for name in params}
    return loss.item(), grads


def _compare(d, values, build, params, *, rtol=1e-10):
    ev = d.evaluate(values)
    expected_loss, expected = _torch_grads(build, values, params)
    np.testing.assert_allclose(float(np.asarray(ev.forward[d.loss])), expected_loss, rtol=rtol, atol=1e-12)
    for name in params:
        np.testing.assert_allclose(np.asarray(ev.grad[name], dtype=float).reshape(np.shape(values[name])),
                                   expected[name], rtol=rtol, atol=1e-12, err_msg=name)
    return ev


def _rng_shape(rng):
    return int(rng.integers(2, 5)), int(rng.integers(2, 5))


# -- broadcasting -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_broadcast_row_column_scalar_against_torch(seed):
    rng = np.random.default_rng(seed)
    m, n = _rng_shape(rng)
    net = sbp.Network()
    X = net.input("X", (m, n))
    r = net.param("r", (1, n))
    c = net.param("c", (m, 1))
    s = net.param("s")
    Z = net.node("Z", (X + r) * c - s)             # + − * with a row, a column and a scalar
    Q = net.node("Q", c * sbp.tanh(Z) - r * Z)     # broadcast operands on either side
    net.loss("L", sbp.total(Q * Q))
    values = {"X": rng.normal(size=(m, n)), "r": rng.normal(size=(1, n)), "c": rng.normal(size=(m, 1)),
              "s": float(rng.normal())}

    def build(t):
        z = (t["X"] + t["r"]) * t["c"] - t["s"]
        q = t["c"] * torch.tanh(z) - t["r"] * z
        return (q * q).sum()

    _compare(sbp.backprop(net), values, build, ["r", "c", "s"])


def test_outer_broadcast_of_a_column_and_a_row_against_torch():
    rng = np.random.default_rng(7)
    net = sbp.Network()
    c = net.param("c", (3, 1))
    r = net.param("r", (1, 4))
    P = net.node("P", sbp.sin(c + r) / (c * r + 3))
    net.loss("L", sbp.total(P))
    values = {"c": rng.normal(size=(3, 1)), "r": rng.normal(size=(1, 4))}
    _compare(sbp.backprop(net), values,
             lambda t: (torch.sin(t["c"] + t["r"]) / (t["c"] * t["r"] + 3)).sum(), ["c", "r"])


def test_broadcast_bias_row_step_is_recorded_and_printed():
    net = sbp.Network()
    X = net.input("X", (4, 3))
    W = net.param("W", (3, 2))
    b = net.param("b", (1, 2))
    Z = net.node("Z", X @ W + b)
    net.loss("L", sbp.total(Z * Z))
    d = sbp.backprop(net)
    step = d.step_for("b")
    assert step.rules == ("broadcast_row",)
    assert isinstance(step.result, sbp.tensor.AxisSum)
    tex = d.to_latex()
    assert r"\mathbf{1}_{4}^{\top}" in tex
    sentence = RULES["broadcast_row"].explanation["en"]
    assert sentence[0].upper() + sentence[1:] in d.to_markdown()
    assert RULES["broadcast_row"].explanation["ko"] in d.to_markdown(lang="ko")
    assert {"en", "ko"} <= set(RULES["broadcast_column"].explanation)


@pytest.mark.parametrize(("left", "right"), [((3, 2), (2, 3)), ((3, 2), (2, 1)), ((3, 2), (1, 3)), ((3, 2), (3, 4))])
def test_shapes_that_do_not_broadcast_name_both(left, right):
    net = sbp.Network()
    a, b = net.input("a", left), net.input("b", right)
    for combine in (lambda: a + b, lambda: a - b, lambda: a * b, lambda: a / b):
        with pytest.raises(ShapeMismatchError) as caught:
            combine()
        assert f"({left[0]}, {left[1]})" in str(caught.value) and f"({right[0]}, {right[1]})" in str(caught.value)


# -- division -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_division_against_torch(seed):
    rng = np.random.default_rng(10 + seed)
    m, n = _rng_shape(rng)
    net = sbp.Network()
    A = net.param("A", (m, n))
    B = net.param("B", (m, n))
    r = net.param("r", (1, n))
    Q = net.node("Q", A / B + 2 / B - A / (r * r + 1) + r / A)
    net.loss("L", sbp.total(Q * Q))
    values = {"A": rng.uniform(0.5, 2, size=(m, n)) * rng.choice([-1, 1], size=(m, n)),
              "B": rng.uniform(0.5, 2, size=(m, n)), "r": rng.normal(size=(1, n))}

    def build(t):
        q = t["A"] / t["B"] + 2 / t["B"] - t["A"] / (t["r"] * t["r"] + 1) + t["r"] / t["A"]
        return (q * q).sum()

    d = sbp.backprop(net)
    _compare(d, values, build, ["A", "B", "r"])
    tex = d.to_latex()
    assert r"\oslash" in tex
    assert "divisor" in d.step_for("B").rules or "divisor" in str(d.steps)


def test_division_by_zero_gives_inf_and_nan_as_numpy():
    net = sbp.Network()
    A = net.input("A", (1, 3))
    B = net.param("B", (1, 3))
    Q = net.node("Q", A / B)
    net.loss("L", sbp.total(Q))
    d = sbp.backprop(net)
    values = {"A": [[1.0, -1.0, 0.0]], "B": [[0.0, 0.0, 0.0]]}
    with np.errstate(all="ignore"):
        expected = np.asarray(values["A"]) / np.asarray(values["B"])
    np.testing.assert_array_equal(np.asarray(d.evaluate(values).forward["Q"], dtype=float), expected)
    exact = np.asarray(d.evaluate({"A": [[1, -1, 0]], "B": [[0, 0, 0]]}, exact=True).forward["Q"], dtype=float)
    np.testing.assert_array_equal(exact, expected)


# -- reductions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("reduce", ["total", "mean"])
def test_reductions_against_torch(axis, reduce):
    rng = np.random.default_rng(20 + (3 if axis is None else axis))
    m, n = _rng_shape(rng)
    net = sbp.Network()
    W = net.param("W", (m, n))
    S = net.node("S", getattr(sbp, reduce)(sbp.sigmoid(W) * W, axis=axis))
    assert getattr(S, "shape", (1, 1)) == {None: (1, 1), 0: (1, n), 1: (m, 1)}[axis]  # a scalar node is a symbol
    net.loss("L", sbp.total(S * S * S))
    values = {"W": rng.normal(size=(m, n))}

    def build(t):
        inner = torch.sigmoid(t["W"]) * t["W"]
        function = torch.sum if reduce == "total" else torch.mean
        s = function(inner) if axis is None else function(inner, dim=axis, keepdim=True)
        return (s ** 3).sum()

    d = sbp.backprop(net)
    _compare(d, values, build, ["W"])
    if axis is not None:
        assert ("sum_rows" if axis == 0 else "sum_columns") in d.step_for("W").rules


def test_total_without_axis_is_unchanged():
    net = sbp.Network()
    W = net.param("W", (2, 3))
    assert sbp.total(W) == sbp.tensor.Sum(W)
    assert sbp.total(sp.Symbol("a")) == sp.Symbol("a")


@pytest.mark.parametrize("axis", [2, -1, 0.5, "rows", True])
def test_a_bad_axis_is_a_typed_error(axis):
    net = sbp.Network()
    W = net.param("W", (2, 3))
    for reduce in (sbp.total, sbp.mean):
        with pytest.raises(InvalidAxisError, match="axis"):
            reduce(W, axis=axis)


def test_layer_norm_by_hand_in_a_batch_against_torch():
    """Reductions, broadcasting, division and sqrt together, over a batch of N = 3 samples."""
    rng = np.random.default_rng(5)
    N, T, D = 3, 2, 4
    net = sbp.Network()
    X = net.input("X", (T, D))
    g = net.param("g", (1, D))
    b = net.param("b", (1, D))
    mu = net.node("mu", sbp.mean(X, axis=1))
    C = net.node("C", X - mu)
    var = net.node("var", sbp.mean(C * C, axis=1))
    Y = net.node("Y", C / sbp.sqrt(var + sp.Rational(1, 100000)) * g + b)
    net.loss("L", sbp.mean(sbp.cos(Y) + sbp.exp(Y / 4)))
    values = {"X": rng.normal(size=(N, T, D)), "g": rng.normal(size=(1, D)), "b": rng.normal(size=(1, D))}

    def build(t):
        y = torch.nn.functional.layer_norm(t["X"], (D,), eps=1e-5) * t["g"] + t["b"]
        return (torch.cos(y) + torch.exp(y / 4)).mean(dim=(1, 2)).mean()

    ev = _compare(sbp.backprop(net), values, build, ["g", "b"])
    assert ev.batch_size == N


# -- exact evaluation ---------------------------------------------------------------------------

def test_exact_rationals_for_broadcasting_reductions_and_division():
    net = sbp.Network()
    X = net.input("X", (2, 3))
    r = net.param("r", (1, 3))
    c = net.param("c", (2, 1))
    M = net.node("M", sbp.mean((X + r) / c, axis=0))
    S = net.node("S", sbp.total(X * c - r, axis=1))
    net.loss("L", sbp.total(M * M) + sbp.total(S * S) / 2)
    values = {"X": [[Fraction(1, 2), 2, -1], [3, Fraction(-1, 3), 1]], "r": [[Fraction(1, 4), -2, 1]],
              "c": [[2], [Fraction(-3, 2)]]}
    d = sbp.backprop(net)
    exact = d.evaluate(values, exact=True)
    for name in ("r", "c"):
        for element in np.asarray(exact.grad[name]).ravel():
            assert isinstance(element, sp.Rational), (name, element)
    floats = {k: np.asarray([[float(v) for v in row] for row in rows]) for k, rows in values.items()}

    def build(t):
        m = ((t["X"] + t["r"]) / t["c"]).mean(dim=0, keepdim=True)
        s = (t["X"] * t["c"] - t["r"]).sum(dim=1, keepdim=True)
        return (m * m).sum() + (s * s).sum() / 2

    loss, grads = _torch_grads(build, floats, ["r", "c"])
    assert float(exact.forward["L"]) == pytest.approx(loss, rel=1e-12)
    for name in ("r", "c"):
        np.testing.assert_allclose(np.asarray(exact.grad[name], dtype=float), grads[name], rtol=1e-12)


# -- element-wise functions ---------------------------------------------------------------------

_FUNCTIONS = {"exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "sin": torch.sin, "cos": torch.cos,
              "abs": torch.abs}


@pytest.mark.parametrize("name", sorted(_FUNCTIONS))
def test_elementwise_functions_against_torch(name):
    rng = np.random.default_rng(len(name))
    m, n = _rng_shape(rng)
    net = sbp.Network()
    W = net.param("W", (m, n))
    b = net.param("b", (m, 1))
    positive = name in ("log", "sqrt")
    Z = net.node("Z", W * W + 1 if positive else W + b)
    H = net.node("H", getattr(sbp, name)(Z) * b)
    net.loss("L", sbp.total(H * H))
    values = {"W": rng.normal(size=(m, n)), "b": rng.normal(size=(m, 1))}

    def build(t):
        z = t["W"] * t["W"] + 1 if positive else t["W"] + t["b"]
        h = _FUNCTIONS[name](z) * t["b"]
        return (h * h).sum()

    d = sbp.backprop(net)
    _compare(d, values, build, ["W", "b"])
    z = sp.Symbol("z")
    assert getattr(sbp, name)(z) == {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin,
                                     "cos": sp.cos, "abs": sp.Abs}[name](z)


def test_sympy_function_of_a_tensor_names_the_sbp_function():
    net = sbp.Network()
    X = net.input("X", (2, 2))
    for function, name in ((sp.exp, "sbp.exp"), (sp.log, "sbp.log"), (sp.sqrt, "sbp.sqrt"), (sp.sin, "sbp.sin"),
                           (sp.cos, "sbp.cos"), (sp.Abs, "sbp.abs")):
        with pytest.raises(TensorInSymPyError) as caught:
            function(X)
        assert f"{name}(X)" in str(caught.value)
    with pytest.raises(TensorInSymPyError, match="sbp.exp"):
        sp.erf(X)


def test_abs_derivative_at_zero_is_zero_at_both_levels():
    net = sbp.Network()
    W = net.param("W", (1, 3))
    net.loss("L", sbp.total(sbp.abs(W)))
    d = sbp.backprop(net)
    values = {"W": [[0, -2, 3]]}
    _, grads = _torch_grads(lambda t: torch.abs(t["W"]).sum(), values, ["W"])
    expected = grads["W"]
    np.testing.assert_array_equal(np.asarray(d.evaluate(values).grad["W"], dtype=float), expected)
    np.testing.assert_array_equal(np.asarray(d.evaluate(values, exact=True).grad["W"], dtype=float), expected)
    np.testing.assert_array_equal(d.lambdify()(**values)["W"].reshape(1, 3), expected)


def test_tails_exp_of_large_values_and_log_of_zero_and_negatives_as_torch():
    net = sbp.Network()
    W = net.param("W", (1, 4))
    E = net.node("E", sbp.exp(W))
    G = net.node("G", sbp.log(W))
    R = net.node("R", sbp.sqrt(W))
    net.loss("L", sbp.total(E) + sbp.total(G) + sbp.total(R))
    d = sbp.backprop(net)
    values = {"W": [[800, 0, -1, 4]]}
    tensors = torch.tensor(values["W"], dtype=torch.float64, requires_grad=True)
    parts = {"E": torch.exp(tensors), "G": torch.log(tensors), "R": torch.sqrt(tensors)}
    sum(p.sum() for p in parts.values()).backward()
    for ev in (d.evaluate(values), d.evaluate(values, exact=True)):
        for name, part in parts.items():
            np.testing.assert_array_equal(np.asarray(ev.forward[name], dtype=float).reshape(1, 4),
                                          part.detach().numpy(), err_msg=name)
        np.testing.assert_array_equal(np.asarray(ev.grad["W"], dtype=float).reshape(1, 4), tensors.grad.numpy())
    assert math.isinf(float(np.asarray(d.evaluate(values).forward["E"]).ravel()[0]))


# -- spec files ---------------------------------------------------------------------------------

def test_spec_file_functions_match_the_python_network():
    text = """
[inputs]
X = [3, 2]
[params]
r = [1, 2]
c = [3, 1]
[nodes]
Z = "exp(X / c) + abs(X - r) + sqrt(X * X + 1) + log(c * c + 1) + sin(r) * cos(c)"
M = "mean(Z, axis=0) + transpose(total(Z, axis=1)) @ Z / 3"
[loss]
L = "sum(M * M) + mean(Z)"
"""
    spec = parse_spec(text)
    rng = np.random.default_rng(3)
    values = {"X": rng.normal(size=(3, 2)), "r": rng.normal(size=(1, 2)), "c": rng.uniform(1, 2, size=(3, 1))}

    def build(t):
        X, r, c = t["X"], t["r"], t["c"]
        z = torch.exp(X / c) + torch.abs(X - r) + torch.sqrt(X * X + 1) + torch.log(c * c + 1) + \
            torch.sin(r) * torch.cos(c)
        m = z.mean(dim=0, keepdim=True) + z.sum(dim=1, keepdim=True).T @ z / 3
        return (m * m).sum() + z.mean()

    _compare(sbp.backprop(spec.network), values, build, ["r", "c"])
    _compare(sbp.backprop(parse_spec(text, level="scalar").network), values, build, ["r", "c"])  # rows broadcast
    functions = {node.function for node in sbp.tensor.walk(spec.network["Z"].definition)
                 if isinstance(node, sbp.tensor.Elementwise)}
    assert {sbp.exp, sbp.abs, sbp.sqrt, sbp.log, sbp.sin, sbp.cos} <= functions


# -- random compositions ------------------------------------------------------------------------

_UNARY = {
    "tanh": (sbp.tanh, torch.tanh), "sigmoid": (sbp.sigmoid, torch.sigmoid),
    "sin": (sbp.sin, torch.sin), "cos": (sbp.cos, torch.cos), "abs": (sbp.abs, torch.abs),
    "exp": (lambda v: sbp.exp(sbp.tanh(v)), lambda v: torch.exp(torch.tanh(v))),
    "log": (lambda v: sbp.log(v * v + 1), lambda v: torch.log(v * v + 1)),
    "sqrt": (lambda v: sbp.sqrt(v * v + 1), lambda v: torch.sqrt(v * v + 1)),
}


def _shape(value):
    return getattr(value, "shape", (1, 1))


def _broadcasts(a, b):
    return all(x == y or 1 in (x, y) for x, y in zip(_shape(a), _shape(b)))


def _torch_step(kind, x, y, W, unary, axis):
    if kind in ("add", "sub", "mul"):
        return x + y if kind == "add" else x - y if kind == "sub" else x * y
    if kind == "div":
        return x / (y * y + 1)
    if kind == "matmul":
        return x @ W
    if kind in ("total", "mean"):
        reduce = torch.sum if kind == "total" else torch.mean
        return reduce(x) if axis is None else reduce(x, dim=axis, keepdim=True)
    return _UNARY[unary][1](x)


@st.composite
def _composition(draw):
    m, n = draw(st.integers(2, 3)), draw(st.integers(2, 3))
    steps = []
    for _ in range(draw(st.integers(2, 6))):
        kind = draw(st.sampled_from(["add", "sub", "mul", "div", "matmul", "unary", "total", "mean"]))
        steps.append((kind, draw(st.integers(0, 10**6)), draw(st.sampled_from(sorted(_UNARY))),
                      draw(st.sampled_from([None, 0, 1]))))
    return m, n, steps, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_composition())
def test_random_compositions_against_torch(case):
    m, n, steps, seed = case
    net = sbp.Network()
    pool = {"X": net.param("X", (m, n)), "r": net.param("r", (1, n)), "c": net.param("c", (m, 1)),
            "s": net.param("s")}
    W = net.param("W", (n, n))
    rng = np.random.default_rng(seed)
    values = {"X": rng.normal(size=(m, n)), "r": rng.normal(size=(1, n)), "c": rng.normal(size=(m, 1)),
              "s": float(rng.normal()), "W": rng.normal(size=(n, n)) / n}
    recipe = []  # what to do in torch, step by step
    for index, (kind, pick, unary, axis) in enumerate(steps):
        names = list(pool)
        a = names[pick % len(names)]
        partners = [b for b in names if _broadcasts(pool[a], pool[b])]
        b = partners[(pick // 7) % len(partners)]
        x, y = pool[a], pool[b]
        if kind == "add":
            value = x + y
        elif kind == "sub":
            value = x - y
        elif kind == "mul":
            value = x * y
        elif kind == "div":
            value = x / (y * y + 1)
        elif kind == "matmul" and _shape(x)[1] == n:
            value = x @ W
        elif kind in ("total", "mean") and _shape(x) == (m, n):
            value = getattr(sbp, kind)(x, axis=axis)
        else:
            kind, value = "unary", _UNARY[unary][0](x)
        name = f"n{index}"
        pool[name] = net.node(name, value)
        recipe.append((name, kind, a, b, unary, axis))
    last = pool[f"n{len(steps) - 1}"]
    net.loss("L", sbp.total(last * last) + sbp.total(pool["X"] * pool["X"]) / 10)

    def build(t):
        env = dict(t)
        for name, kind, a, b, unary, axis in recipe:
            x, y = env[a], env[b]
            env[name] = _torch_step(kind, x, y, env["W"], unary, axis)
        final = env[recipe[-1][0]]
        return (final * final).sum() + (env["X"] * env["X"]).sum() / 10

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a parameter the composition did not use
        d = sbp.backprop(net)
    _compare(d, values, build, ["X", "r", "c", "s", "W"], rtol=1e-9)
