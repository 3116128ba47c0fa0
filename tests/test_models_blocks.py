"""The blocks of sbp.models against their PyTorch counterparts, in float64 on random values.

Each block's gradients (every parameter and the input) must equal what PyTorch's autograd
gives for its own module or functional (F.layer_norm, F.rms_norm,
F.scaled_dot_product_attention, nn.RNN with its weights copied), one sample and a batch; each
block must also derive, render with numbers and pass check_gradients, and exact evaluation of
rational values must agree with floats.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest

if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
    import torch
else:
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import symbackprop as sbp  # noqa: E402
from symbackprop.errors import NetworkError  # noqa: E402

TOLERANCE = 1e-10
BATCH = 4


def _values(net: sbp.Network, rng: np.random.Generator, batch: int | None) -> dict[str, np.ndarray]:
    values = {}
    for q in net.quantities("input", "param"):
        shape = q.matrix_shape if q.kind == "param" or batch is None else (batch, *q.matrix_shape)
        values[q.name] = rng.normal(size=shape)
    return values


def _torch_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """½‖out − y‖² per sample, averaged over the batch (the derivation's mean loss)."""
    per_sample = 0.5 * ((out - y) ** 2).sum(dim=(-2, -1))
    return per_sample.mean()


def _compare(net: sbp.Network, torch_out: Callable[[dict[str, torch.Tensor]], torch.Tensor],
             seed: int, batch: int | None, values: dict[str, np.ndarray] | None = None) -> None:
    rng = np.random.default_rng(seed)
    values = values or _values(net, rng, batch)
    evaluation = sbp.backprop(net).evaluate(values)
    leaves = {name: torch.tensor(value, dtype=torch.float64, requires_grad=name != "y")
              for name, value in values.items()}
    out = torch_out(leaves)
    loss = _torch_loss(out, leaves["y"])
    loss.backward()
    np.testing.assert_allclose(evaluation.forward["out"], out.detach().numpy(), rtol=TOLERANCE, atol=TOLERANCE)
    assert float(evaluation.loss) == pytest.approx(float(loss.detach()), rel=TOLERANCE, abs=TOLERANCE)
    for name, leaf in leaves.items():
        if name == "y":
            continue
        np.testing.assert_allclose(np.asarray(evaluation.grad[name]), leaf.grad.numpy(),
                                   rtol=TOLERANCE, atol=TOLERANCE, err_msg=f"∂L/∂{name}")


BATCHES = [None, BATCH]


# -- residual block ------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_residual_block_matches_pytorch(batch, activation):
    torch_activation = {"relu": nn.ReLU(), "tanh": nn.Tanh(), "gelu": nn.GELU()}[activation]

    def block(t):
        branch = t["W2"] @ torch_activation(t["W1"] @ t["x"] + t["b1"]) + t["b2"]
        return t["x"] + branch

    _compare(sbp.models.residual_block(3, hidden=5, activation=activation), block, seed=1, batch=batch)


def test_residual_block_names():
    net = sbp.models.residual_block(4)
    assert [q.name for q in net.quantities()] == ["x", "y", "W1", "b1", "W2", "b2", "z1", "h1", "z2", "out", "L"]
    assert net["W1"].shape == (4, 4) and net["out"].shape == (4, 1)


# -- SwiGLU --------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", BATCHES)
def test_swiglu_mlp_matches_pytorch(batch):
    def block(t):
        gate = F.silu(t["W1"] @ t["x"])
        return t["W2"] @ (gate * (t["W3"] @ t["x"]))

    _compare(sbp.models.swiglu_mlp(3, 5), block, seed=2, batch=batch)


def test_swiglu_mlp_as_torch_linear_layers():
    """The same block written as a module of nn.Linear layers, as LLaMA's code does."""
    torch.manual_seed(0)
    gate, up, down = (nn.Linear(3, 6, bias=False).double(), nn.Linear(3, 6, bias=False).double(),
                      nn.Linear(6, 3, bias=False).double())
    x = torch.randn(BATCH, 3, dtype=torch.float64, requires_grad=True)
    y = torch.randn(BATCH, 3, dtype=torch.float64)
    loss = (0.5 * ((down(F.silu(gate(x)) * up(x)) - y) ** 2).sum(dim=1)).mean()
    loss.backward()
    values = {"W1": gate.weight.detach().numpy(), "W3": up.weight.detach().numpy(),
              "W2": down.weight.detach().numpy(), "x": x.detach().numpy()[..., None], "y": y.numpy()[..., None]}
    evaluation = sbp.backprop(sbp.models.swiglu_mlp(3, 6)).evaluate(values)
    for name, layer in (("W1", gate), ("W3", up), ("W2", down)):
        np.testing.assert_allclose(evaluation.grad[name], layer.weight.grad.numpy(), rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_allclose(evaluation.grad["x"][..., 0], x.grad.numpy(), rtol=TOLERANCE, atol=TOLERANCE)


# -- LayerNorm and RMSNorm -------------------------------------------------------------------------


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_layer_norm_of_a_column_matches_pytorch(batch, eps):
    def block(t):
        x = t["x"][..., 0]  # (…, d): PyTorch normalises the last axis
        out = F.layer_norm(x, (5,), weight=t["gamma"][:, 0], bias=t["beta"][:, 0], eps=eps)
        return out[..., None]

    _compare(sbp.models.layer_norm(5, eps=eps), block, seed=3, batch=batch)


@pytest.mark.parametrize("batch", BATCHES)
def test_layer_norm_of_each_row_matches_pytorch(batch):
    def block(t):
        return F.layer_norm(t["X"], (4,), weight=t["gamma"][0], bias=t["beta"][0], eps=1e-5)

    net = sbp.models.layer_norm(4, T=3)
    assert net["X"].shape == (3, 4) and net["gamma"].shape == (1, 4) and net["mu"].shape == (3, 1)
    _compare(net, block, seed=4, batch=batch)


def test_layer_norm_as_the_torch_module():
    torch.manual_seed(1)
    module = nn.LayerNorm(4, dtype=torch.float64)
    with torch.no_grad():
        module.weight.normal_()
        module.bias.normal_()
    X = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    y = torch.randn(3, 4, dtype=torch.float64)
    loss = 0.5 * ((module(X) - y) ** 2).sum()
    loss.backward()
    values = {"X": X.detach().numpy(), "y": y.numpy(), "gamma": module.weight.detach().numpy()[None, :],
              "beta": module.bias.detach().numpy()[None, :]}
    evaluation = sbp.backprop(sbp.models.layer_norm(4, T=3, eps=module.eps)).evaluate(values)
    np.testing.assert_allclose(evaluation.grad["gamma"][0], module.weight.grad.numpy(), rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_allclose(evaluation.grad["beta"][0], module.bias.grad.numpy(), rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_allclose(evaluation.grad["X"], X.grad.numpy(), rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("eps", [None, 1e-6])
def test_rms_norm_of_a_column_matches_pytorch(batch, eps):
    def block(t):
        return F.rms_norm(t["x"][..., 0], (5,), weight=t["gamma"][:, 0], eps=eps)[..., None]

    _compare(sbp.models.rms_norm(5, eps=eps), block, seed=5, batch=batch)


@pytest.mark.parametrize("batch", BATCHES)
def test_rms_norm_of_each_row_matches_its_definition(batch):
    eps = 1e-6

    def block(t):
        X = t["X"]
        return X / torch.sqrt((X ** 2).mean(dim=-1, keepdim=True) + eps) * t["gamma"]

    net = sbp.models.rms_norm(4, T=3, eps=eps)
    assert net["gamma"].shape == (1, 4)
    _compare(net, block, seed=6, batch=batch)


def test_rms_norm_default_eps_is_pytorchs_for_float64():
    net = sbp.models.rms_norm(3)
    values = _values(net, np.random.default_rng(7), None)
    values["x"] = values["x"] * 1e-9  # where eps matters: the mean square is near eps itself
    module = nn.RMSNorm(3, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(values["gamma"][:, 0]))
    expected = module(torch.tensor(values["x"][:, 0])).detach().numpy()
    ours = sbp.backprop(net).evaluate(values).forward["out"][:, 0]
    np.testing.assert_allclose(ours, expected, rtol=1e-12)


# -- attention -------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize(("d", "d_k", "d_v", "T"), [(4, 4, 4, 3), (3, 2, 5, 4)])
def test_attention_head_matches_scaled_dot_product_attention(batch, d, d_k, d_v, T):
    def block(t):
        X = t["X"]
        return F.scaled_dot_product_attention(X @ t["Wq"], X @ t["Wk"], X @ t["Wv"])

    net = sbp.models.attention_head(d, T=T, d_k=d_k, d_v=d_v)
    assert [net[n].shape for n in ("X", "Wq", "Wk", "Wv", "S", "A", "out")] == [
        (T, d), (d, d_k), (d, d_k), (d, d_v), (T, T), (T, T), (T, d_v)]
    _compare(net, block, seed=8, batch=batch)


def test_attention_head_matches_its_definition_in_the_tails():
    """Scores of hundreds: a softmax computed without its max shift would overflow."""
    def block(t):
        X = t["X"]
        scores = (X @ t["Wq"]) @ (X @ t["Wk"]).transpose(-1, -2) / np.sqrt(3)
        return torch.softmax(scores, dim=-1) @ (X @ t["Wv"])

    net = sbp.models.attention_head(3, T=3)
    values = _values(net, np.random.default_rng(9), None)
    values["X"] = values["X"] * 20.0
    evaluation = sbp.backprop(net).evaluate(values)
    assert all(np.all(np.isfinite(g)) for g in evaluation.grad.values())
    _compare(net, block, seed=9, batch=None, values=values)


# -- RNN -------------------------------------------------------------------------------------------


def _torch_rnn(d_in: int, d_hidden: int, split: np.ndarray):
    rnn = nn.RNN(d_in, d_hidden, nonlinearity="tanh", batch_first=True, dtype=torch.float64)

    def block(t):
        with torch.no_grad():  # our W, U, b become the module's weights; b = b_ih + b_hh
            rnn.weight_hh_l0.copy_(t["W"])
            rnn.weight_ih_l0.copy_(t["U"])
            rnn.bias_ih_l0.copy_(torch.tensor(split))
            rnn.bias_hh_l0.copy_(t["b"][:, 0] - torch.tensor(split))
        rnn.zero_grad()
        X, h0 = t["X"].transpose(-1, -2), t["h0"].transpose(-1, -2)  # (…, T, d_in), (…, 1, d_hidden)
        if X.dim() == 3:
            h0 = h0.transpose(0, 1)  # the module's (layers, N, d_hidden)
        outputs, _ = rnn(X, h0)
        return outputs.transpose(-1, -2)  # (…, d_hidden, T): our columns h1 … hT

    return rnn, block


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize(("d_in", "d_hidden", "T"), [(2, 3, 3), (3, 2, 5)])
def test_rnn_matches_torch_rnn(batch, d_in, d_hidden, T):
    net = sbp.models.rnn(d_in, d_hidden, T)
    rng = np.random.default_rng(10)
    values = _values(net, rng, batch)
    split = rng.normal(size=d_hidden)
    rnn, block = _torch_rnn(d_in, d_hidden, split)
    evaluation = sbp.backprop(net).evaluate(values)
    leaves = {name: torch.tensor(value, requires_grad=name in ("X", "h0")) for name, value in values.items()}
    out = block(leaves)
    loss = _torch_loss(out, leaves["y"])
    loss.backward()
    np.testing.assert_allclose(evaluation.forward["out"], out.detach().numpy(), rtol=TOLERANCE, atol=TOLERANCE)
    pairs = {"W": rnn.weight_hh_l0, "U": rnn.weight_ih_l0}
    for name, weight in pairs.items():
        np.testing.assert_allclose(evaluation.grad[name], weight.grad.numpy(), rtol=TOLERANCE, atol=TOLERANCE)
    for bias in (rnn.bias_ih_l0, rnn.bias_hh_l0):  # each of PyTorch's two biases gets ∂L/∂b
        np.testing.assert_allclose(evaluation.grad["b"][:, 0], bias.grad.numpy(), rtol=TOLERANCE, atol=TOLERANCE)
    for name in ("X", "h0"):
        np.testing.assert_allclose(evaluation.grad[name], leaves[name].grad.numpy(), rtol=TOLERANCE, atol=TOLERANCE)


def test_rnn_derivation_sums_the_shared_weights_over_the_steps():
    """Backpropagation through time: W, U and b each collect one contribution per step."""
    T = 3
    d = sbp.backprop(sbp.models.rnn(2, 3, T))
    for name in ("W", "U", "b"):
        contributions = d.steps_into(name)
        sources = sorted(step.source for step in contributions if step.kind == "edge")
        assert sources == [f"z{t}" for t in range(1, T + 1)]
        assert d.step_for(name).kind == "sum"
    latex = d.to_latex()
    # the per-step terms, in the order of the steps, on the Leibniz line and in the result
    leibniz = " + ".join(rf"\frac{{\partial L}}{{\partial z_{{{t}}}}} \cdot \frac{{\partial z_{{{t}}}}}{{\partial W}}"
                         for t in range(1, T + 1))
    result = " + ".join(rf"\frac{{\partial L}}{{\partial z_{{{t}}}}} \, h_{{{t - 1}}}^{{\top}}"
                        for t in range(1, T + 1))
    assert latex.count(rf"\frac{{\partial L}}{{\partial W}} &= {leibniz}") == 2  # the backward pass, the chain rule
    assert f"&= {result}" in latex


# -- every block: derives, renders, checks; exact and float agree --------------------------------


BLOCKS = {
    "residual_block": lambda: sbp.models.residual_block(2, hidden=3, activation="tanh"),
    "layer_norm": lambda: sbp.models.layer_norm(3),
    "layer_norm_rows": lambda: sbp.models.layer_norm(3, T=2),
    "rms_norm": lambda: sbp.models.rms_norm(3, eps=1e-6),
    "rms_norm_rows": lambda: sbp.models.rms_norm(3, T=2, eps=1e-6),
    "swiglu_mlp": lambda: sbp.models.swiglu_mlp(2, 3),
    "attention_head": lambda: sbp.models.attention_head(2, T=2),
    "rnn": lambda: sbp.models.rnn(2, 2, 3),
    "batch_norm": lambda: sbp.models.batch_norm(2, 3),
    "lstm": lambda: sbp.models.lstm(1, 2, 2),
    "gru": lambda: sbp.models.gru(1, 2, 2),
    "transformer_block": lambda: sbp.models.transformer_block(2, T=2, heads=2, d_ff=2),
}


@pytest.mark.slow
@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_each_block_derives_renders_and_passes_check_gradients(block):
    net = BLOCKS[block]()
    d = sbp.backprop(net)
    values = _values(net, np.random.default_rng(11), None)
    latex = d.to_latex(values)
    assert latex.startswith(r"\section*") and "out" in latex
    assert d.to_markdown(values)
    report = sbp.check_gradients(d, values)
    assert report.passed, report
    compiled, evaluated = d.lambdify()(**values), d.evaluate(values).grad
    assert set(compiled) == {q.name for q in net.params}
    for name, gradient in compiled.items():
        np.testing.assert_allclose(gradient, evaluated[name], rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("block", ["residual_block", "swiglu_mlp", "layer_norm", "rms_norm", "rnn", "batch_norm"])
def test_each_block_evaluates_exactly_as_in_floats(block):
    net = BLOCKS[block]()
    d = sbp.backprop(net)
    rng = np.random.default_rng(12)
    exact = {q.name: np.vectorize(lambda v: Fraction(int(v), 4), otypes=[object])(rng.integers(-4, 5, q.matrix_shape))
             for q in net.quantities("input", "param")}
    floats = {name: value.astype(float) for name, value in exact.items()}
    by_fractions, by_floats = d.evaluate(exact, exact=True), d.evaluate(floats)
    for name in ["out", *(q.name for q in net.params)]:
        np.testing.assert_allclose(np.asarray(by_fractions.grad[name], dtype=float), by_floats.grad[name],
                                   rtol=1e-12, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(np.asarray(by_fractions.forward[name], dtype=float), by_floats.forward[name],
                                   rtol=1e-12, atol=1e-12, err_msg=name)


# -- mistakes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [
    lambda: sbp.models.residual_block(0),
    lambda: sbp.models.residual_block(2, activation="nope"),
    lambda: sbp.models.swiglu_mlp(2, 3, loss="nope"),
    lambda: sbp.models.layer_norm(3, eps=-1.0),
    lambda: sbp.models.layer_norm(3, eps=0),
    lambda: sbp.models.rms_norm(2.5),
    lambda: sbp.models.attention_head(True),
    lambda: sbp.models.attention_head(4, T=0),
    lambda: sbp.models.rnn(2, 3, 0),
])
def test_bad_sizes_and_options_are_network_errors(build):
    with pytest.raises(NetworkError):
        build()


def test_mlp_keeps_its_import_paths():
    from symbackprop.models import mlp

    assert mlp is sbp.mlp is sbp.models.mlp
