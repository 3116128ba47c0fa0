"""The multilayer perceptron of the reference page, at either level."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp

from ..errors import NetworkError
from ..network import Network
from .options import check_loss, loss_value, resolve_activation

LEVELS = ("vector", "scalar")


def mlp(sizes: Sequence[int], activation: Any = "relu", output_activation: Any = "relu",
        loss: str = "half_squared_error", *, level: str = "vector") -> Network:
    """A fully connected network with the reference page's names.

    ``sizes = [inputs, hidden…, outputs]``; layer k computes zk = Wk·h(k−1) + bk and
    hk = f(zk) (h0 is x, the last layer uses ``output_activation``); the loss
    compares the last h with the target y.  ``level="scalar"`` declares every
    weight as its own symbol and every neuron as its own node; values are still
    passed as the arrays W1, b1, ….
    """
    if level not in LEVELS:
        raise NetworkError(f"unknown level {level!r}; use 'vector' or 'scalar'")
    if len(sizes) < 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise NetworkError(f"sizes must be at least two positive integers, got {list(sizes)!r}")
    check_loss(loss)
    hidden, output = resolve_activation(activation), resolve_activation(output_activation)
    elements = level == "scalar"
    net = Network()
    h = net.input("x", (sizes[0], 1), elements=elements)
    y = net.input("y", (sizes[-1], 1), elements=elements)
    layers = len(sizes) - 1
    for k in range(1, layers + 1):
        W = net.param(f"W{k}", (sizes[k], sizes[k - 1]), elements=elements)
        b = net.param(f"b{k}", (sizes[k], 1), elements=elements)
        product = W * h if isinstance(W, sp.Expr) and isinstance(h, sp.Expr) else W @ h  # 1×1 layers
        if isinstance(product, sp.MatrixBase) and not isinstance(b, sp.MatrixBase):
            b = sp.ImmutableMatrix([[b]])  # a one-neuron layer at the scalar level
        z = net.node(f"z{k}", product + b)
        h = net.node(f"h{k}", (output if k == layers else hidden)(z))
    net.loss("L", loss_value(loss, h, y))
    return net
