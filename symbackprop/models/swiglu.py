"""The SwiGLU feed-forward block of LLaMA and Qwen: a SiLU gate times a linear branch."""

from __future__ import annotations

from ..network import Network
from ..ops.gated import silu
from .handles import TensorHandles
from .options import check_loss, loss_value, size


def swiglu_mlp(d_model: int, d_ff: int, loss: str = "half_squared_error") -> Network:
    """out = W2·(SiLU(W1·x) ⊙ W3·x), without biases, for a column x of d_model features.

    Names: x (d_model×1), W1 (d_ff×d_model, the gate), W3 (d_ff×d_model, the up projection),
    W2 (d_model×d_ff, the down projection), a = W1·x, g = SiLU(a), u = W3·x, h = g ⊙ u,
    out = W2·h; the loss L compares out with the target y (d_model×1).
    """
    d_model, d_ff = size("d_model", d_model), size("d_ff", d_ff)
    check_loss(loss)
    net = TensorHandles(d_model, d_ff)
    x = net.input("x", (d_model, 1))
    y = net.input("y", (d_model, 1))
    W1 = net.param("W1", (d_ff, d_model))
    W3 = net.param("W3", (d_ff, d_model))
    W2 = net.param("W2", (d_model, d_ff))
    a = net.node("a", W1 @ x)
    g = net.node("g", silu(a))
    u = net.node("u", W3 @ x)
    h = net.node("h", g * u)
    out = net.node("out", W2 @ h)
    net.loss("L", loss_value(loss, out, y))
    return net.network
