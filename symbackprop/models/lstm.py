"""A long short-term memory network unrolled over T steps, as ``nn.LSTM``: four gates share one state."""

from __future__ import annotations

from ..network import Network
from ..ops.activations import sigmoid, tanh
from ..tensor import concat
from .handles import TensorHandles
from .options import check_loss, loss_value, size
from .recurrent import SIDE_BY_SIDE

#: PyTorch's order of the gates in weight_ih_l0, weight_hh_l0 and the biases: input, forget, cell, output.
GATES = ("i", "f", "g", "o")


def lstm(d_in: int, d_hidden: int, T: int = 3, loss: str = "half_squared_error") -> Network:  # noqa: N803
    """i, f, o = σ(W h_{t−1} + U x_t + b) per gate, g = tanh(…), c_t = f ⊙ c_{t−1} + i ⊙ g,
    h_t = o ⊙ tanh(c_t) for t = 1 … T, as ``nn.LSTM(d_in, d_hidden)``.

    As in :func:`~symbackprop.models.rnn`, the sequence is one input X (d_in×T) whose column t is x_t,
    and h0, c0 (d_hidden×1) are the initial hidden and cell states, inputs.  Names: X, h0, c0; per gate
    k in i, f, g, o (PyTorch's order) W_k (d_hidden×d_hidden), U_k (d_hidden×d_in), b_k (d_hidden×1);
    then per step x1 = X[:, 0] …, i1 = σ(W_i h0 + U_i x1 + b_i), f1 = σ(W_f h0 + U_f x1 + b_f),
    g1 = tanh(W_g h0 + U_g x1 + b_g), o1 = σ(W_o h0 + U_o x1 + b_o), c1 = f1 ⊙ c0 + i1 ⊙ g1,
    h1 = o1 ⊙ tanh(c1), …, and out = [h1 … hT] (d_hidden×T); the loss L compares out with the target
    y (d_hidden×T).  PyTorch's weight_ih_l0 is [U_i; U_f; U_g; U_o] stacked, weight_hh_l0 the W_k
    stacked the same way, and each b_k is the sum of the two biases' rows for gate k.
    """
    d_in, d_hidden, T = size("d_in", d_in), size("d_hidden", d_hidden), size("T", T)  # noqa: N806
    check_loss(loss)
    net = TensorHandles(d_in, d_hidden, T)
    X = net.input("X", (d_in, T))  # noqa: N806
    h = net.input("h0", (d_hidden, 1))
    c = net.input("c0", (d_hidden, 1))
    y = net.input("y", (d_hidden, T))
    W = {k: net.param(f"W_{k}", (d_hidden, d_hidden)) for k in GATES}  # noqa: N806
    U = {k: net.param(f"U_{k}", (d_hidden, d_in)) for k in GATES}  # noqa: N806
    b = {k: net.param(f"b_{k}", (d_hidden, 1)) for k in GATES}
    states = []
    for t in range(1, T + 1):
        x = net.node(f"x{t}", X[:, t - 1])
        gate = {k: (tanh if k == "g" else sigmoid)(W[k] @ h + U[k] @ x + b[k]) for k in GATES}
        i, f, g, o = (net.node(f"{k}{t}", gate[k]) for k in GATES)
        c = net.node(f"c{t}", f * c + i * g)
        h = net.node(f"h{t}", o * tanh(c))
        states.append(h)
    out = net.node("out", concat(states, axis=SIDE_BY_SIDE) if T > 1 else states[0])
    net.loss("L", loss_value(loss, out, y))
    return net.network
