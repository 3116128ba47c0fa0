"""LaTeX for the vector/matrix expression trees of :mod:`symbackprop.tensor`.

A :class:`~symbackprop.visit.TreeVisitor`, as SymPy's printers are: every node
prints itself from its children's text and says how tightly it binds, so
parentheses appear exactly where the reading would otherwise change.
Juxtaposition is the matrix product, ⊙ the element-wise one, ^⊤ the transpose.
A ``leaf`` hook lets the worked example print numbers in place of names.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping

import sympy as sp

from .. import tensor as T
from ..ops import ACTIVATION_OPS, LOSS_OPS, Activation
from ..visit import TreeVisitor
from .names import Notation
from .numbers import elided_indices
from .precedence import Precedence, Printed
from .scalars import ScalarPrinter, Shown

_ARGUMENT = sp.Symbol("symbackprop_argument", real=True)

Leaf = Callable[[T.Tensor], "Printed | None"]


def activation_name(activation: Activation) -> str:
    """The page's name of a built-in activation; any other prints as \\operatorname{name}."""
    name = activation.name
    if name in ACTIVATION_OPS:
        return ACTIVATION_OPS[name].latex
    if len(name) == 1:
        return name
    return r"\operatorname{" + name.replace("_", r"\_") + "}"


def _elementwise_derivative(activation: Activation, argument: str) -> Printed | None:
    """f′ of a vector as its record writes it (σ′ with ⊙), where SymPy's scalar form would juxtapose."""
    op = ACTIVATION_OPS.get(activation.is_derivative_of or "")
    if op is None or op.derivative_latex is None:
        return None
    if not _same_formula(activation, op.activation.derivative):
        return None  # a function of the user's that only shares the name
    return op.derivative_latex(argument)


_SAME_FORMULA: dict[tuple[int, int], tuple[Activation, Activation, bool]] = {}


def _same_formula(first: Activation, second: Activation) -> bool:
    """Whether two activations compute the same formula, decided once per pair (every f′ of a long network asks)."""
    key = (id(first), id(second))
    cached = _SAME_FORMULA.get(key)
    if cached is None:  # the activations are kept with the answer, so that their ids are not reused
        cached = _SAME_FORMULA[key] = (first, second, first.formula(_ARGUMENT) == second.formula(_ARGUMENT))
    return cached[2]


