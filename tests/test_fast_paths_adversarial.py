"""The compiled gradient's fast paths on graphs beyond the plain MLP, against PyTorch's float64 autograd.

Every case is written twice, once as a symbackprop network and once, by hand, as
PyTorch code; no rule, step or generated line of symbackprop builds the oracle.
Each compiled function is called many times in a row with other batch sizes and
numbers (no batch, 1, 2, 3, 1023, 1024, 1025, 1100 samples; a column given as
(N, d) or (N, d, 1)), so the first call's rewrite (samples as rows, or grouped
scalars), the signature cache and ``check=False`` all answer; the earlier answers
must not change afterwards and the inputs never do.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
    import torch
else:
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")

import torch.nn.functional as F  # noqa: E402

import symbackprop as sbp  # noqa: E402
from symbackprop.errors import NonFiniteValueError  # noqa: E402

from .tooling import need  # noqa: E402

RTOL, ATOL = 1e-10, 1e-12
BATCHES = (None, 1, 2, 3, 1023, 1024, 1025, 1100, 3, None, 2)
UNCHECKED = (3, 1100, None, 3)
WORST = {"error": 0.0, "compared": 0}


# -- the oracle: a hand-written forward pass, batched as (N, rows, columns) ---------------------

def tot(a):
    """Each sample's sum of entries, kept as (N, 1, 1)."""
    return a.sum(dim=(-2, -1), keepdim=True)


def tr(a):
    return a.transpose(-1, -2)


def half_sq(h, y):
    return 0.5 * tot((h - y) ** 2)


@dataclass
class Case:
    name: str
    build: Callable[[], sbp.Network]
    forward: Callable[[dict], object]  # the per-sample loss from (N, r, c) inputs and (r, c) parameters
    positive: tuple[str, ...] = ()
    distributions: tuple[str, ...] = ()  # targets whose columns sum to 1, as cross-entropy documents them
    values: Callable | None = None  # values of one call: (network, batch, rng) -> dict, instead of random normals
    backends: bool = True
    extra: dict = field(default_factory=dict)


@cache
def derivation(case_name: str) -> sbp.Derivation:
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sbp.backprop(CASES[case_name].build())


def random_values(case: Case, net: sbp.Network, batch: int | None, rng: np.random.Generator,
                  flat_columns: bool, call: int = 0) -> dict:
    if case.values is not None:
        return case.values(net, batch, rng)
    values = {}
    for q in net.quantities("input", "param"):
        shape = q.matrix_shape
        if q.kind == "input" and batch is not None:
            shape = (batch, *shape)
            if flat_columns and q.matrix_shape[1] == 1:
                shape = (batch, q.matrix_shape[0])
        elif flat_columns and q.matrix_shape[1] == 1:
            shape = (q.matrix_shape[0],)
        if q.is_scalar:
            shape = () if q.kind == "param" or batch is None else [(batch,), (batch, 1), (batch, 1, 1)][call % 3]
        if q.name in case.positive:
            values[q.name] = rng.uniform(0.5, 1.5, size=shape)
        elif q.name in case.distributions:
            weights = rng.uniform(0.1, 1.0, size=((batch or 1), *q.matrix_shape))
            values[q.name] = (weights / weights.sum(axis=-2, keepdims=True)).reshape(shape)
        else:
            values[q.name] = rng.normal(size=shape) * 0.7
        if q.is_scalar and q.kind == "param":
            values[q.name] = float(values[q.name]) if call % 4 == 3 else np.asarray(values[q.name])
    return values


def canonical(net: sbp.Network, values: dict, batch: int | None) -> dict:
    """The values as (N, r, c) inputs and (r, c) parameters, N = 1 without a batch."""
    return {q.name: np.asarray(values[q.name], dtype=float).reshape(
        *((batch or 1,) if q.kind == "input" else ()), *q.matrix_shape) for q in net.quantities("input", "param")}


