"""An activation added as one record (Mish, in symbackprop/ops/activations.py) works everywhere.

Nothing outside its record and its export names it: the rule sentence, the
LaTeX, the graph label, spec files, sbp.mlp and from_torch all read the record.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.graph import to_dot
from symbackprop.rules import RULES
from symbackprop.spec import parse_spec

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for Mish: pip install torch==2.13.0")


def _torch_mish(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    value = torch.nn.Mish()(t)
    value.sum().backward()
    return value.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("level", ["vector", "scalar"])
def test_mish_matches_pytorch_at_both_levels(level):
    z = np.linspace(-30, 30, 13).reshape(-1, 1)
    net = sbp.Network()
    x = net.param("x", (13, 1), elements=level == "scalar")
    h = net.node("h", sbp.mish(x))
    net.loss("L", sbp.total(h) if level == "vector" else sp.Add(*h))
    ev = sbp.backprop(net).evaluate({"x": z})
    value, grad = _torch_mish(z)
    np.testing.assert_allclose(np.asarray(ev.forward["h"], dtype=float).reshape(-1, 1), value, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ev.grad["x"], grad, rtol=1e-10, atol=1e-300)


def test_mish_reaches_every_reader_of_the_records():
    assert "mish" in sbp.ACTIVATIONS and "mish" in RULES
    d = sbp.backprop(sbp.mlp([2, 3, 1], activation="mish"))
    assert r"\operatorname{Mish}" in d.to_latex()
    assert "Mish" in to_dot(d.network)
    spec = parse_spec('[inputs]\nx = 1\n[params]\nw = 1\n[nodes]\nh = "mish(w * x)"\n[loss]\nL = "h**2"\n')
    assert spec.network["h"].definition is not None
    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Mish(), torch.nn.Linear(2, 1)).double()
    net, values = sbp.from_torch(module)
    x = np.array([[0.3, -1.2]])
    y = np.array([[0.5]])
    values = {**values, "x": x, "y": y}
    loss = torch.nn.functional.mse_loss(module(torch.tensor(x)), torch.tensor(y))
    loss.backward()
    grads = sbp.backprop(net).lambdify()(**values)
    np.testing.assert_allclose(grads["W1"], module[0].weight.grad.numpy(), rtol=1e-10)
