"""σ′ and the binary cross-entropy of a sigmoid, exact in both tails against 50-digit mpmath.

In floats σ(z) near 1 has lost the digits of 1 − σ(z) = σ(−z): five of them at z = 26, all of
them beyond z = 37.  σ′ is computed as σ(z)σ(−z), and BCE∘σ as one step from the logit,
(1 − y)σ(z) − yσ(−z), so ∂L/∂W keeps every digit at z = ±26 and ±40.
"""

import mpmath
import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.ops.stable import LogLikelihood

mpmath.mp.dps = 50
LOGITS = [26.0, -26.0, 40.0, -40.0]
X = (1.0, 0.5)


def _sigmoid(z: float) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-mpmath.mpf(z)))


def _weights(z: float) -> list[list[float]]:
    return [[z, 0.0]]  # z = W·x with x = (1, 0.5): exactly the logit


def _relative_error(ours: np.ndarray, exact: list[mpmath.mpf]) -> float:
    return max(float(abs((mpmath.mpf(float(o)) - e) / e)) for o, e in zip(np.ravel(ours), exact))


def _layer(output, *, level: str) -> sbp.Derivation:
    net = sbp.Network()
    elements = level == "scalar"
    x = net.input("x", (2, 1), elements=elements)
    y = net.input("y")
    W = net.param("W", (1, 2), elements=elements)
    z = net.node("z", (W @ x)[0, 0] if elements else W @ x)
    net.loss("L", output(net, z, y))
    return sbp.backprop(net)


def _sigmoid_then(loss):
    def output(net, z, y):
        return loss(net.node("p", sbp.sigmoid(z)), y)
    return output


@pytest.mark.parametrize("level", ["vector", "scalar"])
@pytest.mark.parametrize("z", LOGITS)
def test_the_sigmoids_derivative_alone(z, level):
    derivation = _layer(_sigmoid_then(lambda p, y: 3 * p if level == "scalar" else 3 * sbp.total(p)), level=level)
    grad = derivation.evaluate({"x": list(X), "y": 0.0, "W": _weights(z)}).grad["W"]
    slope = _sigmoid(z) * _sigmoid(-z)
    assert _relative_error(grad, [3 * slope * X[0], 3 * slope * X[1]]) <= 1e-12
    compiled = derivation.lambdify()(x=np.asarray(X), y=0.0, W=np.asarray(_weights(z)))["W"]
    assert _relative_error(compiled, [3 * slope * X[0], 3 * slope * X[1]]) <= 1e-12


def _bce(level: str):
    if level == "scalar":
        return lambda p, y: -LogLikelihood(p, y)
    return lambda p, y: sbp.binary_cross_entropy(p, y)


@pytest.mark.slow
@pytest.mark.parametrize("level", ["vector", "scalar"])
@pytest.mark.parametrize("target", [0.0, 1.0, 0.3])
@pytest.mark.parametrize("z", LOGITS)
def test_binary_cross_entropy_of_a_sigmoid(z, target, level):
    derivation = _layer(_sigmoid_then(_bce(level)), level=level)
    values = {"x": list(X), "y": target, "W": _weights(z)}
    exact = _sigmoid(z) - mpmath.mpf(target)
    expected = [exact * X[0], exact * X[1]]
    assert _relative_error(derivation.evaluate(values).grad["W"], expected) <= 1e-12
    compiled = derivation.lambdify()(x=np.asarray(X), y=target, W=np.asarray(_weights(z)))["W"]
    assert _relative_error(compiled, expected) <= 1e-12


@pytest.mark.parametrize("target", [0.0, 1.0])
@pytest.mark.parametrize("z", LOGITS)
def test_binary_cross_entropy_on_logits(z, target):
    derivation = _layer(lambda net, z, y: sbp.bce_with_logits(z, y), level="vector")
    exact = _sigmoid(z) - mpmath.mpf(target)
    grad = derivation.evaluate({"x": list(X), "y": target, "W": _weights(z)}).grad["W"]
    assert _relative_error(grad, [exact * X[0], exact * X[1]]) <= 1e-12


def test_a_batch_of_logits_in_both_tails_through_the_compiled_gradient():
    derivation = _layer(_sigmoid_then(_bce("vector")), level="vector")
    logits = np.array([26.0, -26.0, 40.0, -40.0, 0.5])
    targets = np.array([1.0, 0.0, 0.0, 1.0, 0.3])
    x = np.stack([np.array([[1.0], [0.0]])] * len(logits))
    W = np.array([[1.0, 0.0]])
    # z = W·x = 1 for every sample: scale x instead so that each sample has its own logit
    x[:, 0, 0] = logits
    exact = sum((_sigmoid(z) - mpmath.mpf(t)) * mpmath.mpf(z) for z, t in zip(logits, targets)) / len(logits)
    for grad in (derivation.evaluate({"x": x, "y": targets, "W": W}).grad["W"],
                 derivation.lambdify()(x=x, y=targets, W=W)["W"]):
        assert float(abs((mpmath.mpf(float(grad[0, 0])) - exact) / exact)) <= 1e-12
