"""Indexing and joining: X[i, :], X[:, j], X[i, j], ranges and concat, against PyTorch in float64."""

from __future__ import annotations

import time

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop.graph import to_dot
from symbackprop.rules import RULES
from symbackprop.spec import parse_spec

torch = pytest.importorskip("torch")


def torch_gradients(values, loss_of):
    """Value and gradient of every entry of ``values`` from a PyTorch float64 loss."""
    tensors = {k: torch.tensor(np.asarray(v, dtype=float), dtype=torch.float64, requires_grad=True)
               for k, v in values.items()}
    loss = loss_of(tensors)
    loss.backward()
    return float(loss.detach()), {k: t.grad.numpy() for k, t in tensors.items()}


def assert_matches(derivation, values, loss_of):
    evaluation = derivation.evaluate(values)
    loss, grads = torch_gradients(values, loss_of)
    assert float(evaluation.loss) == pytest.approx(loss, rel=1e-11, abs=1e-12)
    for name, expected in grads.items():
        np.testing.assert_allclose(np.asarray(evaluation.grad[name], dtype=float).reshape(expected.shape),
                                   expected, rtol=1e-10, atol=1e-12, err_msg=name)
    return evaluation


# -- an RNN over the columns of a batched input, hidden states joined ---------------------------


def rnn_over_columns(d, h, steps):
    net = sbp.Network()
    X = net.input("X", (d, steps))
    W = net.param("W", (h, h))
    U = net.param("U", (h, d))
    b = net.param("b", (h, 1))
    V = net.param("V", (2, 2 * h))
    state = None
    states = []
    for t in range(steps):
        pre = U @ X[:, t] + b if state is None else W @ state + U @ X[:, t] + b
        state = net.node(f"h{t + 1}", sbp.tanh(pre))
        states.append(state)
    H = net.node("H", sbp.concat(states, axis=1))  # (h, T): the hidden states side by side
    Z = net.node("Z", V @ sbp.concat([H[:, 0:steps - 1], H[:, 1:]], axis=0))  # (2, T-1), both axes used
    net.loss("L", sbp.total(Z * Z) + X[0, -1] * sbp.total(W[0, :]))
    return net


def rnn_in_torch(steps):
    def loss(t):
        X, W, U, b, V = t["X"], t["W"], t["U"], t["b"], t["V"]
        state, states = None, []
        for s in range(steps):
            pre = U @ X[..., :, s:s + 1] + b if state is None else W @ state + U @ X[..., :, s:s + 1] + b
            state = torch.tanh(pre)
            states.append(state)
        H = torch.cat(states, dim=-1)
        Z = V @ torch.cat([H[..., :, 0:steps - 1], H[..., :, 1:]], dim=-2)
        per_sample = (Z * Z).sum(dim=(-2, -1)) + X[..., 0, -1] * W[0, :].sum()
        return per_sample.mean()
    return loss


@pytest.mark.parametrize("seed", range(3))
def test_slices_and_concat_match_torch_on_a_batch(seed):
    rng = np.random.default_rng(seed)
    d, h, steps, batch = (int(v) for v in (rng.integers(2, 5), rng.integers(2, 4), rng.integers(3, 6),
                                           rng.integers(2, 5)))
    net = rnn_over_columns(d, h, steps)
    values = {"X": rng.normal(size=(batch, d, steps)), "W": rng.normal(size=(h, h)) * 0.5,
              "U": rng.normal(size=(h, d)), "b": rng.normal(size=(h, 1)), "V": rng.normal(size=(2, 2 * h))}
    assert_matches(sbp.backprop(net), values, rnn_in_torch(steps))


def test_an_rnn_of_ten_steps_derives_and_evaluates_quickly():
    started = time.perf_counter()
    net = rnn_over_columns(3, 4, 10)
    derivation = sbp.backprop(net)
    rng = np.random.default_rng(7)
    values = {"X": rng.normal(size=(4, 3, 10)), "W": rng.normal(size=(4, 4)) * 0.5, "U": rng.normal(size=(4, 3)),
              "b": rng.normal(size=(4, 1)), "V": rng.normal(size=(2, 8))}
    assert_matches(derivation, values, rnn_in_torch(10))
    assert time.perf_counter() - started < 30  # a guard against a blow-up, not a benchmark


