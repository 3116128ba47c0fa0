"""One head of scaled dot-product self-attention over a sequence of T tokens."""

from __future__ import annotations

import sympy as sp

from ..network import Network
from ..ops.softmax import softmax
from .handles import TensorHandles
from .options import check_loss, loss_value, size

#: Each row of the scores normalised: token i's weights over the tokens it attends to.
OVER_EACH_ROW = 1


def attention_head(d: int, T: int = 3, d_k: int | None = None, d_v: int | None = None,  # noqa: N803
                   loss: str = "half_squared_error") -> Network:
    """out = softmax(Q Kᵀ/√d_k, axis=1) V with Q = X Wq, K = X Wk, V = X Wv, X of T tokens (T×d).

    As ``F.scaled_dot_product_attention(X Wq, X Wk, X Wv)`` without a mask.  ``d_k`` and ``d_v``
    default to d.  Names: X (T×d), Wq, Wk (d×d_k), Wv (d×d_v), Q, K, V, S = Q Kᵀ/√d_k (the
    scores, T×T), A = softmax(S, axis=1) (the attention weights, each row summing to 1),
    out = A V (T×d_v); the loss L compares out with the target y (T×d_v).
    """
    d = size("d", d)
    T = size("T", T)  # noqa: N806
    d_k = size("d_k", d_k, optional=True) or d
    d_v = size("d_v", d_v, optional=True) or d
    check_loss(loss)
    net = TensorHandles(d, T, d_k, d_v)
    X = net.input("X", (T, d))  # noqa: N806
    y = net.input("y", (T, d_v))
    Wq = net.param("Wq", (d, d_k))  # noqa: N806
    Wk = net.param("Wk", (d, d_k))  # noqa: N806
    Wv = net.param("Wv", (d, d_v))  # noqa: N806
    Q = net.node("Q", X @ Wq)  # noqa: N806
    K = net.node("K", X @ Wk)  # noqa: N806
    V = net.node("V", X @ Wv)  # noqa: N806
    S = net.node("S", (Q @ K.T) / sp.sqrt(d_k))  # noqa: N806
    A = net.node("A", softmax(S, axis=OVER_EACH_ROW))  # noqa: N806
    out = net.node("out", A @ V)
    net.loss("L", loss_value(loss, out, y))
    return net.network
