"""The rules of the core tensor operations: sums, products, transposes, element-wise functions, losses."""

from __future__ import annotations

import math

from .. import tensor as T
from ..ops import ACTIVATION_OPS, LOSS_OPS
from ..registry import Product, Pull, activation_rule, register, takes_any_rank, vjp

register("seed", "the loss's gradient with respect to itself is 1",
          "손실의 자기 자신에 대한 gradient는 1")
register("batch_mean", "the batch loss is the mean, so each sample's loss receives $1/N$",
          "배치 손실은 평균이므로 각 샘플의 손실은 $1/N$을 받음")
register("fan_out", "a value used in several places sums the gradients it receives",
          "여러 곳에서 쓰인 값은 받은 gradient를 모두 더함")
register("add", "addition passes the gradient through unchanged",
          "덧셈: gradient를 그대로 전달")
register("broadcast", "a scalar added to every element receives the sum of their gradients",
          "모든 원소에 더해진 스칼라는 gradient의 합을 받음")
register("broadcast_row", r"a row repeated over every row receives the sum of the gradient's rows, "
                          r"$\mathbf{1}^{\top} G$",
          r"모든 행에 반복된 행 벡터는 gradient의 행들의 합 $\mathbf{1}^{\top} G$를 받음")
register("broadcast_column", r"a column repeated over every column receives the sum of the gradient's columns, "
                             r"$G \mathbf{1}$",
          r"모든 열에 반복된 열 벡터는 gradient의 열들의 합 $G \mathbf{1}$을 받음")
register("matmul", "multiplication multiplies the gradient by the other input (transposed)",
          "곱셈: gradient에 다른 입력값(의 전치)을 곱함")
register("matmul_stack", "a matrix multiplying every matrix of a stack receives the sum of their products, "
                         "the stack laid out as one tall matrix (its transpose) times the gradient laid out alike",
         "스택의 모든 행렬에 곱해진 행렬은 그 곱들의 합을 받음: 스택을 하나의 긴 행렬로 펼친 것(의 전치)과 "
         "같게 펼친 gradient의 곱")
register("matmul_batched", "each matrix of a batched product receives the gradient times the other factor's "
                           "matrix transposed, summed over the stack axes along which it was repeated",
         "배치 행렬곱: 각 행렬은 gradient에 다른 인수의 (전치된) 행렬을 곱한 것을 받고, 반복된 스택 축을 따라서는 "
         "그 합을 받음")
register("multiply", "multiplication multiplies the gradient by the other input",
          "곱셈: gradient에 다른 입력값을 곱함")
register("scale", "a constant factor multiplies the gradient by the same constant",
          "상수배: gradient에 같은 상수를 곱함")
register("transpose", "a transpose transposes the gradient",
          "전치: gradient를 전치")
register("power", "a power $z^{n}$ multiplies the gradient by $n z^{n-1}$",
          "거듭제곱 $z^{n}$: gradient에 $n z^{n-1}$을 곱함")
register("total", "a sum sends its gradient to every element",
          "합: gradient를 모든 원소에 전달")
register("activation", "an element-wise function multiplies the gradient by its derivative $f'(z)$",
          "활성화 함수: gradient에 $f'(z)$를 원소별로 곱함")
register("scalar", "the node's expression is differentiated with respect to this input",
          "노드의 식을 이 입력에 대해 미분")
for _activation in ACTIVATION_OPS.values():
    register(_activation.name, *_activation.sentence)
for _loss in LOSS_OPS.values():
    register("loss:" + _loss.name, *_loss.prediction.sentence)
    register("loss_target:" + _loss.name, *_loss.target.sentence)

#: Element-wise and summing operations, and a stack of matrices times a matrix, at any rank.
takes_any_rank(T.Ref, T.Scalar, T.Add, T.AddAll, T.Scale, T.Elementwise, T.Power, T.Sum, T.MatMul)


@vjp(T.Add)
def _add(op: T.Add, g: T.Tensor) -> list[Pull]:
    result = []
    for operand in (op.left, op.right):
        gradient, rule = T.broadcast_back(operand, op, g)
        result.append(Pull(operand, gradient, rule or "add", None, Product.IDENTITY if rule is None else Product.SUM))
    return result