def test_fan_out_through_several_slices_of_one_tensor_sums():
    net = sbp.Network()
    A = net.param("A", (3, 4))
    x = net.input("x", (4, 1))
    rows = [net.node(f"r{i}", sbp.sigmoid(A[i, :] @ x)) for i in range(3)]  # every row, one node each
    block = net.node("B", A[1:, 1:3] * A[:2, 2:])  # overlapping blocks of A in one definition
    corner = net.node("c", A[-1, -1])  # an entry, a scalar quantity: SymPy takes it from here
    net.loss("L", rows[0] * rows[1] + sp.sin(rows[2]) + sbp.total(block ** 2) + sp.exp(corner) * corner)
    derivation = sbp.backprop(net)
    assert any(s.kind == "sum" and s.target == "A" for s in derivation.steps)
    rng = np.random.default_rng(3)
    values = {"A": rng.normal(size=(3, 4)), "x": rng.normal(size=(4, 1))}

    def loss(t):
        A, x = t["A"], t["x"]
        r = [torch.sigmoid(A[i:i + 1, :] @ x)[0, 0] for i in range(3)]
        block = A[1:, 1:3] * A[:2, 2:]
        corner = A[-1, -1]
        return r[0] * r[1] + torch.sin(r[2]) + (block ** 2).sum() + torch.exp(corner) * corner

    assert_matches(derivation, values, loss)
    sbp.check_gradients(derivation, values)


def test_concat_along_rows_and_columns_with_a_shared_parameter_and_a_scalar():
    net = sbp.Network()
    x = net.input("x", (2, 1))
    s = net.input("s")
    p = net.param("p", (3, 1))
    q = net.param("q")
    M = net.param("M", (2, 3))
    column = net.node("col", sbp.concat([x, p, s * q, q], axis=0))  # (7, 1): a batched and a shared part
    wide = net.node("wide", sbp.concat([M, x, M[:, :1] * q], axis=1))  # (2, 5)
    net.loss("L", sbp.total(sbp.tanh(wide @ column[2:, :])) + sbp.total(column[:2, :] * x))
    rng = np.random.default_rng(11)
    values = {"x": rng.normal(size=(3, 2, 1)), "s": rng.normal(size=(3, 1, 1)), "p": rng.normal(size=(3, 1)),
              "q": 0.7, "M": rng.normal(size=(2, 3))}

    def loss(t):
        x, s, p, q, M = t["x"], t["s"], t["p"], t["q"], t["M"]
        batch = x.shape[0]
        column = torch.cat([x, p.expand(batch, 3, 1), s * q, q.expand(batch, 1, 1)], dim=-2)
        wide = torch.cat([M.expand(batch, 2, 3), x, (M[:, :1] * q).expand(batch, 2, 1)], dim=-1)
        per_sample = torch.tanh(wide @ column[:, 2:, :]).sum(dim=(-2, -1)) + (column[:, :2, :] * x).sum(dim=(-2, -1))
        return per_sample.mean()

    assert_matches(sbp.backprop(net), values, loss)


def test_exact_evaluation_with_rationals_agrees_with_floats():
    net = sbp.Network()
    X = net.input("X", (2, 3))
    W = net.param("W", (2, 2))
    Y = net.node("Y", W @ sbp.concat([X[:, 0], X[:, 2]], axis=1))
    net.loss("L", sbp.total(sbp.sigmoid(Y) * Y) + X[1, 1] * sbp.total(W[0, :] ** 2))
    derivation = sbp.backprop(net)
    values = {"X": [[sp.Rational(1, 2), -1, 2], [sp.Rational(3, 4), 1, sp.Rational(-1, 3)]],
              "W": [[sp.Rational(1, 5), 2], [-1, sp.Rational(1, 7)]]}
    exact = derivation.evaluate(values, exact=True)
    floats = {k: np.asarray([[float(v) for v in row] for row in rows]) for k, rows in values.items()}
    approximate = assert_matches(derivation, floats, lambda t: (
        (torch.sigmoid(Y_t := t["W"] @ torch.cat([t["X"][:, 0:1], t["X"][:, 2:3]], dim=1)) * Y_t).sum()
        + t["X"][1, 1] * (t["W"][0, :] ** 2).sum()))
    for name in ("W", "X"):
        matrix = exact.grad[name]
        assert all(isinstance(e, sp.Expr) and not isinstance(e, sp.Float) for e in np.asarray(matrix).ravel())
        np.testing.assert_allclose(np.asarray(matrix, dtype=float), approximate.grad[name], rtol=1e-13)
    assert exact.grad["X"][0, 1] == 0 and exact.grad["X"][1, 1] != 0  # only X[1, 1] was taken from column 1


# -- random compositions ------------------------------------------------------------------------