def torch_answer(case: Case, net: sbp.Network, values: dict, batch: int | None) -> tuple[float, dict]:
    arrays = canonical(net, values, batch)
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in {p.name for p in net.params})
               for k, v in arrays.items()}
    loss = case.forward(tensors).reshape(-1).mean()
    if loss.requires_grad:
        loss.backward()
    # a parameter the loss does not reach has no .grad in torch; its gradient is zero
    return float(loss.detach()), {p.name: np.zeros(arrays[p.name].shape) if tensors[p.name].grad is None
                                  else tensors[p.name].grad.numpy() for p in net.params}


def close(ours, expected, what: str) -> None:
    ours, expected = np.asarray(ours, dtype=float), np.asarray(expected, dtype=float)
    assert ours.size == expected.size, what
    expected = expected.reshape(ours.shape)
    np.testing.assert_allclose(ours, expected, rtol=RTOL, atol=ATOL, err_msg=what)
    scale = np.maximum(np.abs(expected), 1e-3)
    WORST["error"] = max(WORST["error"], float(np.max(np.abs(ours - expected) / scale, initial=0.0)))
    WORST["compared"] += 1


def exercise(case: Case, grad, batches, rng, *, convert=np.asarray) -> None:
    """Call ``grad`` once per batch size, checking each answer against torch, the inputs untouched and
    every earlier answer unchanged by the later calls."""
    net = derivation(case.name).network
    kept = []
    for call, batch in enumerate(batches):
        values = random_values(case, net, batch, rng, flat_columns=call % 2 == 1, call=call)
        copies = {k: np.array(v, copy=True) for k, v in values.items()}
        got = {k: np.array(convert(v), copy=True) for k, v in grad(**values).items()}
        raw = grad(**values)
        for k, v in values.items():
            np.testing.assert_array_equal(v, copies[k], err_msg=f"{case.name}: input {k} changed")
        _, expected = torch_answer(case, net, values, batch)
        assert set(got) == set(expected)
        for k in got:
            close(got[k], expected[k], f"{case.name}, batch {batch}, call {call}: ∂L/∂{k}")
            close(convert(raw[k]), expected[k], f"{case.name}, batch {batch}, second call: ∂L/∂{k}")
        # as handed out: a one-sample call's first calls run the general program, the later ones the rows
        # program, whose stacked sums may round otherwise (close, not bit for bit, to the call before)
        kept.append((raw, {k: np.array(convert(v), copy=True) for k, v in raw.items()}))
    for raw, handed_out in kept:  # a later call must not write into an answer already handed out
        for k in handed_out:
            np.testing.assert_array_equal(np.asarray(convert(raw[k])), handed_out[k],
                                          err_msg=f"{case.name}: {k} aliased")


# -- the cases -------------------------------------------------------------------------------------

CASES: dict[str, Case] = {}


def case(name: str, **options):
    def register(pair):
        build, forward = pair()
        CASES[name] = Case(name, build, forward, **options)
        return pair
    return register


@case("tied_weights")
def _():
    def build():
        net = sbp.Network()
        x, y = net.input("x", (3, 1)), net.input("y", (3, 1))
        W = net.param("W", (4, 3))
        b = net.param("b", (4, 1))
        h = net.node("h", sbp.tanh(W @ x + b))
        out = net.node("out", W.T @ h)
        net.loss("L", sbp.half_squared_error(out, y))
        return net
    return build, lambda t: half_sq(tr(t["W"]) @ torch.tanh(t["W"] @ t["x"] + t["b"]), t["y"])


@case("square_weight_used_twice")
def _():
    def build():
        net = sbp.Network()
        x, y = net.input("x", (3, 1)), net.input("y", (3, 1))
        W = net.param("W", (3, 3))
        z1 = net.node("z1", W @ x)
        h1 = net.node("h1", sbp.relu(z1))
        z2 = net.node("z2", W @ h1)
        net.loss("L", sbp.half_squared_error(z2, y))
        return net
    return build, lambda t: half_sq(t["W"] @ torch.relu(t["W"] @ t["x"]), t["y"])


