"""The registry of local chain-rule steps: every derivative symbackprop takes is defined here.

A rule receives an operation and the gradient arriving at its output (the
upstream gradient, ∂L/∂output) and returns what flows to each operand — a
vector–Jacobian product, written the way the reference page writes it
(∂L/∂W = ∂L/∂z · xᵀ, ∂L/∂x = Wᵀ · ∂L/∂z, ∂L/∂z = ∂L/∂h ⊙ f′(z)).  Each rule
also carries the sentence that explains it, per language, so a new rule brings
its own explanation to the documents.

Scalar SymPy expressions are differentiated by SymPy (``sympy.diff``) one
named input at a time; :func:`scalar_step` also names the kind of step for the prose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from . import tensor as T
from .errors import UnsupportedFunctionError
from .ops import ACTIVATION_OPS, LOSS_OPS, activation_op_of

#: How the local factor combines with the upstream gradient g.
IDENTITY, HADAMARD, RIGHT, LEFT, SCALE, TRANSPOSE, SUM, OTHER = (
    "identity", "hadamard", "right", "left", "scale", "transpose", "sum", "other",
)


@dataclass(frozen=True)
class Pull:
    """What one operand receives: ``gradient`` = g combined with ``local`` by ``product``."""

    operand: T.Tensor
    gradient: T.Tensor
    rule: str
    local: T.Tensor | sp.Expr | None = None
    product: str = OTHER


@dataclass(frozen=True)
class Rule:
    key: str
    explanation: dict[str, str]


RULES: dict[str, Rule] = {}
_VJPS: dict[type, Callable[[T.Tensor, T.Tensor], list[Pull]]] = {}


def _register(key: str, en: str, ko: str) -> Rule:
    rule = Rule(key, {"en": en, "ko": ko})
    RULES[key] = rule
    return rule


def vjp(op_type: type):
    def decorate(function):
        _VJPS[op_type] = function
        return function
    return decorate


def pulls(op: T.Tensor, upstream: T.Tensor) -> list[Pull]:
    """Apply the registered rule of ``op`` to the upstream gradient."""
    try:
        rule = _VJPS[type(op)]
    except KeyError:
        raise UnsupportedFunctionError(f"no derivative rule for {type(op).__name__}") from None
    return rule(op, upstream)


_register("seed", "the loss's gradient with respect to itself is 1",
          "손실의 자기 자신에 대한 gradient는 1")
_register("batch_mean", "the batch loss is the mean, so each sample's loss receives 1/N",
          "배치 손실은 평균이므로 각 샘플의 손실은 1/N을 받음")
_register("fan_out", "a value used in several places sums the gradients it receives",
          "여러 곳에서 쓰인 값은 받은 gradient를 모두 더함")
_register("add", "addition passes the gradient through unchanged",
          "덧셈: gradient를 그대로 전달")
_register("broadcast", "a scalar added to every element receives the sum of their gradients",
          "모든 원소에 더해진 스칼라는 gradient의 합을 받음")
_register("matmul", "multiplication multiplies the gradient by the other input (transposed)",
          "곱셈: gradient에 다른 입력값(의 전치)을 곱함")
_register("multiply", "multiplication multiplies the gradient by the other input",
          "곱셈: gradient에 다른 입력값을 곱함")
_register("hadamard", "an element-wise product multiplies the gradient element-wise by the other factor",
          "원소별 곱: gradient에 다른 인자를 원소별로 곱함")
_register("scale", "a constant factor multiplies the gradient by the same constant",
          "상수배: gradient에 같은 상수를 곱함")
_register("transpose", "a transpose transposes the gradient",
          "전치: gradient를 전치")
_register("power", "a power zⁿ multiplies the gradient by n·zⁿ⁻¹",
          "거듭제곱 zⁿ: gradient에 n·zⁿ⁻¹을 곱함")
_register("total", "a sum sends its gradient to every element",
          "합: gradient를 모든 원소에 전달")
_register("activation", "an element-wise function multiplies the gradient by its derivative f′(z)",
          "활성화 함수: gradient에 f′(z)를 원소별로 곱함")
_register("scalar", "the node's expression is differentiated with respect to this input",
          "노드의 식을 이 입력에 대해 미분")
for _activation in ACTIVATION_OPS.values():
    _register(_activation.name, *_activation.sentence)
for _loss in LOSS_OPS.values():
    _register("loss:" + _loss.name, *_loss.prediction.sentence)
    _register("loss_target:" + _loss.name, *_loss.target.sentence)


def activation_rule(name: str) -> str:
    return name if name in RULES else "activation"


def _broadcast_back(operand: T.Tensor, other: T.Tensor, gradient: T.Tensor) -> tuple[T.Tensor, str]:
    """A 1×1 operand broadcast over a larger one receives the sum of the gradient."""
    if operand.is_scalar and not other.is_scalar:
        return T.total(gradient), SUM
    return gradient, IDENTITY


@vjp(T.Add)
def _add(op: T.Add, g: T.Tensor) -> list[Pull]:
    result = []
    for operand, other in ((op.left, op.right), (op.right, op.left)):
        gradient, product = _broadcast_back(operand, other, g)
        result.append(Pull(operand, gradient, "add" if product == IDENTITY else "broadcast",
                           None, product))
    return result


@vjp(T.MatMul)
def _matmul(op: T.MatMul, g: T.Tensor) -> list[Pull]:
    a, b = op.left, op.right
    return [
        Pull(a, T.matmul(g, T.transpose(b)), "matmul", T.transpose(b), RIGHT),
        Pull(b, T.matmul(T.transpose(a), g), "matmul", T.transpose(a), LEFT),
    ]


@vjp(T.Hadamard)
def _hadamard(op: T.Hadamard, g: T.Tensor) -> list[Pull]:
    result = []
    for operand, other in ((op.left, op.right), (op.right, op.left)):
        gradient = T.hadamard(g, other)
        if operand.is_scalar and not other.is_scalar:
            result.append(Pull(operand, T.total(gradient), "hadamard", other, OTHER))
        else:
            result.append(Pull(operand, gradient, "hadamard", other, HADAMARD))
    return result


@vjp(T.Scale)
def _scale(op: T.Scale, g: T.Tensor) -> list[Pull]:
    result = [Pull(op.operand, T.scale(op.factor, g), "scale", op.factor, SCALE)]
    if op.factor.free_symbols:
        # a factor that depends on quantities is an operand too: it receives Σ g ⊙ operand
        result.append(Pull(T.Scalar(op.factor), T.total(T.hadamard(g, op.operand)),
                           "multiply", op.operand, OTHER))
    return result


@vjp(T.Transpose)
def _transpose(op: T.Transpose, g: T.Tensor) -> list[Pull]:
    return [Pull(op.operand, T.transpose(g), "transpose", None, TRANSPOSE)]


@vjp(T.Elementwise)
def _elementwise(op: T.Elementwise, g: T.Tensor) -> list[Pull]:
    local = T.Elementwise(op.function.derivative, op.operand)
    return [Pull(op.operand, T.hadamard(g, local), activation_rule(op.function.name), local, HADAMARD)]


@vjp(T.Power)
def _power(op: T.Power, g: T.Tensor) -> list[Pull]:
    local = T.scale(op.exponent, T.power(op.operand, op.exponent - 1))
    return [Pull(op.operand, T.hadamard(g, local), "power", local, HADAMARD)]


@vjp(T.Sum)
def _sum(op: T.Sum, g: T.Tensor) -> list[Pull]:
    return [Pull(op.operand, T.hadamard(g, T.Ones(op.operand.shape)), "total", None, SUM)]


@vjp(T.LossOp)
def _loss(op: T.LossOp, g: T.Tensor) -> list[Pull]:
    return [
        Pull(op.prediction, T.hadamard(g, T.LossGradient(op.kind, "prediction", op.prediction, op.target)),
             "loss:" + op.kind, T.LossGradient(op.kind, "prediction", op.prediction, op.target), SCALE),
        Pull(op.target, T.hadamard(g, T.LossGradient(op.kind, "target", op.prediction, op.target)),
             "loss_target:" + op.kind, T.LossGradient(op.kind, "target", op.prediction, op.target), SCALE),
    ]


# -- scalar expressions -----------------------------------------------------------------

def scalar_steps(expr: sp.Expr, symbols: list[sp.Symbol], where: str) -> dict[sp.Symbol, tuple[sp.Expr, str]]:
    """∂expr/∂s and the name of the rule applied (for the prose), for each symbol s.

    Sums of products — every neuron of a scalar-level network — are read off in
    one pass over the terms (the derivative of a·s + c by s is a); whatever is
    not linear in s goes to ``sympy.diff``.
    """
    linear = _linear_coefficients(expr, set(symbols))
    return {s: linear[s] if s in linear else (scalar_local(expr, s, where), _classify(expr, s))
            for s in symbols}


def _linear_coefficients(expr: sp.Expr, wanted: set[sp.Symbol]) -> dict[sp.Symbol, tuple[sp.Expr, str]]:
    """Coefficients of the symbols in which ``expr`` is a plain sum of monomials, each linear in them."""
    if expr in wanted:
        return {expr: (sp.S.One, "identity")}
    terms = expr.args if isinstance(expr, sp.Add) else (expr,)
    coefficients: dict[sp.Symbol, list[sp.Expr]] = {}
    nonlinear: set[sp.Symbol] = set()
    for term in terms:
        factors = term.args if isinstance(term, sp.Mul) else (term,)
        seen: dict[sp.Symbol, int] = {}
        for position, factor in enumerate(factors):
            for symbol in factor.free_symbols & wanted:
                if factor != symbol or symbol in seen:
                    nonlinear.add(symbol)
                seen[symbol] = position
        for symbol, position in seen.items():
            rest = factors[:position] + factors[position + 1:]
            coefficients.setdefault(symbol, []).append(sp.Mul(*rest))
    rule = "add" if isinstance(expr, sp.Add) else "multiply"
    return {
        s: (sp.Add(*c), "add" if rule == "add" and c == [sp.S.One] else "multiply")
        for s, c in coefficients.items() if s not in nonlinear
    }


def scalar_local(expr: sp.Expr, symbol: sp.Symbol, where: str) -> sp.Expr:
    """∂expr/∂symbol by SymPy, refusing what SymPy cannot really differentiate."""
    local = sp.diff(expr, symbol)
    if local.has(sp.Derivative, sp.Subs):
        raise UnsupportedFunctionError(
            f"node {where!r}: SymPy cannot differentiate {expr} with respect to {symbol} "
            f"(it leaves {local})"
        )
    return local


def _classify(expr: sp.Expr, symbol: sp.Symbol) -> str:
    """The name of the local rule that differentiating ``expr`` by ``symbol`` applies."""
    activation = activation_op_of(expr)
    if activation is not None and expr.args[0] == symbol:
        return activation.name
    if isinstance(expr, sp.Mul) and len(expr.args) == 2 and expr.args[0] == sp.Rational(1, 2):
        inner = expr.args[1]
        if isinstance(inner, sp.Pow) and inner.exp == 2 and inner.base.is_Add and inner.base.has(symbol):
            # ½(h − y)²: the symbol subtracted is the target, which receives (y − h)
            subtracted = inner.base.coeff(symbol) == -1
            return "loss_target:half_squared_error" if subtracted else "loss:half_squared_error"
    if isinstance(expr, sp.Pow) and expr.base == symbol and expr.exp.is_number:
        return "power"
    return "scalar"