@st.composite
def compositions(draw):
    rows, columns = draw(st.integers(2, 4)), draw(st.integers(2, 5))
    r0 = draw(st.integers(0, rows - 1))
    r1 = draw(st.integers(r0 + 1, rows))
    c0 = draw(st.integers(-columns, columns - 1))
    c1 = draw(st.integers((c0 % columns) + 1, columns))
    axis = draw(st.sampled_from([0, 1]))
    activation = draw(st.sampled_from(["tanh", "sigmoid", "relu"]))
    seed = draw(st.integers(0, 2**16))
    return rows, columns, (r0, r1), (c0, c1), axis, activation, seed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(compositions())
def test_random_slices_and_concats_with_matmul_and_activations_match_torch(case):
    rows, columns, (r0, r1), (c0, c1), axis, activation, seed = case
    net = sbp.Network()
    A = net.param("A", (rows, columns))
    x = net.input("x", (columns, 1))
    piece = net.node("P", A[r0:r1, c0:c1])
    joined = net.node("J", sbp.concat([piece, piece * 2] if axis == 0 else [piece, A[r0:r1, :]], axis=axis))
    stacked = sbp.concat([A[0, :].T, x], axis=0)[: joined.shape[1]]  # a slice of a concatenation
    h = net.node("h", getattr(sbp, activation)(joined.T @ joined @ stacked))
    net.loss("L", sbp.total(h * h) + sbp.total(A[:, c0] * A[:, -1]))
    rng = np.random.default_rng(seed)
    values = {"A": rng.normal(size=(rows, columns)), "x": rng.normal(size=(3, columns, 1))}
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[activation]

    def loss(t):
        A, x = t["A"], t["x"]
        batch = x.shape[0]
        piece = A[r0:r1, c0:c1] if c0 >= 0 else A[r0:r1, columns + c0:c1]
        joined = torch.cat([piece, piece * 2] if axis == 0 else [piece, A[r0:r1, :]], dim=axis)
        stacked = torch.cat([A[0:1, :].T.expand(batch, columns, 1), x], dim=-2)[:, :joined.shape[1]]
        h = act(joined.T @ joined @ stacked)
        c = c0 % columns
        per_sample = (h * h).sum(dim=(-2, -1)) + (A[:, c] * A[:, -1]).sum()
        return per_sample.mean()

    assert_matches(sbp.backprop(net), values, loss)


# -- documents, rules, graph, code ------------------------------------------------------------------


def test_steps_print_as_blocks_and_subscripts_with_rules_in_both_languages():
    net = sbp.Network()
    X = net.input("X", (3, 4))
    w = net.param("w", (1, 3))
    a = net.node("a", w @ X[:, 1])
    c = net.node("c", sbp.concat([a, w @ X[:, 2:]], axis=1))
    net.loss("L", sbp.total(c * c))
    derivation = sbp.backprop(net)
    page = derivation.to_markdown()
    assert r"X_{:,2}" in page and r"X_{:,3:4}" in page  # 1-based, as a textbook counts
    assert r"\begin{bmatrix} a & w \, X_{:,3:4} \end{bmatrix}" in page
    assert r"\left[\frac{\partial L}{\partial c}\right]_{1}" in page  # ∂L/∂a: the first block of ∂L/∂c
    assert r"\mathbf{0}_{3 \times 1}" in page and r"\mathbf{0}_{3 \times 2}" in page  # ∂L/∂X in zeros
    for key in ("slice", "concat"):
        assert RULES[key].explanation["en"] and RULES[key].explanation["ko"]
        assert RULES[key].explanation["en"][1:] in page
    assert RULES["concat"].explanation["ko"][1:] in derivation.to_markdown(lang="ko")
    dot = to_dot(net)
    assert "concat, axis 1" in dot and "[:, 1]" in dot
    from symbackprop.numeric import Program

    source = Program(derivation).source  # every gradient, ∂L/∂X too
    scope: dict = {}
    exec(compile(source, "<generated>", "exec"), scope)  # the standalone module carries its helpers
    assert "def _placed_sum" in source and "def _concat" in source  # X read in two slices: their pieces placed
    rng = np.random.default_rng(0)
    arrays = {"X": rng.normal(size=(3, 4)), "w": rng.normal(size=(1, 3))}
    _, gradients = scope["derivation"](arrays["X"], arrays["w"], 1)
    np.testing.assert_allclose(gradients["X"], derivation.evaluate(arrays).grad["X"], rtol=1e-14)


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "error", "fragment"), [
    ((3, 0), sbp.IndexOutOfRangeError, "row index 3 is out of range for X of shape (3, 4)"),
    ((0, -5), sbp.IndexOutOfRangeError, "column index -5 is out of range for X of shape (3, 4)"),
    ((slice(0, 6), 0), sbp.IndexOutOfRangeError, "row bound 6 is out of range for X of shape (3, 4)"),
    ((slice(2, 2), 0), sbp.IndexOutOfRangeError, "is empty"),
    ((slice(None, None, 2), 0), sbp.InvalidIndexError, "step 2"),
    ((slice(None, None, -1), 0), sbp.InvalidIndexError, "step -1"),
    ((0.5, 0), sbp.InvalidIndexError, "with 0.5"),
    ((True, 0), sbp.InvalidIndexError, "with True"),
    ((0, 0, 0), sbp.InvalidIndexError, "3 indices"),
    ((Ellipsis, 0), sbp.InvalidIndexError, "Ellipsis"),
])
def test_bad_indices_are_refused_with_typed_errors(key, error, fragment):
    net = sbp.Network()
    X = net.input("X", (3, 4))
    with pytest.raises(error) as caught:
        X[key]
    assert fragment in str(caught.value)