@vjp(T.MatMul)
def _matmul(op: T.MatMul, g: T.Tensor) -> list[Pull]:
    a, b = op.left, op.right
    if b.rank > 2:
        return _batched_matmul(op, g)
    if a.rank > 2:  # a stack of matrices times one matrix: b receives the products of every matrix, added
        rows = math.prod(a.shape[:-1])
        stacked_a, stacked_g = T.reshape(a, rows, a.shape[-1]), T.reshape(g, rows, g.shape[-1])
        return [
            Pull(a, T.matmul(g, T.transpose(b)), "matmul", T.transpose(b), Product.RIGHT),
            Pull(b, T.matmul(T.transpose(stacked_a), stacked_g), "matmul_stack", T.transpose(stacked_a),
                 Product.OTHER),
        ]
    return [
        Pull(a, T.matmul(g, T.transpose(b)), "matmul", T.transpose(b), Product.RIGHT),
        Pull(b, T.matmul(T.transpose(a), g), "matmul", T.transpose(a), Product.LEFT),
    ]


@vjp(T.Scale)
def _scale(op: T.Scale, g: T.Tensor) -> list[Pull]:
    result = [Pull(op.operand, T.scale(op.factor, g), "scale", op.factor, Product.SCALE)]
    if op.factor.free_symbols:
        # a factor that depends on quantities is an operand too: it receives Σ g ⊙ operand
        result.append(Pull(T.Scalar(op.factor), T.total(T.hadamard(g, op.operand)),
                           "multiply", op.operand, Product.OTHER))
    return result


@vjp(T.Transpose)
def _transpose(op: T.Transpose, g: T.Tensor) -> list[Pull]:
    return [Pull(op.operand, T.transpose(g), "transpose", None, Product.TRANSPOSE)]


@vjp(T.Elementwise)
def _elementwise(op: T.Elementwise, g: T.Tensor) -> list[Pull]:
    local = T.Elementwise(op.function.derivative, op.operand)
    return [Pull(op.operand, T.hadamard(g, local), activation_rule(op.function.name), local, Product.HADAMARD)]


@vjp(T.Power)
def _power(op: T.Power, g: T.Tensor) -> list[Pull]:
    local = T.scale(op.exponent, T.power(op.operand, op.exponent - 1))
    return [Pull(op.operand, T.hadamard(g, local), "power", local, Product.HADAMARD)]


@vjp(T.Sum)
def _sum(op: T.Sum, g: T.Tensor) -> list[Pull]:
    return [Pull(op.operand, T.hadamard(g, T.Ones(op.operand.shape)), "total", None, Product.SUM)]


@vjp(T.LossNode)
def _loss(op: T.LossNode, g: T.Tensor) -> list[Pull]:
    result = []
    for wrt, operand, rule in (("prediction", op.prediction, "loss:"), ("target", op.target, "loss_target:")):
        if wrt == "target" and dict(op.options).get("index"):
            continue  # class indices are integers: nothing flows back to them, as in PyTorch
        local = T.LossGradient(op.kind, wrt, op.prediction, op.target, op.options)
        result.append(Pull(operand, T.hadamard(g, local), rule + op.kind, local, Product.SCALE))
    return result


def _batched_matmul(op: T.MatMul, g: T.Tensor) -> list[Pull]:
    """Two stacks multiplied matrix by matrix: ∂L/∂A = ∂L/∂Y · Bᵀ and ∂L/∂B = Aᵀ · ∂L/∂Y, ᵀ swapping the last
    two axes; a factor whose leading axes were broadcast (a matrix beside a stack) receives the sum over them."""
    pulls = []
    for operand, gradient, local, product in (
            (op.left, T.matmul(g, T.matrix_transpose(op.right)), T.matrix_transpose(op.right), Product.RIGHT),
            (op.right, T.matmul(T.matrix_transpose(op.left), g), T.matrix_transpose(op.left), Product.LEFT)):
        if gradient.shape == operand.shape:
            pulls.append(Pull(operand, gradient, "matmul", local, product))
        else:  # repeated along stack axes: the products added up over them (the product alone is not the gradient)
            pulls.append(Pull(operand, T.reduce_to(gradient, operand.shape), "matmul_batched", None, Product.OTHER))
    return pulls
