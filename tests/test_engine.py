"""The reverse sweep on networks beyond the reference: scalar expressions, fan-out, batches, losses."""

import warnings

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.derivation import EDGE, SUM
from tests.oracles import autograd_gradients


def _fan_out_network():
    net = sbp.Network()
    x = net.input("x")
    w = net.param("w")
    c = net.param("c")
    a = net.node("a", w * x)
    b = net.node("b", sp.sin(a) + c)
    d = net.node("d", a * b)            # a is used by b and by d: fan-out
    net.loss("L", sp.exp(d) / 10 + sp.log(1 + a ** 2) + b ** 3)
    return net


def test_fan_out_sums_the_gradients_and_records_the_sum():
    d = sbp.backprop(_fan_out_network())
    into_a = d.steps_into("a")
    assert [s.kind for s in into_a] == [EDGE, EDGE, EDGE, SUM]
    assert {s.source for s in into_a if s.kind == EDGE} == {"L", "d", "b"}
    total = into_a[-1]
    assert total.complete and total.parts == tuple(s.index for s in into_a[:-1])
    assert total.rules == ("fan_out",)


def test_fan_out_gradients_match_sympy_diff_of_the_whole_loss():
    net = _fan_out_network()
    d = sbp.backprop(net)
    x, w, c = (sp.Symbol(n, real=True) for n in "xwc")
    a = w * x
    b = sp.sin(a) + c
    loss = sp.exp(a * b) / 10 + sp.log(1 + a ** 2) + b ** 3
    point = {x: sp.Rational(3, 10), w: sp.Rational(-7, 10), c: sp.Rational(1, 5)}
    values = {"x": 0.3, "w": -0.7, "c": 0.2}
    ev = d.evaluate(values)
    for name, symbol in (("w", w), ("c", c), ("x", x)):
        expected = float(sp.diff(loss, symbol).subs(point))
        assert ev.grad[name] == pytest.approx(expected, rel=1e-12)
    expanded = d.gradient("w", expand=True)
    assert sp.simplify(expanded - sp.diff(loss, w)) == 0


def test_a_node_used_twice_in_one_expression():
    net = sbp.Network()
    x = net.input("x", (3, 1))
    W = net.param("W", (3, 3))
    h = net.node("h", sbp.tanh(W @ x) * (W @ x))      # W twice in one definition
    net.loss("L", sbp.total(h ** 2))
    d = sbp.backprop(net)
    steps = [s for s in d.steps_into("W") if s.kind == EDGE]
    assert len(steps) == 1 and steps[0].local is None
    rng = np.random.default_rng(1)
    values = {"x": rng.normal(size=(3, 1)), "W": rng.normal(size=(3, 3))}
    np.testing.assert_allclose(d.evaluate(values).grad["W"], autograd_gradients(net, values)["W"], rtol=1e-10)
    assert sbp.check_gradients(d, values).passed


def test_scalar_parameter_broadcast_into_a_vector():
    net = sbp.Network()
    x = net.input("x", (3, 1))
    s = net.param("s")
    v = net.param("v", (3, 1))
    h = net.node("h", sbp.sigmoid(s * x + v + 2 * s))
    net.loss("L", sbp.half_squared_error(h, x))
    d = sbp.backprop(net)
    values = {"x": [0.5, -1.0, 2.0], "s": 0.3, "v": [0.1, 0.2, -0.3]}
    ours = d.evaluate(values).grad
    oracle = autograd_gradients(net, values)
    for name in ("s", "v"):
        np.testing.assert_allclose(ours[name], oracle[name], rtol=1e-10)
    assert sbp.check_gradients(d, values).passed


@pytest.mark.parametrize("loss", ["half_squared_error", "mse", "bce_with_logits", "binary_cross_entropy"])
def test_batches_average_the_per_sample_gradients(loss):
    output = "sigmoid" if loss == "binary_cross_entropy" else "identity"
    net = sbp.mlp([3, 4, 2], activation="tanh", output_activation=output, loss=loss)
    d = sbp.backprop(net)
    rng = np.random.default_rng(7)
    params = {q.name: rng.normal(size=q.shape) for q in net.params}
    xs, ys = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    batch = d.evaluate({**params, "x": xs, "y": ys})
    singles = [d.evaluate({**params, "x": xs[i], "y": ys[i]}) for i in range(5)]
    assert batch.batch_size == 5
    assert batch.forward["L"] == pytest.approx(np.mean([s.forward["L"] for s in singles]), rel=1e-12)
    for q in net.params:
        np.testing.assert_allclose(batch.grad[q.name], np.mean([s.grad[q.name] for s in singles], axis=0),
                                   rtol=1e-10, atol=1e-14)
    assert batch.forward["z1"].shape == (5, 4, 1)
    assert batch.grad["x"].shape == (5, 3, 1)
    oracle = autograd_gradients(net, {**params, "x": xs, "y": ys})
    for q in net.params:
        np.testing.assert_allclose(batch.grad[q.name], oracle[q.name], rtol=1e-9, atol=1e-13)


