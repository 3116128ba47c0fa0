"""A pre-LN transformer encoder block: multi-head self-attention, then a GELU feed-forward network,
each added back to its input after a layer normalisation of it."""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..errors import NetworkError
from ..network import Network
from ..ops.gated import gelu
from ..ops.softmax import softmax
from ..tensor import concat
from .attention import OVER_EACH_ROW
from .handles import TensorHandles
from .layernorm import LAYER_NORM_EPS, normalised
from .options import check_loss, epsilon, loss_value, size

#: The tokens' features: a layer normalisation normalises each row (token) over its d features.
EACH_TOKEN = 1

#: The heads' outputs side by side, d_head columns each.
SIDE_BY_SIDE = 1


def transformer_block(d: int, T: int = 3, heads: int = 2, d_ff: int | None = None,  # noqa: N803
                      eps: float = LAYER_NORM_EPS, loss: str = "half_squared_error") -> Network:
    """R = X + MHA(LN₁(X)), out = R + GELU(LN₂(R) W_1 + b_1) W_2 + b_2, as
    ``nn.TransformerEncoderLayer(d, heads, dim_feedforward=d_ff, dropout=0, activation="gelu",
    norm_first=True, batch_first=True)`` on one sequence.

    Rows are tokens, as in :func:`~symbackprop.models.attention_head`: X is T×d, and every weight
    multiplies from the right (a row vector times W), so each W here is the transpose of the
    PyTorch module's ``weight``; each bias is a row (1×n) added to every token.  ``heads`` must
    divide d; each head works in d_head = d / heads dimensions.  ``d_ff`` (the feed-forward
    width, PyTorch's ``dim_feedforward``) defaults to 4·d; GELU is the exact one (erf), PyTorch's
    ``"gelu"``; ``eps`` is both layer normalisations' (PyTorch's ``layer_norm_eps``).

    Names: X (T×d); gamma1, beta1 (1×d) and the nodes mu1, xc1, var1, sigma1, xhat1 and ln1 (T×d)
    of the first layer normalisation; per head j = 1 … heads: W_qj, W_kj, W_vj (d×d_head), b_qj,
    b_kj, b_vj (1×d_head), Qj = ln1 W_qj + b_qj, Kj, Vj (T×d_head), Sj = Qj Kjᵀ/√d_head (T×T),
    Aj = softmax(Sj, axis=1), Hj = Aj Vj (T×d_head); heads = [H1 … H_heads] (T×d); W_o (d×d),
    b_o (1×d), attn = heads W_o + b_o; R = X + attn; gamma2, beta2 and mu2 … xhat2, ln2 of the second
    layer normalisation of R; W_1 (d×d_ff), b_1 (1×d_ff), F = ln2 W_1 + b_1, G = GELU(F), W_2
    (d_ff×d), b_2 (1×d), ffn = G W_2 + b_2; out = R + ffn (T×d); the loss L compares out with the
    target y (T×d).  PyTorch's in_proj_weight is [W_q; W_k; W_v] with the heads' columns side by
    side, transposed: W_qj = in_proj_weight[:d].T[:, (j−1)·d_head : j·d_head].
    """
    d, T, heads = size("d", d), size("T", T), size("heads", heads)  # noqa: N806
    d_ff = size("d_ff", d_ff, optional=True) or 4 * d
    eps = epsilon(eps)
    check_loss(loss)
    if d % heads:
        raise NetworkError(f"heads must divide d: {heads} heads of a {d}-dimensional model")
    d_head = d // heads
    net = TensorHandles(d, T, d // heads, d_ff)
    X = net.input("X", (T, d))  # noqa: N806
    y = net.input("y", (T, d))
    ln1 = normalised(net, X, net.param("gamma1", (1, d)), net.param("beta1", (1, d)), EACH_TOKEN, eps, "ln1", "1")
    outputs = [_head(net, ln1, j, d, d_head) for j in range(1, heads + 1)]
    joined = net.node("heads", concat(outputs, axis=SIDE_BY_SIDE) if heads > 1 else outputs[0])
    attn = net.node("attn", joined @ net.param("W_o", (d, d)) + net.param("b_o", (1, d)))
    R = net.node("R", X + attn)  # noqa: N806
    ln2 = normalised(net, R, net.param("gamma2", (1, d)), net.param("beta2", (1, d)), EACH_TOKEN, eps, "ln2", "2")
    F = net.node("F", ln2 @ net.param("W_1", (d, d_ff)) + net.param("b_1", (1, d_ff)))  # noqa: N806
    G = net.node("G", gelu(F))  # noqa: N806
    ffn = net.node("ffn", G @ net.param("W_2", (d_ff, d)) + net.param("b_2", (1, d)))
    out = net.node("out", R + ffn)
    net.loss("L", loss_value(loss, out, y))
    return net.network


def _head(net: TensorHandles, x: Any, j: int, d: int, d_head: int) -> Any:
    """Head j's scaled dot-product attention of the rows of x, with its own projections."""
    projected = {}
    for kind in "qkv":
        weight = net.param(f"W_{kind}{j}", (d, d_head))
        bias = net.param(f"b_{kind}{j}", (1, d_head))
        projected[kind] = net.node(f"{kind.upper()}{j}", x @ weight + bias)
    scores = net.node(f"S{j}", (projected["q"] @ projected["k"].T) / sp.sqrt(d_head))
    weights = net.node(f"A{j}", softmax(scores, axis=OVER_EACH_ROW))
    return net.node(f"H{j}", weights @ projected["v"])
