"""The reference page's worked example, number for number."""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.derivation import EDGE, SEED

PAGE = {
    "z1": [[1.2], [1.2]], "h1": [[1.2], [1.2]], "z2": 1.78, "h2": 1.78, "L": 0.7442,
}
PAGE_GRADIENTS = {
    "h2": -1.22, "z2": -1.22, "W2": [[-1.464, -1.464]], "b2": -1.22, "h1": [[-0.732], [-0.976]],
    "z1": [[-0.732], [-0.976]], "W1": [[-0.732, -1.464], [-0.976, -1.952]], "b1": [[-0.732], [-0.976]],
}


@pytest.fixture(scope="module")
def derivation():
    return sbp.backprop(sbp.reference_network())


def test_forward_values_match_the_page(derivation):
    ev = derivation.evaluate(sbp.reference_values())
    for name, expected in PAGE.items():
        np.testing.assert_allclose(ev.forward[name], expected, rtol=0, atol=1e-12)
    assert ev.forward["z1"].shape == (2, 1)
    assert ev.forward["L"].shape == ()


def test_gradients_match_the_page(derivation):
    ev = derivation.evaluate(sbp.reference_values())
    for name, expected in PAGE_GRADIENTS.items():
        np.testing.assert_allclose(ev.grad[name], expected, rtol=0, atol=1e-12)
    assert ev.grad["W1"].shape == (2, 2)
    assert ev.grad["b2"].shape == ()


def test_exact_inputs_give_exact_rationals(derivation):
    ev = derivation.evaluate(sbp.reference_values(exact=True), exact=True)
    assert ev.forward["L"] == sp.Rational(3721, 5000)
    assert ev.grad["W1"].tolist() == [[sp.Rational(-183, 250), sp.Rational(-183, 125)],
                                      [sp.Rational(-122, 125), sp.Rational(-244, 125)]]
    assert ev.grad["h2"] == sp.Rational(-61, 50)


def test_exact_evaluation_reads_floats_as_their_decimals(derivation):
    ev = derivation.evaluate(sbp.reference_values(), exact=True)
    assert ev.grad["b1"].tolist() == [[sp.Rational(-183, 250)], [sp.Rational(-122, 125)]]


def test_steps_run_in_reverse_order_loss_first(derivation):
    steps = derivation.steps
    assert steps[0].kind == SEED and steps[0].target == "L"
    order = [s.target for s in steps if s.kind == EDGE]
    assert order == ["h2", "y", "z2", "W2", "b2", "h1", "z1", "W1", "b1", "x"]
    assert [s.source for s in steps if s.kind == EDGE] == ["L", "L", "h2", "z2", "z2", "z2", "h1", "z1", "z1", "z1"]


def test_each_step_reuses_the_upstream_gradient_by_name(derivation):
    step = derivation.step_for("W2")
    assert step.chain == (("L", "z2"), ("z2", "W2"))
    assert repr(step.result) == "(dL/dz2 @ h1.T)"
    assert step.product == "right" and repr(step.local) == "h1.T"
    h1 = derivation.step_for("h1")
    assert repr(h1.result) == "(W2.T @ dL/dz2)" and h1.product == "left"
    z1 = derivation.step_for("z1")
    assert repr(z1.result) == "(dL/dh1 * relu'(z1))" and z1.rules == ("relu",)
    assert derivation.step_for("h2").result == sp.Symbol("h2", real=True) - sp.Symbol("y", real=True)


def test_shapes_are_recorded(derivation):
    assert derivation.step_for("W1").shape == (2, 2)
    assert derivation.step_for("b2").shape is None


def test_closed_form_in_stored_intermediates(derivation):
    g = derivation.gradient("W1")
    assert g.shape == (2, 2)
    z1 = sp.MatrixSymbol("z1", 2, 1)
    x = sp.MatrixSymbol("x", 2, 1)
    h2, y, z2 = (sp.Symbol(n, real=True) for n in ("h2", "y", "z2"))
    W2 = sp.MatrixSymbol("W2", 1, 2)
    expected = (h2 - y) * sp.Heaviside(z2, 0) * W2[0, 0] * sp.Heaviside(z1[0, 0], 0) * x[1, 0]
    assert sp.simplify(g[0, 1] - expected) == 0


