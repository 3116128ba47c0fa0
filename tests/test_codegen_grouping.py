"""Scalar-level programs grouped into array statements: the same gradients as the lines, and as finite differences.

Oracles: the ungrouped program (one line per neuron and per weight) run on the same
arrays; central finite differences of the mean loss, which the forward pass alone
gives; and a grouped program made wrong on purpose, which must be refused.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop.codegen import grouping

SMOOTH = ["tanh", "sigmoid", "softplus", "silu", "identity"]
ANY = SMOOTH + ["relu", "leaky_relu", "abs"]


def _values(net: sbp.Network, batch: int, rng: np.random.Generator) -> dict:
    values = {}
    for q in net.quantities("input", "param"):
        shape = q.matrix_shape if q.kind == "param" else (batch, *q.matrix_shape)
        values[q.name] = rng.normal(size=shape)
    return values


def _grouped_and_lines(d: sbp.Derivation, values: dict) -> tuple[dict, dict, str]:
    grad = d.lambdify()
    got = grad(**values)
    (function,) = grad._rows.values()
    arguments, batch_size = grad._values.arguments(values)
    with np.errstate(all="ignore"):
        _, lines = grad.program.function(*arguments, batch_size)
    expected = {q.name: np.asarray(lines[q.name]).reshape(got[q.name].shape) for q in d.network.params}
    return got, expected, getattr(function, "__name__", "")


networks = st.fixed_dictionaries({
    "sizes": st.lists(st.integers(1, 5), min_size=2, max_size=4),
    "activation": st.sampled_from(ANY),
    "output": st.sampled_from(ANY),
    "loss": st.sampled_from(["half_squared_error", "mse"]),
    "batch": st.integers(1, 9),
    "seed": st.integers(0, 2 ** 16),
})


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks)
def test_grouped_equals_the_lines_on_random_scalar_networks(case):
    net = sbp.mlp(case["sizes"], activation=case["activation"], output_activation=case["output"],
                  loss=case["loss"], level="scalar")
    d = sbp.backprop(net)
    got, expected, function = _grouped_and_lines(d, _values(net, case["batch"], np.random.default_rng(case["seed"])))
    assert function == "derivation_grouped" or max(case["sizes"]) == 1  # one neuron a layer: nothing to group
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-10, atol=1e-12, err_msg=name)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), st.sampled_from(SMOOTH), st.integers(1, 6),
       st.integers(0, 2 ** 16))
def test_grouped_equals_finite_differences(sizes, activation, batch, seed):
    net = sbp.mlp(sizes, activation=activation, output_activation="identity", level="scalar")
    d = sbp.backprop(net)
    rng = np.random.default_rng(seed)
    values = _values(net, batch, rng)
    got = d.lambdify()(**values)
    step = 1e-6
    for q in net.params:
        for index in {(0, 0), tuple(np.array(q.matrix_shape) - 1)}:
            moved = []
            for sign in (1, -1):
                shifted = {k: v.copy() for k, v in values.items()}
                shifted[q.name][index] += sign * step
                moved.append(float(d.evaluate(shifted).loss))
            numeric = (moved[0] - moved[1]) / (2 * step)
            analytic = np.reshape(got[q.name], q.matrix_shape)[index]
            assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-7), (q.name, index)


def test_the_layers_become_matrix_products():
    d = sbp.backprop(sbp.mlp([3, 4, 2], level="scalar"))
    grad = d.lambdify()
    grad(**_values(d.network, 5, np.random.default_rng(0)))
    (function,) = grad._rows.values()
    assert "v_x @ v_W1.T" in function.source and "g_z1.T @ v_x" in function.source
    assert "g_z2 @ v_W2" in function.source and "v_W1_1_1" not in function.source


def test_a_grouped_program_that_disagrees_is_refused(monkeypatch):
    d = sbp.backprop(sbp.mlp([3, 4, 2], level="scalar"))
    values = _values(d.network, 6, np.random.default_rng(1))
    honest = grouping.Grouper._matrix_product

    def scaled(self, batched, shared, pairs):  # every layer's product off by half of itself
        product = honest(self, batched, shared, pairs)
        return grouping.ast.BinOp(product, grouping.ast.Mult(), grouping.ast.Constant(1.5))

    monkeypatch.setattr(grouping.Grouper, "_matrix_product", scaled)
    got, expected, function = _grouped_and_lines(d, values)
    assert function != "derivation_grouped"
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-12, err_msg=name)


def test_nan_falls_where_the_lines_put_it():
    d = sbp.backprop(sbp.mlp([2, 3, 1], level="scalar"))
    values = _values(d.network, 4, np.random.default_rng(2))
    values["x"][1, 0] = np.nan
    grad = d.lambdify(check=False)
    for _ in range(2):
        got = grad(**values)
    arguments, batch_size = grad._values.arguments(values)
    with np.errstate(all="ignore"):
        _, lines = grad.program.function(*arguments, batch_size)
    for q in d.network.params:
        np.testing.assert_array_equal(np.isnan(got[q.name]), np.isnan(np.reshape(lines[q.name], got[q.name].shape)))
    assert np.isnan(got["W1"]).any()
