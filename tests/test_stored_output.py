"""The generated code reads an activation's derivative from its stored output where that is the same number."""

from __future__ import annotations

import numpy as np

import symbackprop as sbp


def test_tanh_and_exp_derivatives_read_the_stored_output_and_change_no_bit():
    """h = tanh(z) is stored: the step's 1 − tanh²(z) is 1 − h², the same number without a second tanh."""
    net = sbp.Network()
    x, weights = net.input("x", (3, 1)), net.param("W", (3, 3))
    z = net.node("z", weights @ x)
    h = net.node("h", sbp.tanh(z))
    e = net.node("e", sbp.exp(h))
    s = net.node("s", sbp.sigmoid(e))
    net.loss("L", sbp.total(s))
    derivation = sbp.backprop(net)
    gradient = derivation.lambdify()
    source = gradient.source
    assert "tanh_prime_from_output(v_h)" in source and "exp_prime_from_output(v_e)" in source
    assert "sigmoid_prime_from_output" not in source  # σ(z)σ(−z) keeps the tail σ(z)(1 − σ(z)) would lose
    rng = np.random.default_rng(2)
    values = {"x": rng.normal(size=(3, 1)), "W": rng.normal(size=(3, 3))}
    z_value = values["W"] @ values["x"]
    h_value = np.tanh(z_value)
    e_value = np.exp(h_value)
    sigma = 1 / (1 + np.exp(-e_value))
    g_e = sigma * (1 - sigma)
    g_h = g_e * np.exp(h_value)
    g_z = g_h * (1 - np.tanh(z_value) ** 2)  # the derivative as written, recomputing tanh
    np.testing.assert_allclose(gradient(**values)["W"], g_z @ values["x"].T, rtol=1e-14, atol=0)
