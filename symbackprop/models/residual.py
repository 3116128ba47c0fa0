"""A residual block: the input added back to a two-layer transform of itself."""

from __future__ import annotations

from typing import Any

from ..network import Network
from .handles import TensorHandles
from .options import check_loss, loss_value, resolve_activation, size


def residual_block(d: int, hidden: int | None = None, activation: Any = "relu",
                   loss: str = "half_squared_error") -> Network:
    """out = x + W2·f(W1·x + b1) + b2, for a column x of d features (a batch is a leading axis).

    Names: x (d×1), W1 (hidden×d), b1, z1 = W1·x + b1, h1 = f(z1), W2 (d×hidden), b2,
    z2 = W2·h1 + b2 (the residual branch), out = x + z2; the loss L compares out with the
    target y (d×1).  ``hidden`` defaults to d.
    """
    d = size("d", d)
    hidden = size("hidden", hidden, optional=True) or d
    f = resolve_activation(activation)
    check_loss(loss)
    net = TensorHandles(d, hidden)
    x = net.input("x", (d, 1))
    y = net.input("y", (d, 1))
    W1 = net.param("W1", (hidden, d))
    b1 = net.param("b1", (hidden, 1))
    W2 = net.param("W2", (d, hidden))
    b2 = net.param("b2", (d, 1))
    z1 = net.node("z1", W1 @ x + b1)
    h1 = net.node("h1", f(z1))
    z2 = net.node("z2", W2 @ h1 + b2)
    out = net.node("out", x + z2)
    net.loss("L", loss_value(loss, out, y))
    return net.network