@case("parameter_in_a_product_and_element_wise")
def _():
    def build():
        net = sbp.Network()
        x, y = net.input("x", (3, 1)), net.input("y", (3, 1))
        W = net.param("W", (3, 3))
        b = net.param("b", (3, 1))
        A = net.node("A", sbp.sigmoid(W))  # a branch of parameters alone: shared by every sample
        z = net.node("z", A @ x + W @ x + b)
        u = net.node("u", z * b + W @ z)
        net.loss("L", sbp.half_squared_error(u, y))
        return net

    def forward(t):
        z = torch.sigmoid(t["W"]) @ t["x"] + t["W"] @ t["x"] + t["b"]
        return half_sq(z * t["b"] + t["W"] @ z, t["y"])
    return build, forward


@case("residual_and_bias_free")
def _():
    def build():
        net = sbp.Network()
        x, y = net.input("x", (3, 1)), net.input("y", (3, 1))
        W1, W2, W3 = net.param("W1", (5, 3)), net.param("W2", (3, 5)), net.param("W3", (3, 3))
        b1 = net.param("b1", (5, 1))
        h1 = net.node("h1", sbp.relu(W1 @ x + b1))
        r = net.node("r", x + W2 @ h1)
        out = net.node("out", r + W3 @ sbp.silu(r))
        net.loss("L", sbp.mse(out, y))
        return net

    def forward(t):
        r = t["x"] + t["W2"] @ torch.relu(t["W1"] @ t["x"] + t["b1"])
        out = r + t["W3"] @ F.silu(r)
        return tot((out - t["y"]) ** 2) / 3
    return build, forward


@case("one_wide_layers")
def _():
    def build():
        net = sbp.Network()
        x, y = net.input("x", (3, 1)), net.input("y", (2, 1))
        W1, W2, W3 = net.param("W1", (1, 3)), net.param("W2", (4, 1)), net.param("W3", (2, 4))
        b1 = net.param("b1")
        h1 = net.node("h1", sbp.leaky_relu(W1 @ x + b1, 0.2))
        h2 = net.node("h2", sbp.softplus(W2 @ h1))
        net.loss("L", sbp.half_squared_error(W3 @ h2, y))
        return net

    def forward(t):
        h1 = F.leaky_relu(t["W1"] @ t["x"] + t["b1"], 0.2)
        return half_sq(t["W3"] @ F.softplus(t["W2"] @ h1), t["y"])
    return build, forward


@case("weight_decay_and_a_parameter_only_node")
def _():
    def build():
        net = sbp.Network()
        x, y = net.input("x", (3, 1)), net.input("y", (2, 1))
        W1, W2 = net.param("W1", (4, 3)), net.param("W2", (2, 4))
        c = net.param("c")
        r = net.node("r", sbp.total(W1 * W1))
        h = net.node("h", sbp.gelu(W1 @ x))
        net.loss("L", sbp.half_squared_error(c * (W2 @ h), y) + r / 100
                 + sp.Rational(1, 20) * sbp.total(W2 * W2) + c ** 2)
        return net

    def forward(t):
        h = F.gelu(t["W1"] @ t["x"])
        return (half_sq(t["c"] * (t["W2"] @ h), t["y"]) + (t["W1"] ** 2).sum() / 100
                + (t["W2"] ** 2).sum() / 20 + t["c"] ** 2)
    return build, forward


@case("matrix_inputs_several_columns")
def _():
    def build():
        net = sbp.Network()
        X, Y = net.input("X", (3, 2)), net.input("Y", (2, 2))
        W, V = net.param("W", (4, 3)), net.param("V", (2, 4))
        b = net.param("b", (4, 1))
        H = net.node("H", sbp.mish(W @ X + b))
        net.loss("L", sbp.half_squared_error(V @ H, Y))
        return net
    return build, lambda t: half_sq(t["V"] @ F.mish(t["W"] @ t["X"] + t["b"]), t["Y"])


