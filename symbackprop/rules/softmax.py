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
from .registry import OTHER, Pull, register, vjp

register("softmax", "softmax passes s ⊙ (g − 1 (sᵀ g)): the gradient minus its s-weighted mean, times s",
         "소프트맥스: gradient에서 s로 가중한 평균을 빼고 s를 원소별로 곱함, s ⊙ (g − 1 (sᵀ g))")
register("softmax_rows", "softmax row by row passes A ⊙ (G − (G ⊙ A) 1 1ᵀ): in each row the gradient minus "
         "its A-weighted mean, times A",
         "행별 소프트맥스: 각 행에서 gradient의 A 가중 평균을 빼고 A를 원소별로 곱함, A ⊙ (G − (G ⊙ A) 1 1ᵀ)")
register("softmax_columns", "softmax column by column passes A ⊙ (G − 1 (1ᵀ (G ⊙ A))): in each column the "
         "gradient minus its A-weighted mean, times A",
         "열별 소프트맥스: 각 열에서 gradient의 A 가중 평균을 빼고 A를 원소별로 곱함, A ⊙ (G − 1 (1ᵀ (G ⊙ A)))")
register("log_softmax", "log-softmax passes g − softmax(z) (1ᵀ g): the gradient minus softmax times its sum",
         "로그 소프트맥스: gradient에서 softmax(z)와 gradient 합의 곱을 뺌, g − softmax(z) (1ᵀ g)")
register("log_softmax_rows", "log-softmax row by row passes G − softmax(Z) ⊙ (G 1 1ᵀ): in each row the "
         "gradient minus softmax times the row's sum",
         "행별 로그 소프트맥스: 각 행에서 gradient에서 softmax와 그 행 합의 곱을 뺌, G − softmax(Z) ⊙ (G 1 1ᵀ)")
register("log_softmax_columns", "log-softmax column by column passes G − softmax(Z) ⊙ (1 (1ᵀ G)): in each "
         "column the gradient minus softmax times the column's sum",
         "열별 로그 소프트맥스: 각 열에서 gradient에서 softmax와 그 열 합의 곱을 뺌, G − softmax(Z) ⊙ (1 (1ᵀ G))")


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
    return [Pull(op.operand, T.hadamard(s, g - weighted), _rule(op, log=False), None, OTHER)]


@vjp(LogSoftmax)
def _log_softmax(op: LogSoftmax, g: T.Tensor) -> list[Pull]:
    s = T.softmax(op.operand, op.axis)
    sums = _weighted_sums(op, g, None)
    if op.along_vector:  # s (1ᵀ g) for a column, (g 1) s for a row: a vector times a scalar
        scalar = sums.left if op.axis != DOWN_COLUMNS else sums.right
        spread = T.matmul(s, scalar) if op.axis == DOWN_COLUMNS else T.matmul(scalar, s)
    else:
        spread = T.hadamard(s, sums)
    return [Pull(op.operand, g - spread, _rule(op, log=True), None, OTHER)]
