"""Layer normalisation: each sample's features centred, scaled to unit variance, then scaled and shifted."""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..network import Network
from ..ops.elementwise_math import sqrt
from ..tensor import mean
from .handles import TensorHandles
from .options import check_loss, epsilon, loss_value, size

#: PyTorch's default for nn.LayerNorm and F.layer_norm.
LAYER_NORM_EPS = 1e-5


def layer_norm(d: int, *, T: int | None = None, eps: float = LAYER_NORM_EPS,  # noqa: N803 - T, the sequence length
               loss: str = "half_squared_error") -> Network:
    """out = γ ⊙ (x − μ)/√(σ² + ε) + β over the d features, as ``F.layer_norm(x, (d,), γ, β, eps)``.

    Without ``T`` the input is a column x (d×1) and μ, σ² are scalars; with ``T`` it is a matrix X
    (T×d) of T tokens, each row normalised over its d features, μ and σ² columns (T×1) and γ, β rows
    (1×d) shared by every row.  The variance is the biased one (divided by d), as PyTorch's.

    Names: x or X, gamma, beta, mu = mean of the features, xc = x − mu, var = mean of xc²,
    sigma = √(var + eps), xhat = xc / sigma, out = gamma ⊙ xhat + beta; the loss L compares
    out with the target y of out's shape.
    """
    d = size("d", d)
    T = size("T", T, optional=True)  # noqa: N806
    eps = epsilon(eps)
    check_loss(loss)
    rows = T is not None
    axis = 1 if rows else None  # each row's features, or all of the column's
    shape = (T, d) if rows else (d, 1)
    parameter_shape = (1, d) if rows else (d, 1)
    net = TensorHandles(d, T or 2)
    x = net.input("X" if rows else "x", shape)
    y = net.input("y", shape)
    gamma = net.param("gamma", parameter_shape)
    beta = net.param("beta", parameter_shape)
    out = normalised(net, x, gamma, beta, axis, eps, "out")
    net.loss("L", loss_value(loss, out, y))
    return net.network


def normalised(net: TensorHandles, x: Any, gamma: Any, beta: Any, axis: int | None, eps: sp.Rational, name: str,
               suffix: str = "") -> Any:
    """The nodes mu, xc, var, sigma, xhat (each name followed by ``suffix``) and ``name`` = γ ⊙ x̂ + β."""
    mu = net.node(f"mu{suffix}", mean(x, axis))
    xc = net.node(f"xc{suffix}", x - mu)
    var = net.node(f"var{suffix}", mean(xc ** 2, axis))
    sigma = net.node(f"sigma{suffix}", sqrt(var + eps))
    xhat = net.node(f"xhat{suffix}", xc / sigma)
    return net.node(name, gamma * xhat + beta)