@case("row_vectors")
def _():
    def build():
        net = sbp.Network()
        x, y = net.input("x", (1, 3)), net.input("y", (1, 2))
        W, V = net.param("W", (3, 4)), net.param("V", (4, 2))
        b = net.param("b", (1, 4))
        h = net.node("h", sbp.gelu(x @ W + b, approximate="tanh"))
        net.loss("L", sbp.half_squared_error(h @ V, y))
        return net
    return build, lambda t: half_sq(F.gelu(t["x"] @ t["W"] + t["b"], approximate="tanh") @ t["V"], t["y"])


@case("scalars_among_tensors")
def _():
    def build():
        net = sbp.Network()
        x, y = net.input("x", (3, 1)), net.input("y", (3, 1))
        k = net.input("k")
        W = net.param("W", (3, 3))
        a = net.param("a")
        z = net.node("z", W @ x)
        s = net.node("s", sbp.total(z) / 4)
        u = net.node("u", a * z + sp.sin(s) * k + s * z)
        net.loss("L", sbp.half_squared_error(u, y) + a * s ** 2)
        return net

    def forward(t):
        z = t["W"] @ t["x"]
        s = tot(z) / 4
        u = t["a"] * z + torch.sin(s) * t["k"] + s * z
        return half_sq(u, t["y"]) + t["a"] * s ** 2
    return build, forward


@case("powers_and_division", positive=("x",))
def _():
    def build():
        net = sbp.Network()
        x, y = net.input("x", (3, 1)), net.input("y", (2, 1))
        W, V = net.param("W", (2, 3)), net.param("V", (2, 3))
        q = net.node("q", (sbp.sigmoid(W @ x) + 1) ** sp.Rational(3, 2))
        r = net.node("r", q / (1 + sbp.abs(V @ x)) + 1 / (2 + q) + x[0, 0] ** sp.Rational(-1, 3) * q)
        net.loss("L", sbp.half_squared_error(r, y))
        return net

    def forward(t):
        q = (torch.sigmoid(t["W"] @ t["x"]) + 1) ** 1.5
        r = q / (1 + torch.abs(t["V"] @ t["x"])) + 1 / (2 + q) + t["x"][:, :1, :1] ** (-1 / 3) * q
        return half_sq(r, t["y"])
    return build, forward


@case("a_sum_times_a_tensor")
def _():
    def build():
        net = sbp.Network()
        x, y = net.input("x", (3, 1)), net.input("y", (3, 1))
        W = net.param("W", (3, 3))
        h = net.node("h", sbp.tanh(W @ x))
        net.loss("L", sbp.half_squared_error(sbp.total(h) * h + sbp.mean(h) * x, y))
        return net

    def forward(t):
        h = torch.tanh(t["W"] @ t["x"])
        return half_sq(tot(h) * h + tot(h) / 3 * t["x"], t["y"])
    return build, forward


def _relu_at_zero_values(net, batch, rng):
    n = batch or 1
    x = rng.normal(size=(n, 3, 1))
    x[::2] = 0.0  # every other sample all zeros: z = W x + b = b, and b has zeros
    W = rng.normal(size=(4, 3))
    W[1] = 0.0  # row 1 of z is exactly 0 for every sample
    b = np.array([[0.0], [0.0], [0.5], [-0.5]])
    values = {"x": x if batch is not None else x[0], "W": W, "b": b, "V": rng.normal(size=(2, 4)),
              "y": rng.normal(size=(n, 2, 1)) if batch is not None else rng.normal(size=(2, 1))}
    return values


