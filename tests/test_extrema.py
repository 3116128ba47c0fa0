"""sbp.max and sbp.min beyond the operation table: bad operands, and a maximum shared by two paths."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.errors import InvalidAxisError, InvalidOperandError

from .oracles import autograd_gradients


def test_a_scalar_or_a_bad_axis_is_refused_when_the_network_is_built():
    net = sbp.Network()
    x = net.input("x", (3, 4))
    with pytest.raises(InvalidOperandError, match="sp.Max"):
        sbp.max(sp.Symbol("a"))
    with pytest.raises(InvalidAxisError, match="axis 2"):
        sbp.min(x, axis=2)


def test_a_maximum_used_twice_against_autograd_and_finite_differences():
    net = sbp.Network()
    x, w = net.input("x", (3, 4)), net.param("W", (4, 4))
    z = net.node("z", sbp.tanh(x @ w))
    top = net.node("top", sbp.max(z, axis=1))  # a column: each row's largest entry
    low = net.node("low", sbp.min(z))
    net.loss("L", sbp.total(top * top) + low * sbp.total(top))  # top reaches L along two paths
    d = sbp.backprop(net)
    rng = np.random.default_rng(3)
    values = {"x": rng.normal(size=(3, 4)), "W": rng.normal(size=(4, 4))}
    gradient = d.evaluate(values).grad["W"]
    np.testing.assert_allclose(gradient, autograd_gradients(net, values)["W"], rtol=1e-10, atol=1e-12)
    assert sbp.check_gradients(d, values).passed
