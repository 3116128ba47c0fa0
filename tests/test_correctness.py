"""Every number right: precedence in generated code, batch-free loss terms, standalone code.

Each regression compares with an oracle that does not use the engine's steps:
PyTorch float64 (where installed) or HIPS autograd interpreting the forward
definitions, exact SymPy arithmetic, or values derived by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop import codegen
from symbackprop.numeric import Program

from .oracles import oracle_gradients

# -- 1. a tensor to a rational power ------------------------------------------------------

@pytest.mark.parametrize("exponent", [sp.Rational(1, 2), sp.Rational(3, 2), sp.Rational(-1, 3),
                                      sp.Rational(5, 2)])
def test_rational_power_of_a_tensor_matches_exact_and_the_oracle(exponent):
    net = sbp.Network()
    x = net.param("x", (2, 1))
    r = net.node("r", x ** exponent)
    net.loss("L", sbp.total(r))
    d = sbp.backprop(net)
    values = {"x": [4.0, 9.0]}
    ev = d.evaluate(values)
    expected = np.array([[4.0], [9.0]]) ** float(exponent)
    np.testing.assert_allclose(ev.forward["r"], expected, rtol=1e-14)
    np.testing.assert_allclose(ev.grad["x"], float(exponent) * np.array([[4.0], [9.0]]) ** float(exponent - 1),
                               rtol=1e-14)
    exact = d.evaluate({"x": [4, 9]}, exact=True)
    np.testing.assert_allclose(np.asarray(exact.forward["r"], dtype=float), ev.forward["r"], rtol=1e-14)
    np.testing.assert_allclose(np.asarray(exact.grad["x"], dtype=float), ev.grad["x"], rtol=1e-14)
    np.testing.assert_allclose(d.lambdify()(**values)["x"], oracle_gradients(net, values)["x"], rtol=1e-12)


# -- 2. a scalar factor that is a sum, times a tensor -------------------------------------

def test_sum_as_a_scalar_factor_keeps_its_parentheses():
    net = sbp.Network()
    x = net.input("x", (2, 1))
    s = net.param("s")
    h = net.node("h", (s + 1) * x)
    net.loss("L", sbp.total(h))
    d = sbp.backprop(net)
    ev = d.evaluate({"x": [1.0, 2.0], "s": 2.0})
    assert float(ev.forward["L"]) == pytest.approx(9.0, rel=1e-15)  # (2 + 1)·(1 + 2)
    assert float(ev.grad["s"]) == pytest.approx(3.0, rel=1e-15)


def test_highway_gate_with_a_scalar_gate_matches_the_oracle():
    net = sbp.Network()
    x = net.input("x", (3, 1))
    g = net.param("g")
    W = net.param("W", (3, 3))
    u = net.node("u", sbp.tanh(W @ x))
    h = net.node("h", (1 - g) * u + g * x)
    net.loss("L", sbp.total(h * h) / 2)
    rng = np.random.default_rng(3)
    values = {"x": rng.normal(size=(5, 3)), "g": 0.3, "W": rng.normal(size=(3, 3))}
    ev = sbp.backprop(net).evaluate(values)
    expected = oracle_gradients(net, values)
    for name in ("g", "W"):
        np.testing.assert_allclose(ev.grad[name], expected[name], rtol=1e-11, atol=1e-13)


# -- 3. loss terms that do not depend on a batched input ----------------------------------

def test_batch_free_loss_term_gets_its_whole_gradient():
    net = sbp.Network()
    x = net.input("x")
    y = net.input("y")
    w = net.param("w")
    h = net.node("h", w * x)
    net.loss("L", sp.Rational(1, 2) * (h - y) ** 2 + w ** 2)
    d = sbp.backprop(net)
    values = {"x": [1.0, 2.0], "y": [0.0, 0.0], "w": 1.0}
    # mean over samples of ½(w·xᵢ)² + w²: ∂/∂w = mean(w·xᵢ²) + 2w = 2.5 + 2
    assert float(d.evaluate(values).grad["w"]) == pytest.approx(4.5, rel=1e-15)
    assert float(d.lambdify()(**values)["w"]) == pytest.approx(4.5, rel=1e-15)
    assert float(oracle_gradients(net, values)["w"]) == pytest.approx(4.5, rel=1e-12)
    assert float(sbp.backprop(net, batch=True).evaluate(values).grad["w"]) == pytest.approx(4.5, rel=1e-15)


def test_parameter_only_node_and_weight_decay_in_a_batch_match_the_oracle():
    net = sbp.Network()
    x = net.input("x", (2, 1))
    y = net.input("y")
    W = net.param("W", (1, 2))
    b = net.param("b")
    decay = net.node("decay", sbp.total(W * W))  # parameters only: no batch axis
    z = net.node("z", W @ x + b)
    net.loss("L", sp.Rational(1, 2) * (z - y) ** 2 + sp.Rational(1, 10) * decay + b ** 2 / 4)
    rng = np.random.default_rng(11)
    values = {"x": rng.normal(size=(7, 2)), "y": rng.normal(size=7), "W": rng.normal(size=(1, 2)), "b": 0.4}
    d = sbp.backprop(net)
    expected = oracle_gradients(net, values)
    ev = d.evaluate(values)
    compiled = d.lambdify()(**values)
    for name in ("W", "b"):
        np.testing.assert_allclose(ev.grad[name], expected[name], rtol=1e-12)
        np.testing.assert_allclose(compiled[name], expected[name], rtol=1e-12)


def test_checkpointed_evaluation_counts_batch_free_terms_too():
    from symbackprop.memory import checkpointed_evaluation

    net = sbp.Network()
    x = net.input("x")
    w = net.param("w")
    h = net.node("h", sbp.sigmoid(w * x))
    net.loss("L", h ** 2 + 3 * w ** 2)
    values = {"x": [0.5, -1.0, 2.0], "w": 0.7}
    expected = oracle_gradients(net, values)["w"]
    for every in (None, 1):
        got = checkpointed_evaluation(sbp.backprop(net), values, checkpoint_every=every).grad["w"]
        assert float(got) == pytest.approx(float(expected), rel=1e-12)


def test_a_row_times_a_column_under_the_loss():
    net = sbp.Network()
    r = net.param("r", (1, 2))
    w = net.param("w", (2, 1))
    net.loss("L", sbp.total(r @ w))
    ev = sbp.backprop(net).evaluate({"r": [[1.0, 2.0]], "w": [3.0, 4.0]})
    np.testing.assert_array_equal(ev.grad["r"], [[3.0, 4.0]])
    np.testing.assert_array_equal(ev.grad["w"], [[1.0], [2.0]])


# -- the generated module ------------------------------------------------------------------

def test_lambdify_source_runs_on_its_own():
    net = sbp.mlp([3, 4, 2], activation="sigmoid", output_activation="identity", loss="cross_entropy")
    d = sbp.backprop(net)
    grad = d.lambdify()
    scope: dict = {}
    exec(compile(grad.source, "<pasted>", "exec"), scope)  # a fresh namespace: nothing of symbackprop
    assert not any(getattr(v, "__module__", "") and str(getattr(v, "__module__", "")).startswith("symbackprop")
                   for v in scope.values() if callable(v) and v is not scope["derivation"]
                   and getattr(v, "__module__", None) not in (None, "builtins"))
    rng = np.random.default_rng(0)
    values = {"x": rng.normal(size=(3, 1)), "y": np.eye(2)[:, :1], "W1": rng.normal(size=(4, 3)),
              "b1": rng.normal(size=(4, 1)), "W2": rng.normal(size=(2, 4)), "b2": rng.normal(size=(2, 1))}
    arguments = [np.asarray(values[q.name], dtype=float) for q in net.quantities("input", "param")]
    _, pasted = scope["derivation"](*arguments, 1)
    for name, value in grad(**values).items():
        np.testing.assert_allclose(pasted[name], value, rtol=1e-15)


def test_every_kernel_can_be_written_into_a_standalone_module():
    from symbackprop.kernels import KERNELS
    from symbackprop.ops import LOSS_OPS, NUMPY_KERNELS

    objects = {**KERNELS, **NUMPY_KERNELS}
    objects.update({f"_loss_{k}": v.numeric for k, v in LOSS_OPS.items()})
    for kind, op in LOSS_OPS.items():
        objects.update({f"_d_{kind}_d_{wrt}": op.gradient(wrt).numeric for wrt in ("prediction", "target")})
    module = codegen.standalone_module("", objects, "every kernel")
    scope: dict = {}
    exec(compile(module, "<kernels>", "exec"), scope)
    for identifier, original in objects.items():
        if callable(original):
            assert callable(scope[identifier]), identifier
        else:
            assert scope[identifier] == original, identifier


def test_generated_code_has_no_unknown_names():
    t = sp.Symbol("t", real=True)
    net = sbp.Network()
    x = net.param("x", (2, 1))
    net.loss("L", sbp.total(sbp.elementwise(sp.Lambda(t, sp.pi * t + sp.E))(x)))
    ev = sbp.backprop(net).evaluate({"x": [1.0, 2.0]})
    assert float(ev.forward["L"]) == pytest.approx(3 * np.pi + 2 * np.e)


def test_exact_scalars_are_sympy_numbers():
    d = sbp.backprop(sbp.reference.reference_network())
    ev = d.evaluate(sbp.reference.REFERENCE_VALUES if hasattr(sbp.reference, "REFERENCE_VALUES")
                    else sbp.reference.reference_values(), exact=True)
    assert ev.forward["L"] == sp.Rational(3721, 5000)
    assert sp.N(ev.forward["L"]) == pytest.approx(0.7442)
    assert isinstance(ev.grad["b2"], sp.Expr)


def test_program_lines_are_single_assignment():
    d = sbp.backprop(sbp.mlp([2, 3, 3, 1], activation="tanh", level="scalar"))
    program = Program(d)
    import ast

    targets = [n.targets[0].id for n in ast.walk(ast.parse(program.derivation_source)) if isinstance(n, ast.Assign)]
    assert len(targets) == len(set(targets))


# -- random graphs mixing what went wrong, against the oracle -------------------------------

EXPONENTS = [sp.Rational(1, 2), sp.Rational(3, 2), sp.Rational(-1, 3), sp.Rational(5, 2), 2, 3]
OPERATIONS = ["affine", "power", "sum_factor", "gate", "divide", "activation", "scalar_node"]


def _random_network(operations: list[str], exponent_picks: list[int], width: int, decay: bool):
    net = sbp.Network()
    x = net.input("x", (width, 1))
    y = net.input("y", (width, 1))
    scalars: dict[str, sp.Symbol] = {}

    def scalar(name: str) -> sp.Symbol:  # declared on first use, so every parameter reaches the loss
        if name not in scalars:
            scalars[name] = net.param(name)
        return scalars[name]

    h = x
    for k, operation in enumerate(["affine", *operations]):
        if operation == "affine":
            W = net.param(f"W{k}", (width, width))
            b = net.param(f"b{k}", (width, 1))
            h = net.node(f"z{k}", (W * h if width == 1 else W @ h) + b)
        elif operation == "power":  # a positive base keeps every rational power real
            h = net.node(f"p{k}", (h * h + 1) ** EXPONENTS[exponent_picks[k % len(exponent_picks)]])
        elif operation == "sum_factor":
            s = scalar("s")
            h = net.node(f"f{k}", (s + 1) * h - (2 - s) * h / 3)
        elif operation == "gate":
            g = scalar("g")
            u = net.node(f"u{k}", sbp.tanh(h))
            h = net.node(f"m{k}", (1 - g) * u + g * h)
        elif operation == "divide":
            s = scalar("s")
            h = net.node(f"d{k}", h / (s * s + 1))
        elif operation == "activation":
            h = net.node(f"a{k}", sbp.sigmoid(h))
        else:
            q = net.node(f"q{k}", scalar("s") * scalar("g") + 1)  # a scalar node of parameters only
            h = net.node(f"c{k}", q * h)
    loss = sbp.half_squared_error(h, y)
    if decay:  # terms without the batch: each sample's loss holds them whole
        loss = loss + scalar("lam") ** 2 / 10 + sum((v + 1) ** 2 for n, v in scalars.items() if n != "lam")
    net.loss("L", loss)
    return net


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=5),
       exponent_picks=st.lists(st.integers(0, len(EXPONENTS) - 1), min_size=1, max_size=5),
       width=st.integers(1, 3), batch=st.sampled_from([None, 1, 4]), decay=st.booleans(),
       seed=st.integers(0, 2 ** 32 - 1))
def test_random_graphs_match_the_oracle(operations, exponent_picks, width, batch, decay, seed):
    net = _random_network(operations, exponent_picks, width, decay)
    d = sbp.backprop(net)
    rng = np.random.default_rng(seed)
    values = {}
    for q in net.quantities("input", "param"):
        shape = q.shape or ()
        if q.kind == "input" and batch is not None:
            shape = (batch, *(q.shape or ()))
        values[q.name] = rng.uniform(-1, 1, size=shape)
    expected = oracle_gradients(net, values)
    ev = d.evaluate(values)
    compiled = d.lambdify()(**values)
    for q in net.params:
        scale = max(1.0, float(np.max(np.abs(expected[q.name]))))
        np.testing.assert_allclose(ev.grad[q.name], expected[q.name], rtol=1e-9, atol=1e-11 * scale,
                                   err_msg=q.name)
        np.testing.assert_allclose(compiled[q.name], expected[q.name], rtol=1e-9, atol=1e-11 * scale,
                                   err_msg=q.name)


def test_max_with_zero_written_in_a_scalar_node_follows_the_relu_convention():
    torch = pytest.importorskip("torch")
    net = sbp.Network()
    x = net.param("x", (3, 1), elements=True)
    net.loss("L", sp.Add(*[sp.Max(e, 0) for e in x]) + sp.Max(0, x[0] - 1))
    got = sbp.backprop(net).evaluate({"x": [0.0, 1.0, -2.0]}).grad["x"].ravel()
    t = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64, requires_grad=True)
    (torch.relu(t).sum() + torch.relu(t[0] - 1)).backward()
    np.testing.assert_array_equal(got, t.grad.numpy())


def test_exact_evaluation_of_a_batch_derivation_is_one_sample():
    values = sbp.reference.reference_values(exact=True)
    plain = sbp.backprop(sbp.reference.reference_network()).evaluate(values, exact=True)
    shown = sbp.backprop(sbp.reference.reference_network(), batch=True).evaluate(values, exact=True)
    for name in ("W1", "b1", "W2", "b2"):
        assert np.array_equal(np.asarray(plain.grad[name]), np.asarray(shown.grad[name])), name


def test_a_network_without_parameters_still_writes_its_document():
    net = sbp.Network()
    x = net.input("x")
    net.loss("L", x ** 2)
    d = sbp.backprop(net)
    assert "L" in d.to_latex(values={"x": 2})
    assert float(d.evaluate({"x": 2.0}).grad["x"]) == 4.0