@case("relu_exactly_at_zero", values=_relu_at_zero_values)
def _():
    def build():
        net = sbp.Network()
        x, y = net.input("x", (3, 1)), net.input("y", (2, 1))
        W, V, b = net.param("W", (4, 3)), net.param("V", (2, 4)), net.param("b", (4, 1))
        h = net.node("h", sbp.relu(W @ x + b))
        net.loss("L", sbp.half_squared_error(sbp.relu(V @ h), y) + sbp.total(sbp.relu(b)))
        return net

    def forward(t):
        h = torch.relu(t["W"] @ t["x"] + t["b"])
        return half_sq(torch.relu(t["V"] @ h), t["y"]) + torch.relu(t["b"]).sum()
    return build, forward


@case("softmax_cross_entropy_and_reductions", distributions=("Y",))
def _():
    def build():
        net = sbp.Network()
        X, Y = net.input("X", (3, 4)), net.input("Y", (3, 1))
        W, b = net.param("W", (4, 4)), net.param("b", (1, 4))
        Z = net.node("Z", X @ W + b)
        A = net.node("A", sbp.softmax(Z, axis=1))
        m = net.node("m", sbp.mean(A * Z, axis=0))  # (1, 4)
        s = net.node("s", sbp.total(sbp.log_softmax(Z, axis=0), axis=1))  # (3, 1)
        logits = net.node("logits", s + sbp.total(m) * sbp.mean(Z, axis=1))
        net.loss("L", sbp.cross_entropy(logits, Y))
        return net

    def forward(t):
        Z = t["X"] @ t["W"] + t["b"]
        A = torch.softmax(Z, dim=-1)
        m = (A * Z).mean(dim=-2, keepdim=True)
        s = torch.log_softmax(Z, dim=-2).sum(dim=-1, keepdim=True)
        logits = s + tot(m) * Z.mean(dim=-1, keepdim=True)
        return -(t["Y"] * torch.log_softmax(logits, dim=-2)).sum(dim=(-2, -1))
    return build, forward


def _class_values(net, batch, rng):
    n = batch or 1
    k = rng.integers(0, 3, size=n).astype(float)
    values = {"x": rng.normal(size=(n, 4, 1)), "W": rng.normal(size=(3, 4)), "b": rng.normal(size=(3, 1))}
    if batch is None:
        values["x"], k = values["x"][0], k[0]
    values["k"] = k
    return values


@case("cross_entropy_of_a_class_index", values=_class_values)
def _():
    def build():
        net = sbp.Network()
        x, k = net.input("x", (4, 1)), net.input("k")
        W, b = net.param("W", (3, 4)), net.param("b", (3, 1))
        z = net.node("z", W @ sbp.tanh(x) + b)
        net.loss("L", sbp.cross_entropy(z, k))
        return net

    def forward(t):
        z = (t["W"] @ torch.tanh(t["x"]) + t["b"])[:, :, 0]
        return F.cross_entropy(z, t["k"].reshape(-1).long(), reduction="none")
    return build, forward


# the blocks of sbp.models, each against PyTorch's own functions

def _block(name, make, forward):
    CASES[name] = Case(name, make, forward)


_block("model_residual_block", lambda: sbp.models.residual_block(3, hidden=5, activation="tanh"),
       lambda t: half_sq(t["x"] + t["W2"] @ torch.tanh(t["W1"] @ t["x"] + t["b1"]) + t["b2"], t["y"]))
_block("model_layer_norm", lambda: sbp.models.layer_norm(4),
       lambda t: half_sq(tr(F.layer_norm(tr(t["x"]), (4,), t["gamma"].reshape(4), t["beta"].reshape(4), 1e-5)),
                         t["y"]))
_block("model_layer_norm_tokens", lambda: sbp.models.layer_norm(4, T=3),
       lambda t: half_sq(F.layer_norm(t["X"], (4,), t["gamma"].reshape(4), t["beta"].reshape(4), 1e-5), t["y"]))
_block("model_rms_norm_tokens", lambda: sbp.models.rms_norm(4, T=2),
       lambda t: half_sq(F.rms_norm(t["X"], (4,), t["gamma"].reshape(4)), t["y"]))