def test_batch_accepts_column_vectors_with_or_without_the_last_axis():
    d = sbp.backprop(sbp.reference_network())
    values = sbp.reference_values()
    flat = d.evaluate({**values, "x": [[1, 2], [2, 1]], "y": [3, 1]})
    full = d.evaluate({**values, "x": np.array([[[1], [2]], [[2], [1]]]), "y": [[3], [1]]})
    np.testing.assert_allclose(flat.grad["W1"], full.grad["W1"])
    assert flat.forward["L"].shape == ()


def test_batch_mode_derivation_starts_from_one_over_n():
    d = sbp.backprop(sbp.reference_network(), batch=True)
    assert d.steps[0].result == 1 / sbp.BATCH_SIZE and d.steps[0].rules == ("batch_mean",)
    assert d.step_for("h2").result.has(sbp.BATCH_SIZE)
    per_sample = d.gradient("b2", expand=False)
    assert per_sample.has(sbp.BATCH_SIZE)
    values = sbp.reference_values()
    batch = {**values, "x": [[1, 2], [1, 2]], "y": [3, 3]}
    np.testing.assert_allclose(d.evaluate(batch).grad["W1"], [[-0.732, -1.464], [-0.976, -1.952]], atol=1e-12)
    np.testing.assert_allclose(d.evaluate(values).grad["W1"], [[-0.732, -1.464], [-0.976, -1.952]], atol=1e-12)


def test_lambdify_accepts_a_batch_axis_and_returns_parameter_shapes():
    net = sbp.mlp([2, 3, 1], activation="sigmoid", output_activation="identity", loss="mse")
    grad = sbp.backprop(net).lambdify()
    rng = np.random.default_rng(3)
    params = {q.name: rng.normal(size=q.shape) for q in net.params}
    result = grad(**params, x=rng.normal(size=(16, 2)), y=rng.normal(size=16))
    assert {k: v.shape for k, v in result.items()} == {"W1": (3, 2), "b1": (3, 1), "W2": (1, 3), "b2": ()}


def test_cse_off_gives_the_same_numbers():
    net = sbp.mlp([3, 3, 3, 2], activation="sigmoid", output_activation="sigmoid", level="scalar")
    d = sbp.backprop(net)
    rng = np.random.default_rng(5)
    values = {q.name: rng.normal(size=q.shape or ()) for q in net.quantities("input", "param")}
    with_cse, without = d.lambdify(cse=True), d.lambdify(cse=False)
    assert "# shared" in with_cse.source and "# shared" not in without.source
    for name, value in with_cse(**values).items():
        np.testing.assert_array_equal(value, without(**values)[name])


def test_cross_entropy_with_softmax_matches_autograd():
    net = sbp.mlp([4, 5, 3], activation="relu", output_activation="identity", loss="cross_entropy")
    d = sbp.backprop(net)
    rng = np.random.default_rng(11)
    params = {q.name: rng.normal(size=q.shape) for q in net.params}
    values = {**params, "x": rng.normal(size=(6, 4)), "y": np.eye(3)[[0, 2, 1, 1, 0, 2]]}
    oracle = autograd_gradients(net, values)
    ours = d.evaluate(values).grad
    for q in net.params:
        np.testing.assert_allclose(ours[q.name], oracle[q.name], rtol=1e-9, atol=1e-13)


def test_large_logits_stay_finite_in_softmax_and_bce_with_logits():
    for loss, width in (("cross_entropy", 3), ("bce_with_logits", 1)):
        net = sbp.mlp([1, width], activation="identity", output_activation="identity", loss=loss)
        d = sbp.backprop(net)
        values = {"x": [1000.0], "W1": np.full((width, 1), 1.0), "b1": np.array([[0.0]] * width),
                  "y": np.eye(width)[0] if width > 1 else 0.0}
        if width > 1:
            values["b1"] = np.array([[0.0], [-2000.0], [5.0]])
        ev = d.evaluate(values)
        assert np.isfinite(ev.forward["L"]) and all(np.all(np.isfinite(g)) for g in ev.grad.values())


