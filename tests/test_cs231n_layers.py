"""CS231n's layers written as the assignment writes them (rows are samples; images (N, C, H, W); sequences
(N, T, D)), each against PyTorch float64 and central finite differences: the gradient of sum(out ⊙ dout),
as the assignment checks a layer's backward pass with a random upstream gradient dout."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp

N, D, M, H = 4, 5, 3, 3
EPS = sp.Rational(1, 100000)


def _upstream(net: sbp.Network, out, shape) -> None:
    dout = net.input("dout", shape)
    net.loss("L", sbp.total(out * dout))


def affine() -> sbp.Network:
    net = sbp.Network()
    x, w, b = net.input("x", (N, D)), net.param("w", (D, M)), net.param("b", (1, M))
    _upstream(net, net.node("out", x @ w + b), (N, M))
    return net


def affine_relu() -> sbp.Network:
    net = sbp.Network()
    x, w, b = net.input("x", (N, D)), net.param("w", (D, M)), net.param("b", (1, M))
    a = net.node("a", x @ w + b)
    _upstream(net, net.node("out", sbp.relu(a)), (N, M))
    return net


def batchnorm() -> sbp.Network:
    """batchnorm_forward in training mode: the batch's mean and biased variance."""
    net = sbp.Network()
    x, gamma, beta = net.input("x", (N, D)), net.param("gamma", (1, D)), net.param("beta", (1, D))
    mu = net.node("mu", sbp.mean(x, axis=0))
    xc = net.node("xc", x - mu)
    var = net.node("var", sbp.mean(xc ** 2, axis=0))
    xhat = net.node("xhat", xc / sbp.sqrt(var + EPS))
    _upstream(net, net.node("out", gamma * xhat + beta), (N, D))
    return net


def layernorm() -> sbp.Network:
    net = sbp.Network()
    x, gamma, beta = net.input("x", (N, D)), net.param("gamma", (1, D)), net.param("beta", (1, D))
    mu = net.node("mu", sbp.mean(x, axis=1))
    xc = net.node("xc", x - mu)
    var = net.node("var", sbp.mean(xc ** 2, axis=1))
    xhat = net.node("xhat", xc / sbp.sqrt(var + EPS))
    _upstream(net, net.node("out", gamma * xhat + beta), (N, D))
    return net


def dropout() -> sbp.Network:
    """Inverted dropout with the mask given (training mode): out = x ⊙ mask / p."""
    net = sbp.Network()
    x, mask = net.input("x", (N, D)), net.input("mask", (N, D))
    w = net.param("w", (D, D))
    h = net.node("h", x @ w)
    _upstream(net, net.node("out", h * mask / sp.Rational(1, 2)), (N, D))
    return net


def svm_loss() -> sbp.Network:
    """The multiclass SVM loss with integer labels: Σ_{j≠y} max(0, s_j − s_y + 1), averaged.

    The assignment zeroes margins[range(N), y]; each of those margins is exactly max(0, 1) = 1,
    so the sum less N is the same number, and its gradient the same (the two terms of s_y cancel)."""
    net = sbp.Network()
    x, y = net.input("x", (N, D)), net.input("y", (N, 1))
    w = net.param("w", (D, M))
    scores = net.node("scores", x @ w)
    correct = net.node("correct", scores[range(N), y])
    margins = net.node("margins", sbp.relu(scores - correct + 1))
    net.loss("L", (sbp.total(margins) - N) / N)
    return net


def softmax_loss() -> sbp.Network:
    net = sbp.Network()
    x, y = net.input("x", (N, D)), net.input("y", (N, 1))
    w = net.param("w", (D, M))
    logprobs = net.node("logprobs", sbp.log_softmax(x @ w, axis=1))
    net.loss("L", -sbp.mean(logprobs[range(N), y]))
    return net


def rnn_step() -> sbp.Network:
    net = sbp.Network()
    x, prev_h = net.input("x", (N, D)), net.input("prev_h", (N, H))
    Wx, Wh, b = net.param("Wx", (D, H)), net.param("Wh", (H, H)), net.param("b", (1, H))  # noqa: N806
    _upstream(net, net.node("next_h", sbp.tanh(x @ Wx + prev_h @ Wh + b)), (N, H))
    return net


