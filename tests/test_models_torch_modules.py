"""lstm, gru, batch_norm and transformer_block against the PyTorch modules they follow, in float64.

Our parameters are copied into nn.LSTM, nn.GRU, nn.BatchNorm1d (training mode) and
nn.TransformerEncoderLayer (pre-LN, exact GELU, no dropout); the loss, every parameter's gradient
(read back out of the module's stacked weights) and the inputs' gradients must agree.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
    import torch
else:
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")

from torch import nn  # noqa: E402

import symbackprop as sbp  # noqa: E402
from symbackprop.errors import NetworkError  # noqa: E402

TOLERANCE = 1e-10
BATCH = 3


def _values(net: sbp.Network, seed: int, batch: int | None = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {q.name: rng.normal(size=q.matrix_shape if q.kind == "param" or batch is None
                               else (batch, *q.matrix_shape))
            for q in net.quantities("input", "param")}


def _leaves(values: dict[str, np.ndarray], names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    return {name: torch.tensor(values[name], dtype=torch.float64, requires_grad=True) for name in names}


def _half_squared_error(out: torch.Tensor, y: np.ndarray) -> torch.Tensor:
    """½‖out − y‖² per sample, averaged over a leading batch axis if there is one (the derivation's mean)."""
    per_sample = 0.5 * ((out - torch.tensor(y)) ** 2).sum(dim=(-2, -1))
    return per_sample.mean()


def _assert_close(ours, theirs, name: str) -> None:
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    ours = np.asarray(ours, dtype=float).reshape(np.shape(theirs))  # a 1×1 quantity's gradient is a scalar
    np.testing.assert_allclose(ours, theirs, rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)


def _copy(parameter: torch.Tensor, value: np.ndarray) -> None:
    with torch.no_grad():
        parameter.copy_(torch.tensor(np.asarray(value).reshape(parameter.shape)))


def _run_recurrent(module: nn.RNNBase, values: dict, states: tuple[str, ...]):
    """The module on X (…, d_in, T) as (…, T, d_in) rows, the initial states as (1, …, d_hidden)."""
    leaves = _leaves(values, ("X", *states))
    X = leaves["X"].transpose(-1, -2)  # noqa: N806
    initial = [leaves[s].transpose(-1, -2) for s in states]  # (…, 1, d_hidden)
    initial = [s.transpose(0, 1) if X.dim() == 3 else s for s in initial]  # the module's (layers, N, d_hidden)
    outputs, _ = module(X, initial[0] if len(initial) == 1 else tuple(initial))
    return leaves, outputs.transpose(-1, -2)  # (…, d_hidden, T): our columns h1 … hT


# -- LSTM --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [None, BATCH])
@pytest.mark.parametrize(("d_in", "d_hidden", "T"), [(2, 3, 3), (3, 2, 4), (1, 1, 1), (2, 1, 3), (1, 3, 1)])
def test_lstm_matches_nn_lstm(batch, d_in, d_hidden, T):  # noqa: N803
    net = sbp.models.lstm(d_in, d_hidden, T)
    values = _values(net, 20, batch)
    split = np.random.default_rng(21).normal(size=4 * d_hidden)  # b_k = b_ih + b_hh, split anyhow
    module = nn.LSTM(d_in, d_hidden, batch_first=True, dtype=torch.float64)
    gates = ("i", "f", "g", "o")
    _copy(module.weight_ih_l0, np.vstack([values[f"U_{k}"] for k in gates]))
    _copy(module.weight_hh_l0, np.vstack([values[f"W_{k}"] for k in gates]))
    biases = np.concatenate([values[f"b_{k}"][:, 0] for k in gates])
    _copy(module.bias_ih_l0, biases - split)
    _copy(module.bias_hh_l0, split)
    leaves, out = _run_recurrent(module, values, ("h0", "c0"))
    loss = _half_squared_error(out, values["y"])
    loss.backward()
    evaluation = sbp.backprop(net).evaluate(values)
    assert float(evaluation.loss) == pytest.approx(float(loss.detach()), rel=TOLERANCE)
    _assert_close(evaluation.forward["out"], out, "out")
    for row, k in enumerate(gates):
        rows = slice(row * d_hidden, (row + 1) * d_hidden)
        _assert_close(evaluation.grad[f"U_{k}"], module.weight_ih_l0.grad[rows], f"U_{k}")
        _assert_close(evaluation.grad[f"W_{k}"], module.weight_hh_l0.grad[rows], f"W_{k}")
        for bias in (module.bias_ih_l0, module.bias_hh_l0):
            _assert_close(np.reshape(evaluation.grad[f"b_{k}"], -1), bias.grad[rows], f"b_{k}")
    for name, leaf in leaves.items():
        _assert_close(evaluation.grad[name], leaf.grad, name)


# -- GRU ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [None, BATCH])
@pytest.mark.parametrize(("d_in", "d_hidden", "T"), [(2, 3, 3), (3, 2, 4), (1, 1, 1), (2, 1, 3), (1, 3, 1)])
def test_gru_matches_nn_gru(batch, d_in, d_hidden, T):  # noqa: N803
    net = sbp.models.gru(d_in, d_hidden, T)
    values = _values(net, 22, batch)
    split = np.random.default_rng(23).normal(size=2 * d_hidden)
    module = nn.GRU(d_in, d_hidden, batch_first=True, dtype=torch.float64)
    _copy(module.weight_ih_l0, np.vstack([values[f"U_{k}"] for k in "rzn"]))
    _copy(module.weight_hh_l0, np.vstack([values[f"W_{k}"] for k in "rzn"]))
    merged = np.concatenate([values["b_r"][:, 0], values["b_z"][:, 0]])
    _copy(module.bias_ih_l0, np.concatenate([merged - split, values["b_in"][:, 0]]))
    _copy(module.bias_hh_l0, np.concatenate([split, values["b_hn"][:, 0]]))
    leaves, out = _run_recurrent(module, values, ("h0",))
    loss = _half_squared_error(out, values["y"])
    loss.backward()
    evaluation = sbp.backprop(net).evaluate(values)
    assert float(evaluation.loss) == pytest.approx(float(loss.detach()), rel=TOLERANCE)
    _assert_close(evaluation.forward["out"], out, "out")
    for row, k in enumerate("rzn"):
        rows = slice(row * d_hidden, (row + 1) * d_hidden)
        _assert_close(evaluation.grad[f"U_{k}"], module.weight_ih_l0.grad[rows], f"U_{k}")
        _assert_close(evaluation.grad[f"W_{k}"], module.weight_hh_l0.grad[rows], f"W_{k}")
    for row, k in enumerate("rz"):
        rows = slice(row * d_hidden, (row + 1) * d_hidden)
        for bias in (module.bias_ih_l0, module.bias_hh_l0):
            _assert_close(np.reshape(evaluation.grad[f"b_{k}"], -1), bias.grad[rows], f"b_{k}")
    candidate = slice(2 * d_hidden, 3 * d_hidden)
    _assert_close(np.reshape(evaluation.grad["b_in"], -1), module.bias_ih_l0.grad[candidate], "b_in")
    _assert_close(np.reshape(evaluation.grad["b_hn"], -1), module.bias_hh_l0.grad[candidate], "b_hn")
    for name, leaf in leaves.items():
        _assert_close(evaluation.grad[name], leaf.grad, name)


# -- BatchNorm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("d", "N", "eps"), [(3, 4, 1e-5), (2, 5, 0.5), (1, 3, 1e-5), (2, 2, 1e-5)])
def test_batch_norm_matches_nn_batchnorm1d_in_training_mode(d, N, eps):  # noqa: N803
    net = sbp.models.batch_norm(d, N, eps=eps)
    values = _values(net, 24)
    module = nn.BatchNorm1d(d, eps=eps, dtype=torch.float64)
    module.train()
    _copy(module.weight, values["gamma"])
    _copy(module.bias, values["beta"])
    leaves = _leaves(values, ("X",))
    out = module(leaves["X"])
    loss = _half_squared_error(out, values["y"])
    loss.backward()
    evaluation = sbp.backprop(net).evaluate(values)
    assert float(evaluation.loss) == pytest.approx(float(loss.detach()), rel=TOLERANCE)
    _assert_close(evaluation.forward["out"], out, "out")
    _assert_close(np.reshape(evaluation.grad["gamma"], -1), module.weight.grad, "gamma")
    _assert_close(np.reshape(evaluation.grad["beta"], -1), module.bias.grad, "beta")
    _assert_close(evaluation.grad["X"], leaves["X"].grad, "X")


def test_batch_norm_default_eps_is_the_modules():
    assert float(sbp.models.batch_norm(2, 3)["sigma"].definition.operand.right.expr) == nn.BatchNorm1d(2).eps


# -- the transformer block ---------------------------------------------------------------------------


def _encoder_layer(values: dict, d: int, heads: int, d_ff: int, eps: float) -> nn.TransformerEncoderLayer:
    layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=d_ff, dropout=0.0, activation="gelu",
                                       layer_norm_eps=eps, norm_first=True, batch_first=True, dtype=torch.float64)
    projections = [np.hstack([values[f"W_{kind}{j}"] for j in range(1, heads + 1)]).T for kind in "qkv"]
    _copy(layer.self_attn.in_proj_weight, np.vstack(projections))
    _copy(layer.self_attn.in_proj_bias, np.concatenate([values[f"b_{kind}{j}"][0] for kind in "qkv"
                                                        for j in range(1, heads + 1)]))
    _copy(layer.self_attn.out_proj.weight, values["W_o"].T)
    _copy(layer.self_attn.out_proj.bias, values["b_o"])
    _copy(layer.linear1.weight, values["W_1"].T)
    _copy(layer.linear1.bias, values["b_1"])
    _copy(layer.linear2.weight, values["W_2"].T)
    _copy(layer.linear2.bias, values["b_2"])
    for k in (1, 2):
        _copy(getattr(layer, f"norm{k}").weight, values[f"gamma{k}"])
        _copy(getattr(layer, f"norm{k}").bias, values[f"beta{k}"])
    return layer


