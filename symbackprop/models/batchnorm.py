"""Batch normalisation in training mode: each feature centred and scaled over the samples of the batch."""

from __future__ import annotations

from ..errors import NetworkError
from ..network import Network
from ..ops.elementwise_math import sqrt
from ..tensor import mean
from .handles import TensorHandles
from .layernorm import LAYER_NORM_EPS
from .options import check_loss, epsilon, loss_value, size

#: Over the rows (the samples): each column's, that is each feature's, mean and variance.
OVER_THE_SAMPLES = 0

#: PyTorch's default for nn.BatchNorm1d, the same as nn.LayerNorm's.
BATCH_NORM_EPS = LAYER_NORM_EPS


def batch_norm(d: int, N: int, *, eps: float = BATCH_NORM_EPS,  # noqa: N803 - N, the batch size
               loss: str = "half_squared_error") -> Network:
    """out = γ ⊙ (X − μ)/√(σ² + ε) + β over the N samples, as ``nn.BatchNorm1d(d)`` in training mode.

    The whole batch is one input X (N×d), a sample per row: the statistics couple the samples, so
    they are one network's input rather than a batch axis. μ and σ² are rows (1×d), each feature's
    mean and biased variance (divided by N) over the batch, as PyTorch normalises with; γ and β
    are rows (1×d), the module's ``weight`` and ``bias``.  The running statistics, which training
    mode only updates, play no part in the gradient.

    Names: X (N×d), gamma (1×d), beta (1×d), mu = mean of each column, xc = X − mu,
    var = mean of each column of xc², sigma = √(var + eps), xhat = xc / sigma,
    out = gamma ⊙ xhat + beta (N×d); the loss L compares out with the target y (N×d).
    """
    d, N = size("d", d), size("N", N)  # noqa: N806
    if N < 2:  # one sample is its own mean: every output would be β whatever X, and PyTorch refuses it too
        raise NetworkError(f"batch_norm needs a batch of at least 2 samples to take statistics over, got N = {N}")
    eps = epsilon(eps)
    check_loss(loss)
    net = TensorHandles(d, N)
    X = net.input("X", (N, d))  # noqa: N806
    y = net.input("y", (N, d))
    gamma = net.param("gamma", (1, d))
    beta = net.param("beta", (1, d))
    mu = net.node("mu", mean(X, OVER_THE_SAMPLES))
    xc = net.node("xc", X - mu)
    var = net.node("var", mean(xc ** 2, OVER_THE_SAMPLES))
    sigma = net.node("sigma", sqrt(var + eps))
    xhat = net.node("xhat", xc / sigma)
    out = net.node("out", gamma * xhat + beta)
    net.loss("L", loss_value(loss, out, y))
    return net.network