@pytest.mark.parametrize("z", [-1000.0, -745.0, -40.0, 0.0, 25.0, 40.0, 1000.0])
def test_sigmoid_and_its_derivative_are_accurate_in_both_tails(z):
    net = sbp.Network()
    x = net.input("x")
    h = net.node("h", sbp.sigmoid(x))
    net.loss("L", h)
    ev = sbp.backprop(net).evaluate({"x": z})
    exact_sigma = sp.N(1 / (1 + sp.exp(-sp.Float(z, 50))), 30)
    exact_derivative = float(sp.N(exact_sigma * (1 - exact_sigma), 30))
    assert ev.forward["h"] == pytest.approx(float(exact_sigma), rel=1e-14, abs=0)
    # σ′ = σ(z)σ(−z): exact in relative terms in both tails, where PyTorch's s(1 − s) of the stored s
    # loses the digits of 1 − s (five at z = 25) and is 0 at z = 40
    assert ev.grad["x"] == pytest.approx(exact_derivative, rel=1e-14, abs=1e-300)


def test_relu_derivative_at_zero_is_zero_by_default_and_configurable():
    for activation, expected in ((sbp.relu, 0.0), (sbp.make_relu(grad_at_zero=sp.Rational(1, 2)), 0.5),
                                 (sbp.make_relu(1), 1.0)):
        net = sbp.Network()
        x = net.input("x")
        w = net.param("w")
        net.loss("L", activation(w * x))
        d = sbp.backprop(net)
        assert d.evaluate({"x": 2.0, "w": 0.0}).grad["w"] == expected * 2
        assert d.evaluate({"x": 2, "w": 0}, exact=True).grad["w"] == sp.nsimplify(expected * 2)


def test_leaky_relu_matches_pytorch_at_zero_and_both_sides():
    net = sbp.Network()
    x = net.input("x", (3, 1))
    h = net.node("h", sbp.leaky_relu(x, negative_slope=0.2))
    net.loss("L", sbp.total(h))
    ev = sbp.backprop(net).evaluate({"x": [-1.0, 0.0, 2.0]})
    np.testing.assert_allclose(ev.grad["x"].ravel(), [0.2, 0.2, 1.0])


def test_nan_produced_inside_the_network_propagates():
    net = sbp.Network()
    x = net.input("x")
    a = net.node("a", sp.log(x - 2))          # NaN for x < 2
    net.loss("L", sbp.relu(a))
    ev = sbp.backprop(net).evaluate({"x": 1.0})
    assert np.isnan(ev.forward["L"]) and np.isnan(ev.grad["x"])


def test_user_defined_activation_from_lambda_function_and_sympy_class():
    t = sp.Symbol("t")
    cube = sbp.elementwise(sp.Lambda(t, t ** 3 / 3), name="cube")
    swish = sbp.elementwise(lambda v: v * sbp.sigmoid(v), name="swish")
    sine = sbp.elementwise(sp.sin)
    for activation in (cube, swish, sine):
        net = sbp.mlp([2, 3, 1], activation=activation, output_activation="identity")
        d = sbp.backprop(net)
        rng = np.random.default_rng(2)
        values = {q.name: rng.normal(size=q.shape or ()) for q in net.quantities("input", "param")}
        assert sbp.check_gradients(d, values).passed
        oracle = autograd_gradients(net, values)
        for q in net.params:
            np.testing.assert_allclose(d.evaluate(values).grad[q.name], oracle[q.name], rtol=1e-10)
    assert cube.derivative.formula(t) == t ** 2


def test_unused_parameter_warns_and_has_zero_gradient():
    net = sbp.Network()
    x = net.input("x")
    w = net.param("w")
    net.param("unused", (2, 1))
    net.loss("L", (w * x) ** 2)
    with pytest.warns(sbp.UnusedParameterWarning, match="'unused' does not influence the loss 'L'"):
        d = sbp.backprop(net)
    ev = d.evaluate({"x": 1.0, "w": 2.0, "unused": [1, 2]})
    np.testing.assert_array_equal(ev.grad["unused"], np.zeros((2, 1)))
    assert d.gradient("unused") == sp.zeros(2, 1)