def lstm_step() -> sbp.Network:
    """lstm_step_forward: one affine map to 4H gates, sliced as the assignment slices them (i, f, o, g)."""
    net = sbp.Network()
    x, prev_h, prev_c = net.input("x", (N, D)), net.input("prev_h", (N, H)), net.input("prev_c", (N, H))
    Wx, Wh, b = net.param("Wx", (D, 4 * H)), net.param("Wh", (H, 4 * H)), net.param("b", (1, 4 * H))  # noqa: N806
    a = net.node("a", x @ Wx + prev_h @ Wh + b)
    i = net.node("i", sbp.sigmoid(a[:, 0:H]))
    f = net.node("f", sbp.sigmoid(a[:, H:2 * H]))
    o = net.node("o", sbp.sigmoid(a[:, 2 * H:3 * H]))
    g = net.node("g", sbp.tanh(a[:, 3 * H:4 * H]))
    next_c = net.node("next_c", f * prev_c + i * g)
    next_h = net.node("next_h", o * sbp.tanh(next_c))
    _upstream(net, next_h, (N, H))
    return net


def word_embedding() -> sbp.Network:
    """word_embedding_forward for one time step: out = W[x], rows of W picked by integer words."""
    net = sbp.Network()
    words = net.input("words", (N, 1))
    W = net.param("W", (7, D))  # noqa: N806
    _upstream(net, net.node("out", W[words]), (N, D))
    return net


TIME, VOCABULARY = 3, 7


def temporal_affine() -> sbp.Network:
    """temporal_affine_forward: x (N, T, D) times one w (D, M) at every time step, plus b."""
    net = sbp.Network()
    x, w, b = net.input("x", (N, TIME, D)), net.param("w", (D, M)), net.param("b", (1, M))
    _upstream(net, net.node("out", x @ w + b), (N, TIME, M))
    return net


def temporal_softmax_loss() -> sbp.Network:
    """temporal_softmax_loss as the assignment computes it: the scores flattened to (N·T, V), the log-probability
    of each step's word picked, masked, summed and divided by N."""
    net = sbp.Network()
    h, w = net.input("h", (N, TIME, D)), net.param("w", (D, M))
    y, mask = net.input("y", (N * TIME, 1)), net.input("mask", (N * TIME, 1))
    scores = net.node("scores", h @ w)
    flat = net.node("flat", scores.reshape(N * TIME, M))
    logprobs = net.node("logprobs", sbp.log_softmax(flat, axis=1))
    net.loss("L", -sbp.total(logprobs[range(N * TIME), y] * mask) / N)
    return net


def word_embedding_sequence() -> sbp.Network:
    """word_embedding_forward: words (N, T) of integers give W[words], (N, T, D)."""
    net = sbp.Network()
    words = net.input("words", (N, TIME))
    W = net.param("W", (VOCABULARY, D))  # noqa: N806
    _upstream(net, net.node("out", W[words]), (N, TIME, D))
    return net


def conv_relu_pool() -> sbp.Network:
    """conv_relu_pool_forward with conv_param {stride: 1, pad: 1} and a 2×2 max-pool of stride 2, on (N, C, H, W)."""
    net = sbp.Network()
    x = net.input("x", (2, 2, 4, 4))
    w, b = net.param("w", (3, 2, 3, 3)), net.param("b", (3, 1))
    a = net.node("a", sbp.conv2d(x, w, b, stride=1, padding=1))
    r = net.node("r", sbp.relu(a))
    _upstream(net, net.node("out", sbp.max_pool2d(r, 2)), (2, 3, 2, 2))
    return net


def conv_strided() -> sbp.Network:
    """conv_forward_naive with stride 2 and pad 1, as the assignment's first conv test."""
    net = sbp.Network()
    x = net.input("x", (2, 3, 5, 5))
    w, b = net.param("w", (2, 3, 3, 3)), net.param("b", (2, 1))
    _upstream(net, net.node("out", sbp.conv2d(x, w, b, stride=2, padding=1)), (2, 2, 3, 3))
    return net


# -- the oracles: the same layers in PyTorch, and in NumPy for finite differences -------------------


