"""Ready-made networks: the multilayer perceptron of the reference page, at either level."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp

from . import functions as F
from .errors import NetworkError
from .network import Network
from .ops import ACTIVATIONS, loss_names, loss_op

LEVELS = ("vector", "scalar")


def _activation(spec: Any) -> F.Activation:
    if isinstance(spec, F.Activation):
        return spec
    if isinstance(spec, str):
        try:
            return ACTIVATIONS[spec]
        except KeyError:
            known = ", ".join(sorted(ACTIVATIONS))
            raise NetworkError(f"unknown activation {spec!r}; known: {known}") from None
    return F.elementwise(spec)


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
    if loss not in loss_names():
        raise NetworkError(f"unknown loss {loss!r}; known: {', '.join(loss_names())}")
    hidden, output = _activation(activation), _activation(output_activation)
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
    net.loss("L", _loss_value(loss, h, y))
    return net


def _loss_value(loss: str, h: Any, y: Any) -> Any:
    op = loss_op(loss)
    if isinstance(h, sp.MatrixBase):  # the scalar level writes the loss out element by element
        return op.written_out(list(zip(h, y)))
    return op(h, y)
