"""The rules of indexing and joining: a slice's gradient is placed back into zeros, a concatenation's is split."""

from __future__ import annotations

from .. import tensor as T
from .registry import Product, Pull, register, vjp

register("slice", "a slice passes its gradient back to the entries it took; every other entry receives 0",
         "슬라이스: gradient를 가져온 원소 자리로 되돌리고, 나머지 원소는 0을 받음")
register("concat", "a concatenation splits its gradient: each part receives the block where it sits",
         "이어 붙이기(concat): gradient를 나누어 각 부분이 자기 자리의 블록을 받음")
register("embed", "entries placed into zeros receive the gradient of the block they were placed at",
         "0 행렬에 놓인 원소는 놓인 자리 블록의 gradient를 받음")


@vjp(T.Slice)
def _slice(op: T.Slice, g: T.Tensor) -> list[Pull]:
    return [Pull(op.operand, T.embed(g, op.operand.shape, op.rows, op.columns), "slice", None, Product.OTHER)]


@vjp(T.Concat)
def _concat(op: T.Concat, g: T.Tensor) -> list[Pull]:
    result = []
    rows, columns = op.shape
    for part, span in zip(op.parts, op.spans()):
        block = (span, (0, columns)) if op.axis == 0 else ((0, rows), span)
        result.append(Pull(part, T.slice_of(g, *block), "concat", None, Product.OTHER))
    return result


@vjp(T.Embed)
def _embed(op: T.Embed, g: T.Tensor) -> list[Pull]:
    return [Pull(op.operand, T.slice_of(g, op.rows, op.columns), "embed", None, Product.OTHER)]
