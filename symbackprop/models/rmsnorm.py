"""RMS normalisation (LLaMA, Qwen): each sample's features divided by their root mean square, then scaled."""

from __future__ import annotations

import sympy as sp

from ..network import Network
from ..ops.elementwise_math import sqrt
from ..tensor import mean
from .handles import TensorHandles
from .options import check_loss, epsilon, loss_value, size

#: PyTorch's default eps for float64 input, torch.finfo(torch.float64).eps, exactly.
FLOAT64_EPS = sp.Rational(1, 2 ** 52)


def rms_norm(d: int, *, T: int | None = None, eps: float | None = None,  # noqa: N803 - T, the sequence length
             loss: str = "half_squared_error") -> Network:
    """out = γ ⊙ x / √(mean(x²) + ε) over the d features, as ``F.rms_norm(x, (d,), γ, eps)``.

    ``eps=None`` is PyTorch's default, the machine epsilon of float64 (2⁻⁵²).  Without ``T`` the
    input is a column x (d×1); with ``T`` a matrix X (T×d), each row normalised over its d
    features, with γ a row (1×d).

    Names: x or X, gamma, ms = mean of x², rms = √(ms + eps), xhat = x / rms,
    out = gamma ⊙ xhat; the loss L compares out with the target y of out's shape.
    """
    d = size("d", d)
    T = size("T", T, optional=True)  # noqa: N806
    eps = FLOAT64_EPS if eps is None else epsilon(eps)
    check_loss(loss)
    rows = T is not None
    axis = 1 if rows else None
    shape = (T, d) if rows else (d, 1)
    net = TensorHandles(d, T or 2)
    x = net.input("X" if rows else "x", shape)
    y = net.input("y", shape)
    gamma = net.param("gamma", (1, d) if rows else (d, 1))
    ms = net.node("ms", mean(x ** 2, axis))
    rms = net.node("rms", sqrt(ms + eps))
    xhat = net.node("xhat", x / rms)
    out = net.node("out", gamma * xhat)
    net.loss("L", loss_value(loss, out, y))
    return net.network