_block("model_rms_norm", lambda: sbp.models.rms_norm(3, eps=1e-6),
       lambda t: half_sq(tr(F.rms_norm(tr(t["x"]), (3,), t["gamma"].reshape(3), 1e-6)), t["y"]))
_block("model_swiglu", lambda: sbp.models.swiglu_mlp(3, 5),
       lambda t: half_sq(t["W2"] @ (F.silu(t["W1"] @ t["x"]) * (t["W3"] @ t["x"])), t["y"]))
_block("model_attention", lambda: sbp.models.attention_head(4, T=3, d_k=2, d_v=3),
       lambda t: half_sq(F.scaled_dot_product_attention(t["X"] @ t["Wq"], t["X"] @ t["Wk"], t["X"] @ t["Wv"]),
                         t["y"]))


def _rnn(t):
    h, states = t["h0"], []
    for step in range(3):
        h = torch.tanh(t["W"] @ h + t["U"] @ t["X"][:, :, step:step + 1] + t["b"])
        states.append(h)
    return half_sq(torch.cat(states, dim=-1), t["y"])


_block("model_rnn", lambda: sbp.models.rnn(2, 3, T=3), _rnn)


# the scalar level: per-neuron lines with irregular structure

def _scalar_build(variant: str) -> sbp.Network:
    net = sbp.Network()
    x = net.input("x", (3, 1), elements=True)
    y = net.input("y", (2, 1), elements=True)
    W = net.param("W", (3, 3), elements=True)
    b = net.param("b", (3, 1), elements=True)
    V = net.param("V", (2, 3), elements=True)
    a = net.param("a")
    z = [sum(W[i, j] * x[j] for j in range(3) if not (variant == "skip" and (i, j) == (1, 2))) + b[i]
         for i in range(3)]
    if variant == "shared":
        z = [a * zi for zi in z]
    z1 = net.node("z1", sp.Matrix(z))
    acts = [sbp.relu(z1[i]) for i in range(3)]
    if variant in ("odd_activation", "skip"):
        acts[1] = sbp.sigmoid(z1[1])
    if variant == "skip":
        acts[2] = acts[2] + x[0]  # a connection around the layer
    h1 = net.node("h1", sp.Matrix(acts))
    out = [sum(V[i, j] * h1[j] for j in range(3)) for i in range(2)]
    if variant != "shared":
        out[0] = out[0] + a * h1[0]
    o = net.node("o", sp.Matrix(out))
    net.loss("L", sum(sp.Rational(1, 2) * (o[i] - y[i]) ** 2 for i in range(2)))
    return net


def _scalar_forward(variant: str):
    def forward(t):
        W = t["W"]
        if variant == "skip":
            W = W * torch.tensor([[1.0, 1, 1], [1, 1, 0], [1, 1, 1]], dtype=torch.float64)
        z = W @ t["x"] + t["b"]
        if variant == "shared":
            z = t["a"] * z
        h = torch.relu(z)
        if variant in ("odd_activation", "skip"):
            h = torch.cat([h[:, :1], torch.sigmoid(z[:, 1:2]), h[:, 2:]], dim=1)
        if variant == "skip":
            h = torch.cat([h[:, :2], h[:, 2:] + t["x"][:, :1]], dim=1)
        o = t["V"] @ h
        if variant != "shared":
            o = torch.cat([o[:, :1] + t["a"] * h[:, :1], o[:, 1:]], dim=1)
        return half_sq(o, t["y"])
    return forward


for _variant in ("regular", "odd_activation", "skip", "shared"):
    CASES[f"scalar_{_variant}"] = Case(f"scalar_{_variant}", lambda v=_variant: _scalar_build(v),
                                       _scalar_forward(_variant))


# -- the tests ---------------------------------------------------------------------------------------

