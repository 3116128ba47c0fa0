"""A recurrent network unrolled over T steps: one W, U and b shared by every step."""

from __future__ import annotations

from ..network import Network
from ..ops.activations import tanh
from ..tensor import concat
from .handles import TensorHandles
from .options import check_loss, loss_value, size

SIDE_BY_SIDE = 1


def rnn(d_in: int, d_hidden: int, T: int = 3, loss: str = "half_squared_error") -> Network:  # noqa: N803
    """h_t = tanh(W h_{t−1} + U x_t + b) for t = 1 … T, as ``nn.RNN(d_in, d_hidden, nonlinearity="tanh")``.

    The sequence is one input X (d_in×T) whose column t is x_t; h0 (d_hidden×1) is the initial state,
    an input.  Names: X, h0, W (d_hidden×d_hidden), U (d_hidden×d_in), b (d_hidden×1), then per step
    x1 = X[:, 0] …, z1 = W h0 + U x1 + b, h1 = tanh(z1), …, and out = [h1 … hT] (d_hidden×T, every
    state side by side); the loss L compares out with the target y (d_hidden×T).  W, U and b are
    used at every step, so their gradients are sums over the steps: backpropagation through time.
    PyTorch's two biases b_ih + b_hh are the one b here.
    """
    d_in, d_hidden, T = size("d_in", d_in), size("d_hidden", d_hidden), size("T", T)  # noqa: N806
    check_loss(loss)
    net = TensorHandles(d_in, d_hidden, T)
    X = net.input("X", (d_in, T))  # noqa: N806
    h = net.input("h0", (d_hidden, 1))
    y = net.input("y", (d_hidden, T))
    W = net.param("W", (d_hidden, d_hidden))  # noqa: N806
    U = net.param("U", (d_hidden, d_in))  # noqa: N806
    b = net.param("b", (d_hidden, 1))
    states = []
    for t in range(1, T + 1):
        x = net.node(f"x{t}", X[:, t - 1])
        z = net.node(f"z{t}", W @ h + U @ x + b)
        h = net.node(f"h{t}", tanh(z))
        states.append(h)
    out = net.node("out", concat(states, axis=SIDE_BY_SIDE) if T > 1 else states[0])
    net.loss("L", loss_value(loss, out, y))
    return net.network
