"""LaTeX for the vector/matrix expression trees of :mod:`symbackprop.tensor`.

A small dispatcher on the node class, as SymPy's printers are: every node
prints itself from its children's text and says how tightly it binds, so
parentheses appear exactly where the reading would otherwise change.
Juxtaposition is the matrix product, ⊙ the element-wise one, ^⊤ the transpose.
A ``leaf`` hook lets the worked example print numbers in place of names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy as sp

from .. import tensor as T
from ..functions import Activation, Sigmoid
from .names import Notation
from .scalars import ScalarPrinter, Shown

# How tightly a printed tensor binds: an operand binding less tightly than its context is parenthesised.
ADD, NEGATIVE, HADAMARD, PRODUCT, FRACTION, POSTFIX, ATOM = 10, 15, 18, 20, 25, 30, 40

#: The page's names of the built-in activations; any other prints as \operatorname{name}.
ACTIVATION_NAMES: dict[str, str] = {
    "relu": r"\operatorname{ReLU}",
    "sigmoid": r"\sigma",
    "tanh": r"\tanh",
    "softplus": r"\operatorname{softplus}",
    "identity": r"\operatorname{id}",
    "leaky_relu": r"\operatorname{LeakyReLU}",
    "gelu": r"\operatorname{GELU}",
    "gelu_tanh": r"\operatorname{GELU}_{\tanh}",
    "silu": r"\operatorname{SiLU}",
}

_ARGUMENT = sp.Symbol("symbackprop_argument", real=True)


@dataclass(frozen=True)
class Printed:
    text: str
    precedence: int


Leaf = Callable[[T.Tensor], "Printed | None"]


def activation_name(activation: Activation) -> str:
    name = activation.name
    if name in ACTIVATION_NAMES:
        return ACTIVATION_NAMES[name]
    if len(name) == 1:
        return name
    return r"\operatorname{" + name.replace("_", r"\_") + "}"


def _elementwise_derivative(activation: Activation, argument: str) -> Printed | None:
    """σ′ and tanh′ of a vector, written with ⊙ where SymPy's scalar form would juxtapose."""
    body = activation.formula(_ARGUMENT)
    if body in (Sigmoid(_ARGUMENT) * (1 - Sigmoid(_ARGUMENT)), Sigmoid(_ARGUMENT) * Sigmoid(-_ARGUMENT)):
        return Printed(rf"\sigma\left({argument}\right) \odot \left(1 - \sigma\left({argument}\right)\right)", HADAMARD)
    if body == 1 - sp.tanh(_ARGUMENT) ** 2:
        return Printed(rf"1 - \tanh^{{2}}\left({argument}\right)", ADD)
    return None


def _over(n: int, numerator: int = 1) -> str:
    """The factor numerator/n, omitted when it is 1."""
    if numerator == n:
        return ""
    if n == 1:
        return f"{numerator} "
    return rf"\frac{{{numerator}}}{{{n}}} "


def _loss_text(kind: str, h: str, y: str, n: int, scalar: bool) -> Printed:
    if kind == "half_squared_error":
        if scalar:
            return Printed(rf"\frac{{1}}{{2}} \left({h} - {y}\right)^{{2}}", PRODUCT)
        return Printed(rf"\frac{{1}}{{2}} \left\lVert {h} - {y} \right\rVert^{{2}}", PRODUCT)
    if kind == "mse":
        if scalar:
            return Printed(rf"\left({h} - {y}\right)^{{2}}", POSTFIX)
        return Printed(rf"{_over(n)}\left\lVert {h} - {y} \right\rVert^{{2}}", PRODUCT)
    if kind == "binary_cross_entropy":
        if scalar:
            return Printed(rf"-\left({y} \log {h} + \left(1 - {y}\right) \log\left(1 - {h}\right)\right)", NEGATIVE)
        return Printed(rf"-{_over(n)}\left({y}^{{\top}} \log {h} + \left(1 - {y}\right)^{{\top}} "
                       rf"\log\left(1 - {h}\right)\right)", NEGATIVE)
    if kind == "bce_with_logits":
        if scalar:
            return Printed(rf"\operatorname{{softplus}}\left({h}\right) - {y} {h}", ADD)
        return Printed(rf"{_over(n)}\mathbf{{1}}^{{\top}} \left(\operatorname{{softplus}}\left({h}\right) "
                       rf"- {y} \odot {h}\right)", PRODUCT)
    if kind == "cross_entropy":
        return Printed(rf"-{y}^{{\top}} \log \operatorname{{softmax}}\left({h}\right)", NEGATIVE)
    escaped = kind.replace("_", r"\_")
    return Printed(rf"\operatorname{{{escaped}}}\left({h}, {y}\right)", ATOM)