@pytest.mark.parametrize("batch", [None, BATCH])
@pytest.mark.parametrize(("d", "T", "heads", "d_ff"), [(4, 3, 2, None), (6, 2, 3, 5), (3, 4, 1, 4), (2, 1, 1, 1),
                                                     (1, 2, 1, 1)])
def test_transformer_block_matches_nn_transformer_encoder_layer(batch, d, T, heads, d_ff):  # noqa: N803
    net = sbp.models.transformer_block(d, T=T, heads=heads, d_ff=d_ff)
    d_ff = d_ff or 4 * d
    d_head = d // heads
    values = _values(net, 25, batch)
    layer = _encoder_layer(values, d, heads, d_ff, 1e-5)
    leaves = _leaves(values, ("X",))
    X = leaves["X"] if batch else leaves["X"][None]  # noqa: N806 - the module's (N, T, d)
    out = layer(X) if batch else layer(X)[0]
    loss = _half_squared_error(out, values["y"])
    loss.backward()
    evaluation = sbp.backprop(net).evaluate(values)
    assert float(evaluation.loss) == pytest.approx(float(loss.detach()), rel=TOLERANCE)
    _assert_close(evaluation.forward["out"], out, "out")
    in_weight, in_bias = layer.self_attn.in_proj_weight.grad, layer.self_attn.in_proj_bias.grad
    for block, kind in enumerate("qkv"):
        for j in range(1, heads + 1):
            rows = slice(block * d + (j - 1) * d_head, block * d + j * d_head)
            _assert_close(evaluation.grad[f"W_{kind}{j}"], in_weight[rows].T, f"W_{kind}{j}")
            _assert_close(np.reshape(evaluation.grad[f"b_{kind}{j}"], -1), in_bias[rows], f"b_{kind}{j}")
    pairs = {"W_o": layer.self_attn.out_proj.weight, "W_1": layer.linear1.weight, "W_2": layer.linear2.weight}
    for name, weight in pairs.items():
        _assert_close(evaluation.grad[name], weight.grad.T, name)
    biases = {"b_o": layer.self_attn.out_proj.bias, "b_1": layer.linear1.bias, "b_2": layer.linear2.bias,
              "gamma1": layer.norm1.weight, "beta1": layer.norm1.bias, "gamma2": layer.norm2.weight,
              "beta2": layer.norm2.bias}
    for name, parameter in biases.items():
        _assert_close(np.reshape(evaluation.grad[name], -1), parameter.grad, name)
    _assert_close(evaluation.grad["X"], leaves["X"].grad, "X")


# -- mistakes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [
    lambda: sbp.models.lstm(0, 2),
    lambda: sbp.models.gru(2, 2, T=0),
    lambda: sbp.models.batch_norm(2, 3, eps=0),
    lambda: sbp.models.batch_norm(2, 1.5),
    lambda: sbp.models.batch_norm(2, 1),  # one sample has no batch statistics (nn.BatchNorm1d refuses it too)
    lambda: sbp.models.transformer_block(5, heads=2),
    lambda: sbp.models.transformer_block(4, d_ff=0),
    lambda: sbp.models.lstm(2, 2, loss="nope"),
])
def test_bad_sizes_and_options_are_network_errors(build):
    with pytest.raises(NetworkError):
        build()
