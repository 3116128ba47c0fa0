"""Both levels give PyTorch's numbers where the textbook formulas overflow or lose their digits.

The oracle is PyTorch in float64, computing the same network from its own functions
(``cross_entropy``, ``binary_cross_entropy``, ``sigmoid``, ``relu``); the tests skip
with the reason where PyTorch is not installed.  The gradient of the binary cross-entropy of a
sigmoid is exact where PyTorch's is not (its σ′ and clamped divisor lose the digits of 1 − σ(z)
beyond z ≈ 20): there the oracle is 50-digit mpmath.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.errors import UnsupportedFunctionError
from symbackprop.ops.stable import LogLikelihood

torch = pytest.importorskip("torch", reason="PyTorch float64 is the oracle (pip install torch==2.13.0)")
F = torch.nn.functional


def _torch_layer(values, loss):
    """L and ∂L/∂W1, ∂L/∂b1 of z = W1·x + b1 with the loss applied as PyTorch does."""
    W = torch.tensor(values["W1"], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(values["b1"], dtype=torch.float64).reshape(-1, 1).requires_grad_()
    x = torch.tensor(values["x"], dtype=torch.float64).reshape(-1, 1)
    y = torch.tensor(values["y"], dtype=torch.float64).reshape(-1, 1)
    z = W @ x + b
    if loss == "cross_entropy":
        value = F.cross_entropy(z.T, y.T)
    else:
        value = F.binary_cross_entropy(torch.sigmoid(z), y)
    value.backward()
    return value.item(), W.grad.numpy(), b.grad.numpy()


def _exact_sigmoid(z: float) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-mpmath.mpf(z)))


def _exact_bce_of_sigmoid_layer(values):
    """∂L/∂W1 and ∂L/∂b1 of the mean BCE of σ(W1·x + b1), (σ(z) − y)/n, in 50-digit arithmetic."""
    with mpmath.workdps(50):
        x = [mpmath.mpf(v) for v in values["x"]]
        rows = [sum(mpmath.mpf(w) * xi for w, xi in zip(row, x)) + mpmath.mpf(b)
                for row, b in zip(values["W1"], values["b1"])]
        slopes = [(_exact_sigmoid(z) - mpmath.mpf(y)) / len(rows) for z, y in zip(rows, values["y"])]
        grad_W = np.array([[float(s * xi) for xi in x] for s in slopes])
        return grad_W, np.array([[float(s)] for s in slopes])


# logits of ±800 overflow exp; σ(±40) is 1.0 or 4e-18, where log(1 − p) is −inf without the clamp
TAILS = [
    ("cross_entropy", [[800.0, 0.0], [-800.0, 0.0], [0.0, 1.0]], [0.0, 1.0, 0.0]),
    ("cross_entropy", [[800.0, 0.0], [-800.0, 0.0], [0.0, 1.0]], [0.2, 0.5, 0.3]),
    ("binary_cross_entropy", [[40.0, 0.0], [-40.0, 0.0], [0.0, 1.0]], [0.0, 1.0, 0.3]),
    ("binary_cross_entropy", [[40.0, 0.0], [-40.0, 0.0], [0.0, 1.0]], [1.0, 0.0, 1.0]),
    ("binary_cross_entropy", [[28.0, 0.0], [-25.0, 0.0], [0.0, -3.0]], [0.0, 1.0, 0.3]),
]


@pytest.mark.parametrize("level", ["vector", "scalar"])
@pytest.mark.parametrize("loss, weights, target", TAILS)
def test_losses_in_the_tails_equal_pytorchs_at_both_levels(loss, weights, target, level):
    output = "identity" if loss == "cross_entropy" else "sigmoid"
    net = sbp.mlp([2, 3], loss=loss, output_activation=output, level=level)
    values = {"x": [1.0, 0.5], "W1": weights, "b1": [0.0, 0.0, 0.0], "y": target}
    evaluation = sbp.backprop(net).evaluate(values)
    loss_value, grad_W, grad_b = _torch_layer(values, loss)
    if loss == "binary_cross_entropy":  # PyTorch's σ′ and clamped divisor lose ∂L/∂z there: the exact numbers
        grad_W, grad_b = _exact_bce_of_sigmoid_layer(values)
    assert evaluation.forward["L"] == pytest.approx(loss_value, rel=1e-12)
    np.testing.assert_allclose(evaluation.grad["W1"], grad_W, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(np.reshape(evaluation.grad["b1"], (-1, 1)), grad_b, rtol=1e-12, atol=1e-300)


def test_cross_entropy_of_the_wrong_class_at_logits_800_is_about_1600():
    net = sbp.mlp([1, 2], loss="cross_entropy", output_activation="identity", level="scalar")
    values = {"x": [1.0], "W1": [[800.0], [-800.0]], "b1": [0.0, 0.1], "y": [0.0, 1.0]}
    ev = sbp.backprop(net).evaluate(values)
    # log(e^800 + e^−799.9) + 799.9, by hand: the second exponential is e^−1599.9 times the first
    assert ev.forward["L"] == pytest.approx(1599.9, rel=1e-15)
    assert ev.grad["b1"].ravel() == pytest.approx([1.0, -1.0], rel=1e-15)


@pytest.mark.parametrize("target", [0.0, 1.0, 0.3])
@pytest.mark.parametrize("level", ["vector", "scalar"])
def test_bce_of_a_sigmoid_has_the_exact_logit_gradient_to_1e_12(target, level):
    net = sbp.Network()
    z = net.input("z", (1, 1) if level == "vector" else None)
    y = net.input("y", (1, 1) if level == "vector" else None)
    p = net.node("p", sbp.sigmoid(z))
    if level == "vector":
        net.loss("L", sbp.binary_cross_entropy(p, y))
    else:
        net.loss("L", -LogLikelihood(p, y))
    derivation = sbp.backprop(net)
    worst = 0.0
    for logit in np.linspace(-30.0, 30.0, 61):
        ours = float(np.ravel(derivation.evaluate({"z": logit, "y": target}).grad["z"])[0])
        with mpmath.workdps(50):  # PyTorch's BCELoss∘σ keeps 11 digits at 26 and none beyond 37
            exact = _exact_sigmoid(logit) - mpmath.mpf(target)
            worst = max(worst, float(abs((mpmath.mpf(ours) - exact) / exact)))
    assert worst <= 1e-12


@pytest.mark.parametrize("body", [sp.Max(sp.Symbol("t"), 0), sp.Max(0, sp.Symbol("t"))])
@pytest.mark.parametrize("level", ["vector", "scalar"])
def test_max_with_zero_is_relu_with_pytorchs_derivative_at_zero(body, level):
    activation = sbp.elementwise(sp.Lambda(sp.Symbol("t"), body))
    net = sbp.mlp([1, 3], activation="identity", output_activation=activation, loss="half_squared_error",
                  level=level)
    values = {"x": [1.0], "W1": [[1.0], [1.0], [1.0]], "b1": [-1.0, 0.0, 2.0], "y": [0.5, -1.0, 1.0]}
    ours = sbp.backprop(net).evaluate(values).grad["b1"].ravel()
    z = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64, requires_grad=True)  # W1·x + b1
    (0.5 * ((torch.relu(z) - torch.tensor([0.5, -1.0, 1.0], dtype=torch.float64)) ** 2).sum()).backward()
    np.testing.assert_allclose(ours, z.grad.numpy(), rtol=1e-15)
    assert ours[0] == 0.0  # at z = 0: ReLU's convention, not SymPy's Heaviside(0) = ½


def test_other_kinks_are_refused_in_an_element_wise_function():
    # a scalar node may take sp.Max of scalars (tests/test_scalar_extrema.py); a function of one variable may not
    t = sp.Symbol("t")
    with pytest.raises(UnsupportedFunctionError, match="Max"):
        sbp.elementwise(sp.Lambda(t, sp.Max(t, 1)))
    net = sbp.Network()
    z, a = net.input("z", (2, 1)), net.input("a")
    with pytest.raises(UnsupportedFunctionError, match="a scalar node of its own for sp.Max"):
        net.node("h", z * sp.Max(a, 1))  # inside a tensor expression: name the maximum first