def _loss_gradient_text(kind: str, wrt: str, h: str, y: str, n: int) -> Printed:
    """The readable formula of each entry of :data:`symbackprop.rules.LOSS_GRADIENTS`."""
    prediction = wrt == "prediction"
    if kind == "binary_cross_entropy" and prediction and n == 1:
        return Printed(rf"\frac{{{h} - {y}}}{{{h} \left(1 - {h}\right)}}", FRACTION)
    if kind == "half_squared_error":
        return Printed(f"{h} - {y}" if prediction else f"{y} - {h}", ADD)
    if kind == "mse":
        difference = f"{h} - {y}" if prediction else f"{y} - {h}"
        if n == 2:
            return Printed(difference, ADD)
        return Printed(rf"{_over(n, 2)}\left({difference}\right)", PRODUCT)
    if kind == "binary_cross_entropy":
        if prediction:
            return Printed(rf"{_over(n)}\left({h} - {y}\right) \oslash \left({h} \odot \left(1 - {h}\right)\right)",
                           PRODUCT)
        return Printed(rf"{_over(n)}\left(\log\left(1 - {h}\right) - \log {h}\right)", PRODUCT)
    if kind == "bce_with_logits":
        if prediction:
            return Printed(rf"{_over(n)}\left(\sigma\left({h}\right) - {y}\right)", PRODUCT)
        return Printed(rf"-{_over(n)}{h}", NEGATIVE)
    if kind == "cross_entropy":
        if prediction:
            return Printed(rf"\operatorname{{softmax}}\left({h}\right) - {y}", ADD)
        return Printed(rf"-\log \operatorname{{softmax}}\left({h}\right)", NEGATIVE)
    escaped = kind.replace("_", r"\_")
    return Printed(rf"\frac{{\partial \operatorname{{{escaped}}}}}{{\partial {wrt}}}", FRACTION)


