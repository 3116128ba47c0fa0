"""Gradient flow: chains read from the recorded steps, norms against NumPy, the page's 0.5¹⁰ and 2¹⁰."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.explicit import ClosedForms, to_explicit
from symbackprop.flow import (
    EXPLODING,
    VANISHING,
    deep_chain,
    gradient_flow,
    network_layers,
    plot_gradient_flow,
)


@pytest.fixture(scope="module")
def reference():
    d = sbp.backprop(sbp.reference_network())
    return d, d.gradient_flow(sbp.reference_values())


def test_chains_are_the_products_of_recorded_local_factors(reference):
    _, flow = reference
    assert flow["h1"].chain == "∂L/∂h1 = W2ᵀ · Heaviside(z2, 0) · (h2 - y)"
    assert flow["z1"].chain == "∂L/∂z1 = diag(relu′(z1)) · W2ᵀ · Heaviside(z2, 0) · (h2 - y)"
    assert flow["W1"].chain == "∂L/∂W1 = diag(relu′(z1)) · W2ᵀ · Heaviside(z2, 0) · (h2 - y) · xᵀ"
    assert flow["b2"].chain == "∂L/∂b2 = Heaviside(z2, 0) · (h2 - y)"
    assert [f.step for f in flow["W1"].factors] == [1, 3, 6, 7, 8]
    assert all(e.paths == 1 for e in flow.entries)


def test_unrolled_products_equal_the_closed_forms(reference):
    d, flow = reference
    stored = ClosedForms(d, expand=False)
    for name in ("h1", "z1", "W1", "b1", "x", "W2"):
        product = to_explicit(flow[name].expression, stored.forward, stored.gradient)
        closed = d.gradient(name)
        difference = sp.Matrix(product) - sp.Matrix(closed) if isinstance(closed, sp.MatrixBase) \
            else product - closed
        assert sp.simplify(difference) == sp.zeros(*difference.shape) if hasattr(difference, "shape") \
            else sp.simplify(difference) == 0


def test_norms_are_frobenius_norms_of_the_evaluated_gradients(reference):
    d, flow = reference
    grads = d.evaluate(sbp.reference_values()).grad
    for entry in flow.entries:
        assert entry.norm == pytest.approx(np.sqrt(np.sum(np.square(grads[entry.name]))), rel=1e-14)
    assert flow["h1"].reference == "h2" and flow["W1"].reference == "W2" and flow["z1"].reference == "z2"
    assert flow["W1"].relative == pytest.approx(np.linalg.norm(grads["W1"]) / np.linalg.norm(grads["W2"]))
    assert flow["x"].relative == pytest.approx(np.linalg.norm(grads["x"]) / abs(grads["h2"]))
    assert [lf.index for lf in flow.layers] == [0, 1, 2]
    assert flow.layers[1].weight_norm == pytest.approx(np.linalg.norm(grads["W1"]))
    assert flow.vanishing_names == () and flow.exploding_names == ()
    assert "h1" in str(flow) and "W1" in str(flow)


def _hand_chain(depth: int, activation: str, weight: float, x0: float) -> tuple[float, float]:
    """∂L/∂x and ∂L/∂h_depth for a width-1 chain, by a hand-written NumPy forward and backward pass."""
    f = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}[activation]
    df = {"sigmoid": lambda z: f(z) * (1 - f(z)), "relu": lambda z: float(z > 0), "tanh": lambda z: 1 - np.tanh(z) ** 2}
    centred = activation in ("sigmoid", "tanh")
    h, zs = x0, []
    for _ in range(depth):
        bias = -weight * h if centred else 0.0
        zs.append(weight * h + bias)
        h = f(zs[-1])
    top = 1.0  # y = h − 1
    g = top
    for z in reversed(zs):
        g = g * df[activation](z) * weight
    return g, top


@pytest.mark.parametrize(("activation", "weight", "factor"), [
    ("sigmoid", 2.0, 0.5), ("relu", 2.0, 2.0), ("relu", 0.5, 0.5), ("tanh", 0.5, 0.5), ("sigmoid", 1.0, 0.25),
])
def test_deep_chain_reproduces_the_page(activation, weight, factor):
    chain = deep_chain(10, activation, weight)
    flow = chain.flow()
    assert chain.factor == pytest.approx(factor, rel=1e-15)
    assert flow.end_to_end == pytest.approx(factor ** 10, rel=1e-12)
    by_hand, top = _hand_chain(10, activation, weight, 0.5 if activation != "relu" else 1.0)
    assert flow["x"].norm == pytest.approx(abs(by_hand), rel=1e-12)
    assert flow["h10"].norm == pytest.approx(top)
    for k in range(1, 11):  # every layer hands down the same factor
        assert flow[f"h{k}"].relative == pytest.approx(factor ** (10 - k), rel=1e-12)


def test_the_page_figures_are_flagged():
    vanishing = deep_chain(10, "sigmoid", 2.0).flow()
    assert vanishing.end_to_end == pytest.approx(0.5 ** 10) and 0.5 ** 10 < VANISHING
    assert "x" in vanishing.vanishing_names and vanishing.layers[0].status == "vanishing"
    exploding = deep_chain(10, "relu", 2.0).flow()
    assert exploding.end_to_end == pytest.approx(1024.0) and 1024 > EXPLODING
    assert exploding.exploding_names == ("x",) and exploding.layers[0].status == "exploding"
    assert deep_chain(10, "relu", 1.0).flow().vanishing_names == ()


def test_thresholds_are_options():
    chain = deep_chain(6, "relu", 2.0)
    flow = chain.flow(exploding=10.0)
    assert set(flow.exploding_names) == {"x", "h1", "h2", "z1", "z2", "b1", "b2"}
    # ∂L/∂Wk = ∂L/∂zk · h(k−1)ᵀ: the activations grow by 2 per layer as the gradients shrink by 2
    assert flow["W1"].relative == pytest.approx(1.0)


def test_wider_chain_and_its_symbolic_product():
    chain = deep_chain(4, "relu", 2.0, width=3)
    flow = chain.flow()
    assert flow.end_to_end == pytest.approx(16.0)
    assert flow["h1"].chain.startswith("∂L/∂h1 = W2ᵀ · diag(relu′(z2)) · W3ᵀ · diag(relu′(z3))")


def test_batch_values_give_norms_over_all_samples():
    d = sbp.backprop(sbp.reference_network())
    values = dict(sbp.reference_values(), x=[[1, 2], [0.5, -1], [2, 0.5]], y=[3, 1, 2])
    flow = gradient_flow(d, values)
    grads = d.evaluate(values).grad
    assert flow.batch_size == 3
    assert flow["z1"].norm == pytest.approx(np.linalg.norm(grads["z1"].ravel()))
    assert flow["W1"].norm == pytest.approx(np.linalg.norm(grads["W1"]))


def test_scalar_level_network():
    d = sbp.backprop(sbp.mlp([2, 3, 1], level="scalar"))
    rng = np.random.default_rng(3)
    values = {"x": rng.normal(size=2), "y": 0.3, "W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=3),
              "W2": rng.normal(size=(1, 3)), "b2": 0.1}
    flow = d.gradient_flow(values)
    grads = d.evaluate(values).grad
    assert flow["W1"].norm == pytest.approx(np.linalg.norm(grads["W1"]))
    assert flow["x"].paths == 6 and flow["x"].factors == () and "6 paths" in flow["x"].chain
    assert flow["W2"].expression.shape == (1, 3)
    assert [lf.index for lf in flow.layers] == [0, 1, 2]


def test_networks_named_otherwise_get_one_layer_per_node():
    net = sbp.Network()
    u, w = net.input("u"), net.param("w")
    s = net.node("s", sp.sin(w * u))
    t = net.node("t", s * w)
    net.loss("loss", (t - 1) ** 2)
    layers = network_layers(net)
    assert [(layer.index, layer.output) for layer in layers] == [(1, "s"), (2, "t")]
    flow = sbp.backprop(net).gradient_flow({"u": 0.5, "w": 1.5})
    assert flow["w"].paths == 2 and flow["s"].reference == "t"


def test_expression_size_is_limited():
    d = sbp.backprop(sbp.mlp([2, 3, 3, 1], level="scalar"))
    rng = np.random.default_rng(0)
    values = {"x": rng.normal(size=2), "y": 0.5, "W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=3),
              "W2": rng.normal(size=(3, 3)), "b2": rng.normal(size=3), "W3": rng.normal(size=(1, 3)), "b3": 0.0}
    flow = gradient_flow(d, values, max_expression_size=20)
    assert flow["W1"].expression is None and flow["h3"].expression is not None


def test_plot_needs_matplotlib_or_writes_a_png(tmp_path):
    flow = deep_chain(5, "sigmoid", 2.0).flow()
    target = tmp_path / "flow.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(ModuleNotFoundError, match="matplotlib"):
            plot_gradient_flow(flow, target)
        return
    plot_gradient_flow(flow, target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