def _torch_layers(torch) -> dict[str, Callable]:
    F = torch.nn.functional  # noqa: N806
    eps = 1e-5

    def norm(v, gamma, beta, dim):
        mu = v.mean(dim, keepdim=True)
        return gamma * (v - mu) / torch.sqrt(((v - mu) ** 2).mean(dim, keepdim=True) + eps) + beta

    def lstm(v):
        a = v["x"] @ v["Wx"] + v["prev_h"] @ v["Wh"] + v["b"]
        i, f, o, g = (torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H]), torch.sigmoid(a[:, 2 * H:3 * H]),
                      torch.tanh(a[:, 3 * H:]))
        return o * torch.tanh(f * v["prev_c"] + i * g)

    def labels(v):
        return v["y"][:, 0].long()

    return {
        "affine": lambda v: ((v["x"] @ v["w"] + v["b"]) * v["dout"]).sum(),
        "affine_relu": lambda v: (torch.relu(v["x"] @ v["w"] + v["b"]) * v["dout"]).sum(),
        "batchnorm": lambda v: (norm(v["x"], v["gamma"], v["beta"], 0) * v["dout"]).sum(),
        "layernorm": lambda v: (norm(v["x"], v["gamma"], v["beta"], 1) * v["dout"]).sum(),
        "dropout": lambda v: ((v["x"] @ v["w"]) * v["mask"] / 0.5 * v["dout"]).sum(),
        "svm_loss": lambda v: F.multi_margin_loss(v["x"] @ v["w"], labels(v), margin=1.0) * M,
        "softmax_loss": lambda v: F.cross_entropy(v["x"] @ v["w"], labels(v)),
        "rnn_step": lambda v: (torch.tanh(v["x"] @ v["Wx"] + v["prev_h"] @ v["Wh"] + v["b"]) * v["dout"]).sum(),
        "lstm_step": lambda v: (lstm(v) * v["dout"]).sum(),
        "word_embedding": lambda v: (F.embedding(v["words"][:, 0].long(), v["W"]) * v["dout"]).sum(),
        "temporal_affine": lambda v: ((v["x"] @ v["w"] + v["b"]) * v["dout"]).sum(),
        "temporal_softmax_loss": lambda v: (F.cross_entropy((v["h"] @ v["w"]).reshape(-1, M), labels(v),
                                                            reduction="none") * v["mask"][:, 0]).sum() / N,
        "word_embedding_sequence": lambda v: (F.embedding(v["words"].long(), v["W"]) * v["dout"]).sum(),
        "conv_relu_pool": lambda v: (F.max_pool2d(torch.relu(F.conv2d(v["x"], v["w"], v["b"][:, 0], padding=1)), 2)
                                     * v["dout"]).sum(),
        "conv_strided": lambda v: (F.conv2d(v["x"], v["w"], v["b"][:, 0], stride=2, padding=1) * v["dout"]).sum(),
    }


LAYERS = {f.__name__: f for f in (affine, affine_relu, batchnorm, layernorm, dropout, svm_loss, softmax_loss,
                                  rnn_step, lstm_step, word_embedding, temporal_affine, temporal_softmax_loss,
                                  word_embedding_sequence, conv_relu_pool, conv_strided)}
INTEGERS = {"y": M, "words": 7}


def _values(network: sbp.Network, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {}
    for q in network.quantities("input", "param"):
        if q.name in INTEGERS:
            values[q.name] = rng.integers(0, INTEGERS[q.name], size=q.shape)
        elif q.name == "mask":
            values[q.name] = (rng.random(q.shape) < 0.5).astype(float)
        else:
            values[q.name] = rng.normal(size=q.shape)
    return values


def _central_differences(loss: Callable[[dict], float], values: dict, name: str, step: float = 1e-6) -> np.ndarray:
    gradient = np.zeros_like(values[name], dtype=float)
    for index in np.ndindex(gradient.shape):
        plus, minus = ({**values, name: np.array(values[name], dtype=float)} for _ in range(2))
        plus[name][index] += step
        minus[name][index] -= step
        gradient[index] = (loss(plus) - loss(minus)) / (2 * step)
    return gradient


@pytest.mark.parametrize("layer", sorted(LAYERS))
@pytest.mark.parametrize("seed", [0, 1])
def test_each_layer_against_finite_differences(layer, seed):
    derivation = sbp.backprop(LAYERS[layer]())
    values = _values(derivation.network, seed)
    gradient = derivation.lambdify()

    def loss(v):
        return float(np.sum(derivation.evaluate(v).forward[derivation.loss]))

    evaluation = derivation.evaluate(values)
    for name in values:
        if name in INTEGERS or name in ("mask", "dout"):
            continue
        expected = _central_differences(loss, values, name)
        np.testing.assert_allclose(evaluation.grad[name], expected, rtol=1e-5, atol=1e-7, err_msg=f"{layer} {name}")
    for name, value in gradient(**values).items():
        if name in INTEGERS:
            continue
        np.testing.assert_allclose(value, evaluation.grad[name], rtol=1e-12, atol=1e-14, err_msg=f"{layer} {name}")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("layer", sorted(LAYERS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_layer_against_pytorch(layer, seed):
    import torch

    derivation = sbp.backprop(LAYERS[layer]())
    values = _values(derivation.network, seed)
    tensors = {k: torch.tensor(np.asarray(v, dtype=float), dtype=torch.float64, requires_grad=k not in INTEGERS)
               for k, v in values.items()}
    loss = _torch_layers(torch)[layer](tensors)
    loss.backward()
    evaluation = derivation.evaluate(values)
    assert float(evaluation.forward[derivation.loss]) == pytest.approx(loss.item(), rel=1e-12, abs=1e-12)
    for name, tensor in tensors.items():
        if name in INTEGERS:
            continue
        np.testing.assert_allclose(evaluation.grad[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"{layer} {name}")