class TensorPrinter:
    """``doprint(tree)`` → LaTeX.  ``shown`` replaces scalar symbols by text (numbers)."""

    def __init__(self, notation: Notation, *, leaf: Leaf | None = None,
                 shown: Mapping[sp.Symbol, Shown] | None = None) -> None:
        self.notation = notation
        self.leaf = leaf
        self.shown = dict(shown or {})

    def doprint(self, tree: T.Tensor) -> str:
        return self.print(tree).text

    def print(self, node: T.Tensor) -> Printed:
        if self.leaf is not None:
            printed = self.leaf(node)
            if printed is not None:
                return printed
        method = getattr(self, "_print_" + type(node).__name__, None)
        if method is None:
            raise TypeError(f"no LaTeX for tensor node {type(node).__name__}")
        return method(node)

    # -- helpers ------------------------------------------------------------------------------

    def _wrapped(self, node: T.Tensor, at_least: int) -> str:
        printed = self.print(node)
        if printed.precedence < at_least:
            return rf"\left({printed.text}\right)"
        return printed.text

    def scalar(self, expr: sp.Expr) -> Printed:
        expr = sp.sympify(expr)
        text = ScalarPrinter(self.notation, self.shown).doprint(expr)
        return Printed(text, self._scalar_precedence(expr, text))

    def _scalar_precedence(self, expr: sp.Expr, text: str) -> int:
        if expr in self.shown:
            shown = self.shown[expr]
            return ADD if shown.needs_parentheses else ATOM
        if expr.is_Add or text.startswith("-"):
            return ADD
        if expr.is_Mul or isinstance(expr, T.AdjointSymbol) or (expr.is_Rational and not expr.is_Integer):
            return PRODUCT if expr.is_Mul else FRACTION
        return ATOM

    def _function_argument(self, node: T.Tensor) -> str:
        return self.print(node).text

    # -- leaves ---------------------------------------------------------------------------------

    def _print_Ref(self, node: T.Ref) -> Printed:
        return Printed(self.notation.name(node.name), ATOM)

    def _print_Adjoint(self, node: T.Adjoint) -> Printed:
        return Printed(self.notation.adjoint(node.name), FRACTION)

    def _print_Scalar(self, node: T.Scalar) -> Printed:
        return self.scalar(node.expr)

    def _print_Ones(self, node: T.Ones) -> Printed:
        rows, columns = node.shape
        return Printed(rf"\mathbf{{1}}_{{{rows} \times {columns}}}", ATOM)

    # -- operations -----------------------------------------------------------------------------

    def _print_MatMul(self, node: T.MatMul) -> Printed:
        left = self.print(node.left)
        left_text = left.text if left.precedence >= PRODUCT and not isinstance(node.left, T.Hadamard) else (
            rf"\left({left.text}\right)")
        right_text = self._wrapped(node.right, FRACTION if isinstance(node.right, T.MatMul) else PRODUCT)
        return Printed(rf"{left_text} \, {right_text}", PRODUCT)

    def _print_Hadamard(self, node: T.Hadamard) -> Printed:
        parts = []
        for operand in (node.left, node.right):
            printed = self.print(operand)
            keep = printed.precedence >= HADAMARD and not isinstance(operand, T.MatMul)  # ⊙ is associative
            parts.append(printed.text if keep else rf"\left({printed.text}\right)")
        return Printed(r" \odot ".join(parts), HADAMARD)

    def _print_Add(self, node: T.Add) -> Printed:
        left = self.print(node.left).text
        right = node.right
        if isinstance(right, T.Scale) and right.factor.could_extract_minus_sign():
            negated = T.scale(-right.factor, right.operand)
            return Printed(f"{left} - {self._wrapped(negated, PRODUCT)}", ADD)
        if isinstance(right, T.Scalar) and right.expr.could_extract_minus_sign():
            negated = self.scalar(-right.expr)
            text = negated.text if negated.precedence > ADD else rf"\left({negated.text}\right)"
            return Printed(f"{left} - {text}", ADD)
        return Printed(f"{left} + {self._wrapped(right, NEGATIVE)}", ADD)

    def _print_Scale(self, node: T.Scale) -> Printed:
        factor = sp.sympify(node.factor)
        if factor.could_extract_minus_sign():
            positive = T.scale(-factor, node.operand)
            return Printed("-" + self._wrapped(positive, PRODUCT), NEGATIVE)
        printed = self.scalar(factor)
        factor_text = printed.text if printed.precedence >= PRODUCT else rf"\left({printed.text}\right)"
        operand = self._wrapped(node.operand, PRODUCT)
        # two numbers side by side would read as one: 0.3 \cdot 6.15
        separator = r" \cdot " if operand[:1].isdigit() or operand.startswith("-") else " "
        return Printed(f"{factor_text}{separator}{operand}", PRODUCT)

    def _print_Transpose(self, node: T.Transpose) -> Printed:
        return Printed(self._wrapped(node.operand, ATOM) + r"^{\top}", POSTFIX)

    def _print_Power(self, node: T.Power) -> Printed:
        exponent = self.scalar(node.exponent).text
        return Printed(self._wrapped(node.operand, ATOM) + rf"^{{\circ {exponent}}}", POSTFIX)

    def _print_Sum(self, node: T.Sum) -> Printed:
        return Printed(rf"\operatorname{{sum}}\left({self._function_argument(node.operand)}\right)", ATOM)

    def _print_Elementwise(self, node: T.Elementwise) -> Printed:
        function = node.function
        argument = self.print(node.operand)
        if function.is_derivative_of is None:
            return Printed(rf"{activation_name(function)}\left({argument.text}\right)", ATOM)
        special = _elementwise_derivative(function, argument.text)
        if special is not None:
            return special
        # any other f′: SymPy's derivative with the operand in place of the variable (element-wise)
        shown = {**self.shown, _ARGUMENT: Shown(argument.text, compound=argument.precedence < ATOM)}
        body = sp.sympify(function.formula(_ARGUMENT))
        text = ScalarPrinter(self.notation, shown, numeric=bool(self.shown)).doprint(body)
        return Printed(text, self._scalar_precedence(body, text) if body != _ARGUMENT else argument.precedence)

    def _print_LossOp(self, node: T.LossOp) -> Printed:
        h = self._wrapped(node.prediction, ATOM)
        y = self._wrapped(node.target, ATOM)
        rows, columns = node.prediction.shape
        return _loss_text(node.kind, h, y, rows * columns, node.prediction.is_scalar)

    def _print_LossGradient(self, node: T.LossGradient) -> Printed:
        h = self._wrapped(node.prediction, ATOM)
        y = self._wrapped(node.target, ATOM)
        rows, columns = node.prediction.shape
        return _loss_gradient_text(node.kind, node.wrt, h, y, rows * columns)