class TensorPrinter(TreeVisitor):
    """``doprint(tree)`` → LaTeX.  ``shown`` replaces scalar symbols by text (numbers)."""

    interpretation = "latex"

    def __init__(self, notation: Notation, *, leaf: Leaf | None = None,
                 shown: Mapping[sp.Symbol, Shown] | None = None) -> None:
        self.notation = notation
        self.leaf = leaf
        self.shown = shown if shown is not None else {}

    def doprint(self, tree: T.Tensor) -> str:
        return self.print(tree).text

    def print(self, node: T.Tensor) -> Printed:
        if self.leaf is not None:
            printed = self.leaf(node)
            if printed is not None:
                return printed
        return self.visit(node)

    # -- helpers ------------------------------------------------------------------------------

    def replaced(self, node: T.Tensor) -> bool:
        """Whether the leaf printer writes ``node`` as one unit (a name, a number) rather than its operation."""
        return self.leaf is not None and self.leaf(node) is not None

    def shown_indices(self, count: int) -> list[int | None]:
        """Which of ``count`` parts a row prints, None standing for the elided middle (as a matrix's entries)."""
        return elided_indices(count)

    def wrapped(self, node: T.Tensor, at_least: int) -> str:
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
            return Precedence.ADD if shown.needs_parentheses else Precedence.ATOM
        if expr.is_Add or text.startswith("-"):
            return Precedence.ADD
        if expr.is_Mul or isinstance(expr, T.AdjointSymbol) or (expr.is_Rational and not expr.is_Integer):
            return Precedence.PRODUCT if expr.is_Mul else Precedence.FRACTION
        return Precedence.ATOM

    def function_argument(self, node: T.Tensor) -> str:
        return self.print(node).text

    # -- leaves ---------------------------------------------------------------------------------

    def visit_Ref(self, node: T.Ref) -> Printed:
        return Printed(self.notation.name(node.name), Precedence.ATOM)

    def visit_Adjoint(self, node: T.Adjoint) -> Printed:
        return Printed(self.notation.adjoint(node.name), Precedence.FRACTION)

    def visit_Scalar(self, node: T.Scalar) -> Printed:
        return self.scalar(node.expr)

    def visit_Ones(self, node: T.Ones) -> Printed:
        lengths = r" \times ".join(str(d) for d in node.shape)
        return Printed(rf"\mathbf{{1}}_{{{lengths}}}", Precedence.ATOM)

    # -- operations -----------------------------------------------------------------------------

    def visit_MatMul(self, node: T.MatMul) -> Printed:
        left = self.print(node.left)
        left_text = left.text if left.precedence >= Precedence.PRODUCT and (
            not node.left.hadamard_product or self.replaced(node.left)) else rf"\left({left.text}\right)"
        tightness = Precedence.FRACTION if isinstance(node.right, T.MatMul) else Precedence.PRODUCT
        right_text = self.wrapped(node.right, tightness)
        return Printed(rf"{left_text} \, {right_text}", Precedence.PRODUCT)

    def visit_Add(self, node: T.Add) -> Printed:
        return Printed(self.print(node.left).text + self._added(node.right), Precedence.ADD)

    def visit_AddAll(self, node: T.AddAll) -> Printed:
        """a + b + c as the two-term sums would print it; a long sum by its first four and last two terms."""
        shown = elided_indices(len(node.terms))
        text = self.print(node.terms[0]).text
        for index in shown[1:]:
            text += r" + \cdots" if index is None else self._added(node.terms[index])
        return Printed(text, Precedence.ADD)

    def _added(self, right: T.Tensor) -> str:
        """`` + b`` after the terms before it, or `` - b`` for a term with a minus sign."""
        if isinstance(right, T.Scale) and right.factor.could_extract_minus_sign():
            negated = T.scale(-right.factor, right.operand)
            return f" - {self.wrapped(negated, Precedence.PRODUCT)}"
        if isinstance(right, T.Scalar) and right.expr.could_extract_minus_sign():
            negated = self.scalar(-right.expr)
            text = negated.text if negated.precedence > Precedence.ADD else rf"\left({negated.text}\right)"
            return f" - {text}"
        return f" + {self.wrapped(right, Precedence.NEGATIVE)}"

    def visit_Scale(self, node: T.Scale) -> Printed:
        factor = sp.sympify(node.factor)
        if factor.could_extract_minus_sign():
            positive = T.scale(-factor, node.operand)
            return Printed("-" + self.wrapped(positive, Precedence.PRODUCT), Precedence.NEGATIVE)
        printed = self.scalar(factor)
        factor_text = printed.text if printed.precedence >= Precedence.PRODUCT else rf"\left({printed.text}\right)"
        operand = self.wrapped(node.operand, Precedence.PRODUCT)
        # two numbers side by side would read as one: 0.3 \cdot 6.15
        separator = r" \cdot " if operand[:1].isdigit() or operand.startswith("-") else " "
        return Printed(f"{factor_text}{separator}{operand}", Precedence.PRODUCT)

    def visit_Transpose(self, node: T.Transpose) -> Printed:
        return Printed(self.wrapped(node.operand, Precedence.ATOM) + r"^{\top}", Precedence.POSTFIX)

    def visit_Power(self, node: T.Power) -> Printed:
        exponent = self.scalar(node.exponent).text
        return Printed(self.wrapped(node.operand, Precedence.ATOM) + rf"^{{\circ {exponent}}}", Precedence.POSTFIX)

    def visit_Sum(self, node: T.Sum) -> Printed:
        return Printed(rf"\operatorname{{sum}}\left({self.function_argument(node.operand)}\right)", Precedence.ATOM)

    def visit_Elementwise(self, node: T.Elementwise) -> Printed:
        function = node.function
        argument = self.print(node.operand)
        if function.is_derivative_of is None:
            op = ACTIVATION_OPS.get(function.name)
            if op is not None and op.call_latex is not None and op.activation is function:
                return Printed(op.call_latex(argument.text), Precedence.ATOM)
            return Printed(rf"{activation_name(function)}\left({argument.text}\right)", Precedence.ATOM)
        special = _elementwise_derivative(function, argument.text)
        if special is not None:
            return special
        # any other f′: SymPy's derivative with the operand in place of the variable (element-wise)
        shown = ChainMap({_ARGUMENT: Shown(argument.text, compound=argument.precedence < Precedence.ATOM)}, self.shown)
        body = sp.sympify(function.formula(_ARGUMENT))
        text = ScalarPrinter(self.notation, shown, numeric=bool(self.shown)).doprint(body)
        return Printed(text, self._scalar_precedence(body, text) if body != _ARGUMENT else argument.precedence)

    def visit_LossNode(self, node: T.LossNode) -> Printed:
        h = self.wrapped(node.prediction, Precedence.ATOM)
        y = self.wrapped(node.target, Precedence.ATOM)
        rows, columns = node.prediction.shape
        return LOSS_OPS[node.kind].latex(h, y, rows * columns, node.prediction.is_scalar, **dict(node.options))

    def visit_LossGradient(self, node: T.LossGradient) -> Printed:
        h = self.wrapped(node.prediction, Precedence.ATOM)
        y = self.wrapped(node.target, Precedence.ATOM)
        rows, columns = node.prediction.shape
        return LOSS_OPS[node.kind].gradient(node.wrt).latex(h, y, rows * columns, **dict(node.options))