def test_expanded_closed_form_uses_only_inputs_and_parameters(derivation):
    g = derivation.gradient("W1", expand=True)
    names = {getattr(s, "name", None) for s in g.free_symbols}
    assert names <= {"x", "y", "W1", "b1", "W2", "b2"}
    values = sbp.reference_values(exact=True)
    table = {sp.Symbol("y", real=True): 3, sp.Symbol("b2", real=True): sp.Rational(1, 10)}
    for name in ("x", "W1", "b1", "W2"):
        q = derivation.network[name]
        m = sp.MatrixSymbol(name, *q.shape)
        array = np.array(values[name], dtype=object).reshape(q.shape)
        for i in range(q.shape[0]):
            for j in range(q.shape[1]):
                table[m[i, j]] = sp.Rational(array[i, j])
    assert g.xreplace(table).tolist() == [[sp.Rational(-183, 250), sp.Rational(-183, 125)],
                                          [sp.Rational(-122, 125), sp.Rational(-244, 125)]]


def test_lambdify_returns_parameter_gradients(derivation):
    grad = derivation.lambdify()
    result = grad(**sbp.reference_values())
    assert set(result) == {"W1", "b1", "W2", "b2"}
    np.testing.assert_allclose(result["W1"], PAGE_GRADIENTS["W1"], atol=1e-12)
    assert result["b1"].shape == (2, 1) and result["b2"].shape == ()
    assert "def derivation(" in grad.source


def test_mlp_builds_the_same_network_with_the_same_names(derivation):
    net = sbp.mlp([2, 2, 1], activation="relu", output_activation="relu")
    assert sorted(q.name for q in net) == sorted(q.name for q in derivation.network)
    ev = sbp.backprop(net).evaluate(sbp.reference_values())
    for name, expected in PAGE_GRADIENTS.items():
        np.testing.assert_allclose(ev.grad[name], expected, atol=1e-12)


def test_scalar_level_mlp_has_a_symbol_per_weight_and_a_node_per_neuron():
    net = sbp.mlp([2, 2, 1], level="scalar")
    names = {q.name for q in net.quantities(elements=True)}
    assert {"W1_1_1", "W1_2_2", "z1_1", "z1_2", "h1_1", "h1_2", "z2", "h2", "x_1", "x_2"} <= names
    d = sbp.backprop(net)
    ev = d.evaluate(sbp.reference_values())
    for name, expected in PAGE_GRADIENTS.items():
        np.testing.assert_allclose(ev.grad[name], expected, atol=1e-12)
    exact = d.evaluate(sbp.reference_values(exact=True), exact=True)
    assert exact.grad["W1"][1, 1] == sp.Rational(-244, 125)
    # a step per edge: W1_1_2 → z1_1 is one step with the local derivative x_2
    step = d.step_for("W1_1_2")
    assert step.source == "z1_1" and step.local == sp.Symbol("x_2", real=True)
    assert step.rules == ("multiply",)


def test_check_gradients_agrees_on_the_reference(derivation):
    report = sbp.check_gradients(derivation, sbp.reference_values())
    assert report.passed and not report.notes
    assert {r.name for r in report.rows} == {"W1", "b1", "W2", "b2"}
    assert all(r.sympy_diff is not None for r in report.rows)
    assert max(r.max_relative_error for r in report.rows) < 1e-8


def test_check_gradients_detects_a_wrong_gradient(derivation, monkeypatch):
    wrong = sbp.backprop(sbp.reference_network())
    real = wrong.evaluate

    def corrupted(values, **kw):
        ev = real(values, **kw)
        ev.grad["W1"] = ev.grad["W1"] + 0.01
        return ev

    monkeypatch.setattr(wrong, "evaluate", corrupted)
    report = sbp.check_gradients(wrong, sbp.reference_values())
    assert not report.passed
    assert [r.name for r in report.rows if not r.passed] == ["W1"]
    with pytest.raises(sbp.GradientCheckError, match="W1: relative error"):
        report.raise_if_failed()


def test_values_accept_arrays_numbers_and_fractions(derivation):
    values = sbp.reference_values()
    values["x"] = np.array([[1.0], [2.0]])
    values["W1"] = np.array(values["W1"])
    values["b2"] = Fraction(1, 10)
    ev = derivation.evaluate(values)
    np.testing.assert_allclose(ev.forward["L"], 0.7442, atol=1e-12)
