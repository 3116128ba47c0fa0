"""The rules of softmax and log-softmax, written as the textbook writes them, with 1 a vector of ones.

For s = softmax(z) of a column, ∂L/∂z = s ⊙ (g − 1 (sᵀ g)): the Jacobian
diag(s) − s sᵀ applied to g, without forming it.  Row by row, for a matrix
A = softmax(Z) (attention), ∂L/∂Z = A ⊙ (G − (G ⊙ A) 1 1ᵀ); column by column,
A ⊙ (G − 1 (1ᵀ (G ⊙ A))).  For log-softmax, whose Jacobian is I − 1 sᵀ,
∂L/∂z = g − s (1ᵀ g), and G − softmax(Z) ⊙ (G 1 1ᵀ) row by row.  Where the
softmax is a named node, s is that node's stored value.
"""

from __future__ import annotations

from .. import tensor as T
from ..tensor.softmax import DOWN_COLUMNS, LogSoftmax, Normalised, Softmax
from .registry import Product, Pull, register, vjp

register("softmax",
         r"softmax passes $s \odot (g - \mathbf{1} (s^{\top} g))$: the gradient minus its $s$-weighted mean, "
         r"times $s$",
         r"소프트맥스: gradient에서 $s$로 가중한 평균을 빼고 $s$를 원소별로 곱함, "
         r"$s \odot (g - \mathbf{1} (s^{\top} g))$")
register("softmax_rows",
         r"softmax row by row passes $A \odot (G - (G \odot A) \mathbf{1} \mathbf{1}^{\top})$: in each row the "
         r"gradient minus its $A$-weighted mean, times $A$",
         r"행별 소프트맥스: 각 행에서 gradient의 $A$ 가중 평균을 빼고 $A$를 원소별로 곱함, "
         r"$A \odot (G - (G \odot A) \mathbf{1} \mathbf{1}^{\top})$")
register("softmax_columns",
         r"softmax column by column passes $A \odot (G - \mathbf{1} (\mathbf{1}^{\top} (G \odot A)))$: in each "
         r"column the gradient minus its $A$-weighted mean, times $A$",
         r"열별 소프트맥스: 각 열에서 gradient의 $A$ 가중 평균을 빼고 $A$를 원소별로 곱함, "
         r"$A \odot (G - \mathbf{1} (\mathbf{1}^{\top} (G \odot A)))$")
register("log_softmax",
         r"log-softmax passes $g - \operatorname{softmax}(z) (\mathbf{1}^{\top} g)$: the gradient minus softmax "
         r"times its sum",
         r"로그 소프트맥스: gradient에서 $\operatorname{softmax}(z)$와 gradient 합의 곱을 뺌, "
         r"$g - \operatorname{softmax}(z) (\mathbf{1}^{\top} g)$")
register("log_softmax_rows",
         r"log-softmax row by row passes $G - \operatorname{softmax}(Z) \odot (G \mathbf{1} \mathbf{1}^{\top})$: "
         r"in each row the gradient minus softmax times the row's sum",
         r"행별 로그 소프트맥스: 각 행에서 gradient에서 softmax와 그 행 합의 곱을 뺌, "
         r"$G - \operatorname{softmax}(Z) \odot (G \mathbf{1} \mathbf{1}^{\top})$")
register("log_softmax_columns",
         r"log-softmax column by column passes "
         r"$G - \operatorname{softmax}(Z) \odot (\mathbf{1} (\mathbf{1}^{\top} G))$: in each column the gradient minus "
         r"softmax times the column's sum",
         r"열별 로그 소프트맥스: 각 열에서 gradient에서 softmax와 그 열 합의 곱을 뺌, "
         r"$G - \operatorname{softmax}(Z) \odot (\mathbf{1} (\mathbf{1}^{\top} G))$")


def _ones(length: int) -> T.Tensor:
    return T.Ones((length, 1))


def _rule(op: Normalised, log: bool) -> str:
    name = "log_softmax" if log else "softmax"
    if op.along_vector:
        return name
    return name + ("_columns" if op.axis == DOWN_COLUMNS else "_rows")


def _weighted_sums(op: Normalised, g: T.Tensor, weights: T.Tensor | None) -> T.Tensor:
    """Each slice's Σ weightsᵢ gᵢ (Σ gᵢ without weights), repeated over the slice: 1 (sᵀ g), (G ⊙ A) 1 1ᵀ, …"""
    ones = _ones(op.length)
    if op.along_vector:
        if op.axis == DOWN_COLUMNS:  # a column: 1 (sᵀ g), or 1 (1ᵀ g)
            inner = T.matmul(T.transpose(ones if weights is None else weights), g)
            return T.matmul(ones, inner)
        inner = T.matmul(g, ones if weights is None else T.transpose(weights))  # a row: (g sᵀ) 1ᵀ
        return T.matmul(inner, T.transpose(ones))
    weighted = g if weights is None else T.hadamard(g, weights)
    if op.axis == DOWN_COLUMNS:
        return T.matmul(ones, T.matmul(T.transpose(ones), weighted))
    return T.matmul(T.matmul(weighted, ones), T.transpose(ones))


@vjp(Softmax, with_output=True)
def _softmax(op: Softmax, g: T.Tensor, output: T.Tensor) -> list[Pull]:
    s = output
    weighted = _weighted_sums(op, g, s)
    return [Pull(op.operand, T.hadamard(s, g - weighted), _rule(op, log=False), None, Product.OTHER)]


@vjp(LogSoftmax)
def _log_softmax(op: LogSoftmax, g: T.Tensor) -> list[Pull]:
    s = T.softmax(op.operand, op.axis)
    sums = _weighted_sums(op, g, None)
    if op.along_vector:  # s (1ᵀ g) for a column, (g 1) s for a row: a vector times a scalar
        scalar = sums.left if op.axis != DOWN_COLUMNS else sums.right
        spread = T.matmul(s, scalar) if op.axis == DOWN_COLUMNS else T.matmul(scalar, s)
    else:
        spread = T.hadamard(s, sums)
    return [Pull(op.operand, g - spread, _rule(op, log=True), None, Product.OTHER)]
