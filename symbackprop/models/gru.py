"""A gated recurrent unit network unrolled over T steps, as ``nn.GRU``: a reset and an update gate."""

from __future__ import annotations

from ..network import Network
from ..ops.activations import sigmoid, tanh
from ..tensor import concat
from .handles import TensorHandles
from .options import check_loss, loss_value, size
from .recurrent import SIDE_BY_SIDE


def gru(d_in: int, d_hidden: int, T: int = 3, loss: str = "half_squared_error") -> Network:  # noqa: N803
    """r = σ(W_r h_{t−1} + U_r x_t + b_r), z = σ(W_z h_{t−1} + U_z x_t + b_z),
    n = tanh(U_n x_t + b_in + r ⊙ (W_n h_{t−1} + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}, as ``nn.GRU``.

    As in :func:`~symbackprop.models.rnn`, the sequence is one input X (d_in×T) whose column t is x_t
    and h0 (d_hidden×1) is the initial state, an input.  Names: X, h0; per gate k in r, z, n
    (PyTorch's order) W_k (d_hidden×d_hidden) and U_k (d_hidden×d_in); b_r, b_z (d_hidden×1), each
    the sum of PyTorch's two biases for that gate; b_in and b_hn (d_hidden×1), the candidate's input
    and hidden biases, kept apart because the reset gate multiplies only b_hn; then per step
    x1 = X[:, 0] …, r1, z1, n1, h1, …, and out = [h1 … hT] (d_hidden×T); the loss L compares out with
    the target y (d_hidden×T).  PyTorch's weight_ih_l0 is [U_r; U_z; U_n] stacked, weight_hh_l0
    [W_r; W_z; W_n].
    """
    d_in, d_hidden, T = size("d_in", d_in), size("d_hidden", d_hidden), size("T", T)  # noqa: N806
    check_loss(loss)
    net = TensorHandles(d_in, d_hidden, T)
    X = net.input("X", (d_in, T))  # noqa: N806
    h = net.input("h0", (d_hidden, 1))
    y = net.input("y", (d_hidden, T))
    W = {k: net.param(f"W_{k}", (d_hidden, d_hidden)) for k in "rzn"}  # noqa: N806
    U = {k: net.param(f"U_{k}", (d_hidden, d_in)) for k in "rzn"}  # noqa: N806
    b_r, b_z = net.param("b_r", (d_hidden, 1)), net.param("b_z", (d_hidden, 1))
    b_in, b_hn = net.param("b_in", (d_hidden, 1)), net.param("b_hn", (d_hidden, 1))
    states = []
    for t in range(1, T + 1):
        x = net.node(f"x{t}", X[:, t - 1])
        r = net.node(f"r{t}", sigmoid(W["r"] @ h + U["r"] @ x + b_r))
        z = net.node(f"z{t}", sigmoid(W["z"] @ h + U["z"] @ x + b_z))
        n = net.node(f"n{t}", tanh(U["n"] @ x + b_in + r * (W["n"] @ h + b_hn)))
        h = net.node(f"h{t}", (1 - z) * n + z * h)
        states.append(h)
    out = net.node("out", concat(states, axis=SIDE_BY_SIDE) if T > 1 else states[0])
    net.loss("L", loss_value(loss, out, y))
    return net.network