CASE_NAMES = sorted(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("name", CASE_NAMES)
def test_numpy_checked_every_batch_size(name):
    case_ = CASES[name]
    d = derivation(name)
    exercise(case_, d.lambdify(), BATCHES, np.random.default_rng(abs(hash(name)) % 2 ** 32))
    values = random_values(case_, d.network, 5, np.random.default_rng(1), flat_columns=False)
    loss, _ = torch_answer(case_, d.network, values, 5)
    close(d.evaluate(values).loss, loss, f"{name}: the loss")


@pytest.mark.slow
@pytest.mark.parametrize("name", CASE_NAMES)
def test_numpy_unchecked(name):
    exercise(CASES[name], derivation(name).lambdify(check=False), UNCHECKED, np.random.default_rng(7))



@pytest.mark.parametrize("name", ["tied_weights", "scalar_regular", "model_attention"])
def test_a_non_finite_value_after_the_first_call(name):
    """The signature cache skips re-checking shapes, never the values: a NaN or ∞ in a later call of
    a checked function is refused; the unchecked one hands the NaN on instead of refusing it."""
    case_, d = CASES[name], derivation(name)
    checked, unchecked = d.lambdify(), d.lambdify(check=False)
    rng = np.random.default_rng(5)
    for grad in (checked, unchecked):
        grad(**random_values(case_, d.network, 4, rng, flat_columns=False))
    for bad in (np.nan, np.inf):
        values = random_values(case_, d.network, 4, rng, flat_columns=False)
        first = d.network.inputs[0].name
        values[first] = np.array(values[first], dtype=float)
        values[first].reshape(-1)[-1] = bad
        with pytest.raises(NonFiniteValueError, match=first):
            checked(**values)
        answer = unchecked(**values)
        assert any(not np.all(np.isfinite(v)) for v in answer.values())


def _backend(module: str):
    try:
        __import__(module)
    except ImportError:
        need(False, f"{module} is not installed (pip install 'symbackprop[{module}]')")


BACKEND_CASES = ["tied_weights", "weight_decay_and_a_parameter_only_node", "scalars_among_tensors",
                 "relu_exactly_at_zero", "model_attention", "scalar_skip", "softmax_cross_entropy_and_reductions"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("name", BACKEND_CASES)
def test_other_backends(backend, name):
    _backend(backend)
    grad = derivation(name).lambdify(backend=backend)
    exercise(CASES[name], grad, (None, 3, 1025), np.random.default_rng(3),
             convert=lambda v: np.asarray(v.detach().numpy() if hasattr(v, "detach") else v))


# -- random graphs ------------------------------------------------------------------------------------

ACTIVATIONS = {"tanh": (sbp.tanh, torch.tanh), "sigmoid": (sbp.sigmoid, torch.sigmoid),
               "relu": (sbp.relu, torch.relu), "softplus": (sbp.softplus, F.softplus),
               "silu": (sbp.silu, F.silu), "gelu": (sbp.gelu, F.gelu), "mish": (sbp.mish, F.mish),
               "leaky_relu": (lambda z: sbp.leaky_relu(z, 0.1), lambda z: F.leaky_relu(z, 0.1))}


def _times(a, b):
    """A 1 × 1 quantity is a scalar symbol, which multiplies rather than matrix-multiplies."""
    return a * b if isinstance(a, sp.Expr) or isinstance(b, sp.Expr) else a @ b


@st.composite
def random_graph(draw):
    """A random graph of column (or matrix) nodes: products with new or earlier weights (tied ones
    transposed), biases, activations, residual sums, products and quotients of nodes, sums times
    nodes; its PyTorch forward pass is built beside it, step by step."""
    net = sbp.Network()
    columns = draw(st.sampled_from([1, 1, 2]))
    width = draw(st.integers(1, 4))
    x = net.input("x", (width, columns))
    nodes = [(x, (width, columns), lambda t, v: t["x"])]  # (handle, shape, torch value)
    weights: list[tuple[object, tuple[int, int], str]] = []
    for k in range(draw(st.integers(2, 6))):
        handle, (rows, cols), value = nodes[-1] if draw(st.booleans()) else draw(st.sampled_from(nodes))
        kind = draw(st.sampled_from(["matmul", "matmul", "tied", "bias", "act", "act", "residual", "product",
                                     "quotient", "sum_times", "decay"]))
        name = f"n{k}"
        if kind == "tied" and weights:
            W, (a, b), wname = draw(st.sampled_from(weights))
            if a == rows:
                node = net.node(name, _times(W if isinstance(W, sp.Expr) else W.T, handle))
                nodes.append((node, (b, cols), lambda t, v, p=value, w=wname: tr(t[w]) @ p(t, v)))
                continue
            if b == rows:
                node = net.node(name, _times(W, handle))
                nodes.append((node, (a, cols), lambda t, v, p=value, w=wname: t[w] @ p(t, v)))
                continue
            kind = "matmul"
        if kind in ("matmul", "tied", "decay"):
            out = draw(st.integers(1, 4))
            wname = f"W{k}"
            W = net.param(wname, (out, rows))
            weights.append((W, (out, rows), wname))
            node = net.node(name, _times(W, handle))
            nodes.append((node, (out, cols), lambda t, v, p=value, w=wname: t[w] @ p(t, v)))
        elif kind == "bias":
            bname = f"b{k}"
            b = net.param(bname, (rows, 1))
            node = net.node(name, handle + b)
            nodes.append((node, (rows, cols), lambda t, v, p=value, w=bname: p(t, v) + t[w]))
        elif kind == "act":
            act = draw(st.sampled_from(sorted(ACTIVATIONS)))
            ours, theirs = ACTIVATIONS[act]
            node = net.node(name, ours(handle))
            nodes.append((node, (rows, cols), lambda t, v, p=value, f=theirs: f(p(t, v))))
        else:
            same = [n for n in nodes if n[1] == (rows, cols)]
            other, _, other_value = draw(st.sampled_from(same))
            if kind == "residual":
                expression = handle + other
                fn = lambda t, v, p=value, q=other_value: p(t, v) + q(t, v)  # noqa: E731
            elif kind == "product":
                expression = handle * other
                fn = lambda t, v, p=value, q=other_value: p(t, v) * q(t, v)  # noqa: E731
            elif kind == "quotient":
                expression = handle / (1 + other * other)
                fn = lambda t, v, p=value, q=other_value: p(t, v) / (1 + q(t, v) ** 2)  # noqa: E731
            else:
                expression = sbp.total(other) * handle
                fn = lambda t, v, p=value, q=other_value: tot(q(t, v)) * p(t, v)  # noqa: E731
            node = net.node(name, expression)
            nodes.append((node, (rows, cols), fn))
    last, shape, value = nodes[-1]
    y = net.input("y", shape)
    if not weights:
        W = net.param("Wout", (shape[0], shape[0]))
        weights.append((W, (shape[0], shape[0]), "Wout"))
        last = net.node("out", _times(W, last))
        value = lambda t, v, p=value: t["Wout"] @ p(t, v)  # noqa: E731
    decay = draw(st.sampled_from([None, *range(len(weights))]))
    loss = sbp.half_squared_error(last, y)
    if decay is not None:
        loss = loss + sbp.total(weights[decay][0] * weights[decay][0]) / 10
    net.loss("L", loss)

    def forward(t, p=value, d=decay):
        total = half_sq(p(t, {}), t["y"])
        return total if d is None else total + (t[weights[d][2]] ** 2).sum() / 10
    return net, forward


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("SBP_EXAMPLES", 12)), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_graph(), st.booleans())
def test_random_graphs(graph, check):
    import warnings

    net, forward = graph
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = sbp.backprop(net)
    name = f"random_{id(net)}"
    CASES[name] = Case(name, lambda: net, forward)
    derivation.cache_clear()
    try:
        exercise(CASES[name], d.lambdify(check=check), (3, None, 1025, 1, 3, 2), np.random.default_rng(11))
    finally:
        del CASES[name]