def test_reference_network_derives_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sbp.backprop(sbp.reference_network())


def test_inputs_receive_gradients_too():
    d = sbp.backprop(sbp.reference_network())
    ev = d.evaluate(sbp.reference_values())
    # ∂L/∂x = W1ᵀ ∂L/∂z1 and ∂L/∂y = −(h2 − y)
    np.testing.assert_allclose(ev.grad["x"], np.array([[0.5, 0.2], [0.3, 0.4]]) @ [[-0.732], [-0.976]])
    assert ev.grad["y"] == pytest.approx(1.22)


def test_constant_element_gradients_broadcast_over_the_batch():
    net = sbp.Network()
    x = net.input("x", (2, 1), elements=True)
    h = net.node("h", x.applyfunc(lambda e: 2 * e ** 2))
    net.loss("L", h[0] + h[1])                      # ∂L/∂h is the constant 1
    d = sbp.backprop(net)
    np.testing.assert_array_equal(d.evaluate({"x": [1, 2]}).grad["h"], [[1.0], [1.0]])
    batch = d.evaluate({"x": [[1, 2], [3, 4]]})
    np.testing.assert_array_equal(batch.grad["h"], np.full((2, 2, 1), 0.5))
    np.testing.assert_array_equal(batch.grad["x"], [[[2.0], [4.0]], [[6.0], [8.0]]])


def test_binary_cross_entropy_at_saturation_follows_pytorch():
    # BCELoss clamps log at −100 and divides its gradient by max(p(1 − p), 1e-12)
    net = sbp.Network()
    p = net.input("p", (3, 1))
    y = net.input("y", (3, 1))
    net.loss("L", sbp.binary_cross_entropy(p, y))
    ev = sbp.backprop(net).evaluate({"p": [1.0, 1e-14, 0.5], "y": [0.0, 1.0, 1.0]})
    assert ev.forward["L"] == pytest.approx((100 - np.log(1e-14) + np.log(2)) / 3)
    # PyTorch's 1e-12 is a float32 constant: 9.99999996e-13
    expected = np.array([1.0, 1e-14 - 1.0, -0.5]) / np.maximum([0.0, 1e-14 * (1 - 1e-14), 0.25], np.float32(1e-12)) / 3
    np.testing.assert_allclose(ev.grad["p"].ravel(), expected, rtol=1e-12)


def test_sympy_oracle_samples_a_deep_loss_without_expanding_it(monkeypatch):
    # the expanded loss of a 12-layer chain has 2·10⁸ operations in tree form: the oracle writes out
    # only what one element reaches, with every other value a number, and never the whole loss
    net = sbp.mlp([4] + [4] * 12 + [1])
    rng = np.random.default_rng(0)
    values = {q.name: rng.normal(size=q.shape or ()) * 0.5 for q in net.quantities("input", "param")}
    d = sbp.backprop(net)

    def expanded(*args, **kwargs):
        raise AssertionError("the whole loss was expanded")

    monkeypatch.setattr(type(d), "forward_expression", expanded)
    report = sbp.check_gradients(d, values)
    assert report.passed and not report.notes
    assert 0 < report.sympy_checked < report.elements and report.finite_checked == report.elements


@pytest.mark.parametrize("activation, expected", [(sbp.relu, [0.0, 0.0, 1.0]),
                                                  (sbp.make_relu(sp.Rational(1, 2)), [0.0, 0.5, 1.0])])
def test_vector_relu_gradient_at_zero_follows_the_convention(activation, expected):
    net = sbp.Network()
    x = net.input("x", (3, 1))
    net.loss("L", sbp.total(activation(x)))
    d = sbp.backprop(net)
    np.testing.assert_array_equal(d.evaluate({"x": [-1.0, 0.0, 2.0]}).grad["x"].ravel(), expected)
    assert d.evaluate({"x": [-1, 0, 2]}, exact=True).grad["x"].ravel().tolist() == [sp.nsimplify(e) for e in expected]


def test_vector_nan_inside_the_network_propagates_through_relu():
    net = sbp.Network()
    x = net.input("x", (2, 1))
    a = net.node("a", sbp.elementwise(sp.log)(x - 2))   # NaN where x < 2
    net.loss("L", sbp.total(sbp.relu(a)))
    grad = sbp.backprop(net).evaluate({"x": [1.0, 4.0]}).grad
    assert np.isnan(grad["x"][0, 0]) and grad["x"][1, 0] == pytest.approx(0.5)
