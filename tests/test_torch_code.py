"""The PyTorch program of a network (the inverse of from_torch), run by PyTorch itself.

The generated program is executed in a fresh interpreter; the ``.grad`` values it prints must equal
the derivation's gradients (our evaluation, not torch's) to 1e-6.  Without torch these tests skip,
except where SYMBACKPROP_REQUIRE_TOOLS=1 (CI).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.torch_code import TorchCodeError, torch_code, torch_model
from tests.tooling import need

TOLERANCE = 1e-6
_LINE = re.compile(r"^(\S+): tensor\((.*?)\)\s*$", re.S | re.M)
_NUMBER = re.compile(r"-?(?:\d+\.\d*|\.\d+|\d+)(?:e[+-]?\d+)?")


def require_torch() -> None:
    need(importlib.util.find_spec("torch") is not None, "torch is not installed (pip install torch==2.13.0)")


def printed_gradients(code: str) -> dict[str, np.ndarray]:
    """Run the program and read back every ``name: tensor(…)`` it prints."""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    found = {}
    for block in re.split(r"\n(?=\S+: tensor)", run.stdout.strip()):
        match = _LINE.match(block.strip())
        assert match, block
        found[match.group(1)] = np.array([float(n) for n in _NUMBER.findall(match.group(2))])
    return found


def mlp(sizes: list[int], activation, loss, *, final=None) -> sbp.Network:
    """An MLP as a user writes it: zk = Wk h + bk, hk = f(zk), the last activation ``final``."""
    net = sbp.Network()
    h = net.input("x", (sizes[0], 1))
    y = net.input("y", (sizes[-1], 1))
    layers = len(sizes) - 1
    for k in range(1, layers + 1):
        W = net.param(f"W{k}", (sizes[k], sizes[k - 1]))
        b = net.param(f"b{k}", (sizes[k], 1))
        h = net.node(f"z{k}", W @ h + b)
        f = activation if k < layers else final
        if f is not None:
            h = net.node(f"h{k}", f(h))
    net.loss("L", loss(h, y))
    return net


def random_values(net: sbp.Network, seed: int, target=None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {q.name: rng.normal(size=q.shape or (1, 1)) for q in net.quantities() if q.kind in ("input", "param")}
    if target is not None:
        values["y"] = target(rng, net["y"].shape)
    return values


def _compare(net: sbp.Network, values: dict) -> None:
    require_torch()
    ours = sbp.backprop(net).evaluate(values).grad
    printed = printed_gradients(torch_code(net, values))
    names = torch_model(net).parameter_names()
    assert set(printed) == set(names)
    for torch_name, name in names.items():
        np.testing.assert_allclose(printed[torch_name], np.asarray(ours[name], dtype=float).ravel(),
                                   rtol=TOLERANCE, atol=TOLERANCE, err_msg=f"{torch_name} ({name})")


@pytest.mark.slow
def test_the_reference_network_prints_the_pages_gradients():
    _compare(sbp.reference_network(), sbp.reference_values())


@pytest.mark.slow
def test_a_three_layer_sigmoid_network_with_mse():
    net = mlp([3, 4, 3, 2], sbp.sigmoid, sbp.mse)
    _compare(net, random_values(net, 1))


@pytest.mark.slow
def test_a_tanh_network_with_binary_cross_entropy():
    net = mlp([2, 5, 3], sbp.tanh, sbp.binary_cross_entropy, final=sbp.sigmoid)
    _compare(net, random_values(net, 2, target=lambda rng, shape: rng.uniform(0.1, 0.9, size=shape)))


@pytest.mark.slow
def test_a_tanh_network_with_the_half_squared_error_written_out():
    net = mlp([2, 3, 2], sbp.tanh, sbp.half_squared_error)
    _compare(net, random_values(net, 3))


@pytest.mark.slow
def test_a_network_with_logits_and_cross_entropy():
    net = mlp([3, 4, 3], sbp.relu, sbp.bce_with_logits)
    _compare(net, random_values(net, 4, target=lambda rng, shape: rng.integers(0, 2, size=shape).astype(float)))


@pytest.mark.slow
def test_a_softmax_network_with_cross_entropy_against_one_hot_targets():
    net = mlp([3, 4, 3], sbp.tanh, sbp.cross_entropy)
    _compare(net, random_values(net, 8, target=lambda rng, shape: np.eye(shape[0])[:, [1]]))


@pytest.mark.slow
def test_a_batch_is_one_tensor_of_rows_and_the_loss_its_mean():
    net = mlp([2, 3, 1], sbp.tanh, sbp.mse)
    values = random_values(net, 5)
    rng = np.random.default_rng(6)
    values["x"], values["y"] = rng.normal(size=(4, 2, 1)), rng.normal(size=(4, 1, 1))
    _compare(net, values)


def test_the_program_is_built_from_the_networks_structure():
    code = torch_code(mlp([3, 4, 3, 2], sbp.sigmoid, sbp.mse))
    assert "nn.Linear(3, 4)" in code and "nn.Linear(4, 3)" in code and "nn.Linear(3, 2)" in code
    assert code.count("nn.Sigmoid()") == 2
    assert "copy_" not in code  # no values, nothing set
    assert "loss.backward()" in code


@pytest.mark.slow
def test_the_program_runs_without_values():
    require_torch()
    code = torch_code(mlp([2, 3, 1], sbp.tanh, sbp.mse))
    assert set(printed_gradients(code)) == {"0.weight", "0.bias", "2.weight", "2.bias"}


def _residual() -> sbp.Network:
    net = sbp.Network()
    x = net.input("x", (2, 1))
    y = net.input("y", (2, 1))
    W = net.param("W1", (2, 2))
    z = net.node("z1", W @ x + x)
    net.loss("L", sbp.mse(z, y))
    return net


def _custom_activation() -> sbp.Network:
    net = sbp.Network()
    x = net.input("x", (2, 1))
    y = net.input("y", (2, 1))
    W = net.param("W1", (2, 2))
    z = net.node("z1", W @ x)
    h = net.node("h1", sbp.leaky_relu(z, 0.3))
    net.loss("L", sbp.mse(h, y))
    return net


def _penalty() -> sbp.Network:
    net = sbp.Network()
    x = net.input("x")
    y = net.input("y")
    w = net.param("w")
    z = net.node("z", w * x)
    net.loss("L", (z - y) ** 2 + w ** 2)
    return net


@pytest.mark.parametrize("build, reason", [
    (_residual, "neither"),
    (_custom_activation, "neither"),
    (_penalty, "more than the output"),
])
def test_a_network_no_sequential_computes_is_refused_with_the_reason(build, reason):
    with pytest.raises(TorchCodeError, match=reason):
        torch_code(build())