def test_bad_concatenations_are_refused_with_typed_errors():
    net = sbp.Network()
    a, b = net.input("a", (2, 3)), net.input("b", (3, 2))
    with pytest.raises(sbp.ShapeMismatchError, match=r"a of shape \(2, 3\) and b of shape \(3, 2\) along axis 0"):
        sbp.concat([a, b], axis=0)
    with pytest.raises(sbp.ShapeMismatchError, match=r"along axis 1"):
        sbp.concat([a, b], axis=1)
    with pytest.raises(sbp.InvalidAxisError, match="axis 2"):
        sbp.concat([a, a], axis=2)
    with pytest.raises(sbp.InvalidIndexError, match="list of tensors"):
        sbp.concat(a)
    with pytest.raises(sbp.ShapeMismatchError, match="at least one"):
        sbp.concat([])
    assert sbp.concat([a], axis=1) is a
    with pytest.raises(TypeError):
        iter(a)  # indexing does not make a tensor iterable


# -- spec files -------------------------------------------------------------------------------------

SPEC = """
[inputs]
X = [3, 4]
[params]
W = [2, 3]
v = [1, 4]
[nodes]
a = "tanh(W @ X[:, 0] + W @ X[:, -1])"
c = "concat(a, W @ X[:, 1:2], axis=1)"
s = "X[0, 2] * sum(v[0, 1:3])"
r = "concat(v, X[1:, :], axis=0)"
[loss]
L = "0.5 * (sum(c * c) + s + sum(r))**2"
"""


@pytest.mark.parametrize("level", ["vector", "scalar"])
def test_spec_indexing_and_concat_match_torch_at_both_levels(level):
    network = parse_spec(SPEC, level=level).network
    rng = np.random.default_rng(5)
    values = {"X": rng.normal(size=(3, 4)), "W": rng.normal(size=(2, 3)), "v": rng.normal(size=(1, 4))}

    def loss(t):
        X, W, v = t["X"], t["W"], t["v"]
        a = torch.tanh(W @ X[:, 0:1] + W @ X[:, 3:4])
        c = torch.cat([a, W @ X[:, 1:2]], dim=1)
        s = X[0, 2] * v[0, 1:3].sum()
        r = torch.cat([v, X[1:, :]], dim=0)
        return 0.5 * ((c * c).sum() + s + r.sum()) ** 2

    assert_matches(sbp.backprop(network), values, loss)


@pytest.mark.parametrize(("node", "fragment"), [
    ("X[W, 0]", "an index must be an integer constant"),
    ("X[sum(X), 0]", "an index must be an integer constant"),
    ("X[0:1+1, 0]", "an index must be an integer constant"),
    ("X.T[0]", "attribute access is not allowed"),
    ("transpose(X)[0]", "only a quantity's name can be indexed"),
    ("X[0, :][0]", "only a quantity's name can be indexed"),
    ("X[0, ::2]", "step 2"),
    ("X[5, 0]", "row index 5 is out of range for X of shape (3, 4)"),
    ("concat(X, W, axis=1)", "differ"),
    ("concat(X, X, axis=3)", "axis 3"),
])
def test_spec_subscripts_outside_the_language_are_refused(node, fragment):
    text = f'[inputs]\nX = [3, 4]\n[params]\nW = [2, 3]\n[nodes]\nh = "{node}"\n[loss]\nL = "sum(h)"\n'
    with pytest.raises(sbp.SymbackpropError) as caught:
        parse_spec(text)
    assert fragment in str(caught.value)
