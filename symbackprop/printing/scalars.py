"""LaTeX for scalar SymPy expressions, in the notation of the reference page.

A subclass of SymPy's LaTeX printer, not a fork: it changes only what the page
writes differently — ReLU′ as 𝟏[z > 0] (SymPy's θ would read as a parameter),
σ for the sigmoid, ∂L/∂h for an upstream gradient, W^{(1)}_{12} for an element —
and it can show numbers (or any text) in place of symbols, parenthesised where
precedence needs it, for the worked example.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter

from ..ops import FUNCTION_OPS
from ..ops.activations import Sigmoid
from ..ops.stable import LogSumExp
from ..tensor import BATCH_SIZE, AdjointSymbol
from .names import Notation


@dataclass(frozen=True)
class Shown:
    """Text printed in place of a symbol; ``negative`` and ``compound`` decide its parentheses."""

    text: str
    negative: bool = False
    compound: bool = False

    @property
    def needs_parentheses(self) -> bool:
        return self.negative or self.compound


class ScalarPrinter(LatexPrinter):
    """``doprint(expr)`` → LaTeX; symbols in ``shown`` print as the given text."""

    printmethod = "_symbackprop_latex"

    def __init__(self, notation: Notation, shown: Mapping[sp.Symbol, Shown] | None = None, *,
                 numeric: bool | None = None) -> None:
        numeric = bool(shown) if numeric is None else numeric
        # A number next to a number needs an explicit ·; names read fine side by side.
        super().__init__({"long_frac_ratio": 2, "mul_symbol": "dot" if numeric else None})
        self.notation = notation
        self.shown = shown if shown is not None else {}  # read only; copying it per expression is quadratic

    # -- symbols ------------------------------------------------------------------------

    def _print_NumberSymbol(self, expr: sp.NumberSymbol, *args: object) -> str:
        # π, γ, φ …: SymPy writes them through their own ``_latex``, which this printer's printmethod skips
        return expr._latex(self)

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        if expr in self.shown:
            return self.shown[expr].text
        if expr == BATCH_SIZE:
            return "N"
        if expr.name in self.notation.network:
            return self.notation.name(expr.name)
        return super()._print_Symbol(expr, style=style)

    def _print_AdjointSymbol(self, expr: AdjointSymbol, style: str = "plain") -> str:
        if expr in self.shown:
            return self.shown[expr].text
        return self.notation.adjoint(expr.of)

    # -- the page's functions -------------------------------------------------------------

    def _print_Heaviside(self, expr: sp.Heaviside, exp: str | None = None) -> str:
        argument = expr.args[0]
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        flipped = argument.could_extract_minus_sign()
        magnitude = self._print(-argument if flipped else argument)
        if at_zero in (0, 1):
            return _power(indicator(magnitude, _RELATIONS[(flipped, at_zero == 1)]), exp)
        # another value at the tie (SymPy's default is 1/2): the strict comparison plus the tie
        tie = rf"{self._print(at_zero)} \, {indicator(magnitude, '=')}"
        text = rf"\left({indicator(magnitude, _RELATIONS[(flipped, False)])} + {tie}\right)"
        return rf"{text}^{{{exp}}}" if exp else text

    def _print_Function(self, expr: sp.Function, exp: str | None = None) -> str:
        op = FUNCTION_OPS.get(type(expr).__name__)
        if op is not None and op.latex_of is not None:
            text = op.latex_of([self._print(a) for a in expr.args])
            return rf"\left({text}\right)^{{{exp}}}" if exp else text
        if op is None or op.latex is None:
            return super()._print_Function(expr, exp)
        return self._function(op.latex, expr.args[0], exp)  # further arguments (a slope) are the name's

    # -- the scalar level's losses (symbackprop.stable), as the textbook writes them -------------

    def _print_LogSumExp(self, expr: sp.Function, exp: str | None = None) -> str:
        return self._function(r"\log", sp.Add(*(sp.exp(a) for a in expr.args), evaluate=False), exp)

    def _print_exp(self, expr: sp.exp, exp: str | None = None) -> str:
        softmax = _softmax_parts(expr.args[0])
        if softmax is None:
            return super()._print_ExpBase(expr, exp)
        logit, log_sum = softmax
        text = rf"\frac{{{self._print(sp.exp(logit))}}}{{{self._print(sp.Add(*(sp.exp(a) for a in log_sum.args)))}}}"
        return rf"\left({text}\right)^{{{exp}}}" if exp else text

    def _print_LogLikelihood(self, expr: sp.Function, exp: str | None = None) -> str:
        p, y = expr.args
        text = (rf"{self._operand(y)} {self._log(p)} + \left({self._print(1 - y)}\right) "
                rf"{self._log(1 - p)}")
        return rf"\left({text}\right)^{{{exp}}}" if exp else text

    def _print_LikelihoodSlope(self, expr: sp.Function, exp: str | None = None) -> str:
        p, y = expr.args
        text = rf"\frac{{{self._print(y - p)}}}{{{self._operand(p)} \left({self._print(1 - p)}\right)}}"
        return rf"\left({text}\right)^{{{exp}}}" if exp else text

    def _print_LogOdds(self, expr: sp.Function, exp: str | None = None) -> str:
        p = expr.args[0]
        text = rf"{self._log(p)} - {self._log(1 - p)}"
        return rf"\left({text}\right)^{{{exp}}}" if exp else text

    def _operand(self, expr: sp.Expr) -> str:
        """A factor's text, in parentheses unless it is a single name or a plain number."""
        text = self._print(expr)
        shown = self.shown.get(expr)
        simple = shown is not None and not shown.needs_parentheses or shown is None and (expr.is_Symbol or (
            expr.is_Number and not expr.is_negative))
        return text if simple else rf"\left({text}\right)"

    def _log(self, argument: sp.Expr) -> str:
        operand = self._operand(argument)
        return rf"\log {operand}" if not operand.startswith(r"\left(") else rf"\log{operand}"

    def _function(self, name: str, argument: sp.Expr, exp: str | None) -> str:
        head = f"{name}^{{{exp}}}" if exp else name
        return rf"{head}\left({self._print(argument)}\right)"

    # -- products: the upstream gradient first, as the chain rule writes it ---------------------

    def _print_Mul(self, expr: sp.Mul) -> str:
        coefficient, rest = expr.as_coeff_Mul()
        factors = list(sp.Mul.make_args(rest))
        adjoints = [f for f in factors if isinstance(f, AdjointSymbol)]
        pair = _sigmoid_pair(factors)
        if not adjoints and pair is None:
            return super()._print_Mul(expr)
        if coefficient.is_negative:
            return "- " + self._print(-expr)
        others = [f for f in factors if f not in adjoints and (pair is None or f not in pair)]
        parts: list[str] = []
        if coefficient != 1:
            parts.append(self._print(coefficient))
        parts.extend(self._factor(a, first=not parts) for a in adjoints)
        if pair is not None:
            argument = self._print(pair[0].args[0])
            parts.append(rf"\sigma\left({argument}\right) \left(1 - \sigma\left({argument}\right)\right)")
        if others:
            remainder = sp.Mul(*others)
            text = self._print(remainder)
            if remainder.is_Add or (remainder in self.shown and self.shown[remainder].needs_parentheses):
                text = rf"\left({text}\right)"
            parts.append(text)
        return r" \cdot ".join(parts)

    def _factor(self, term: sp.Expr, first: bool) -> str:
        text = self._print(term)
        return rf"\left({text}\right)" if self._needs_mul_brackets(term, first=first) else text

    # -- parentheses around shown text -------------------------------------------------------

    def _needs_mul_brackets(self, expr: sp.Expr, first: bool = False, last: bool = False) -> bool:
        if expr in self.shown:
            shown = self.shown[expr]
            return shown.compound or (shown.negative and not first)
        return super()._needs_mul_brackets(expr, first=first, last=last)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        terms = list(self._as_ordered_terms(expr, order=order))
        positive = next((t for t in terms if not t.could_extract_minus_sign()), None)
        if positive is not None and terms[0].could_extract_minus_sign():
            terms.remove(positive)  # y − h rather than −h + y
            terms.insert(0, positive)
        text = ""
        for i, term in enumerate(terms):
            if i > 0 and term.could_extract_minus_sign():
                text += " - "
                term = -term
            elif i > 0:
                text += " + "
            term_text = self._print(term)
            if self._needs_add_brackets(term) or (i > 0 and self._shown_negative(term)):
                term_text = rf"\left({term_text}\right)"
            elif i > 0 and term_text.startswith("-"):
                # a product led by a negative number: a + (−b)·c reads a − b·c, never "a + -b·c"
                text = text[:-3] + (" + " if text.endswith(" - ") else " - ")
                term_text = term_text[1:].lstrip()
            text += term_text
        return text

    def _needs_add_brackets(self, expr: sp.Expr) -> bool:
        if expr in self.shown and self.shown[expr].compound:
            return True
        return super()._needs_add_brackets(expr)

    def _shown_negative(self, expr: sp.Expr) -> bool:
        return expr in self.shown and self.shown[expr].negative

    def parenthesize(self, item: Any, level: int, is_neg: bool = False, strict: bool = False) -> str:
        if item in self.shown and self.shown[item].needs_parentheses:
            return rf"\left({self.shown[item].text}\right)"
        return super().parenthesize(item, level, is_neg=is_neg, strict=strict)


def indicator(argument: str, relation: str) -> str:
    r"""\mathbf{1}[a > 0]; brackets grow with a matrix argument."""
    if r"\begin" in argument:
        return rf"\mathbf{{1}}\left[{argument} {relation} 0\right]"
    return rf"\mathbf{{1}}[{argument} {relation} 0]"


#: Heaviside(z, 0) is 𝟏[z > 0] and Heaviside(z, 1) is 𝟏[z ≥ 0]; a negated argument flips the comparison.
_RELATIONS = {(False, False): ">", (False, True): r"\ge", (True, False): "<", (True, True): r"\le"}


def _power(text: str, exp: str | None) -> str:
    return rf"\left({text}\right)^{{{exp}}}" if exp else text


def _sigmoid_pair(factors: list[sp.Expr]) -> tuple[sp.Expr, sp.Expr] | None:
    """σ(a)·(1 − σ(a)), σ′(a), or the equal σ(a)·σ(−a), both written as the page does: σ(a)(1 − σ(a))."""
    sigmoids = [f for f in factors if isinstance(f, Sigmoid)]
    for first in sigmoids:
        if 1 - first in factors:
            return first, 1 - first
        for second in sigmoids:
            if second.args[0] == -first.args[0] and not first.args[0].could_extract_minus_sign():
                return first, second
    return None


def _softmax_parts(argument: sp.Expr) -> tuple[sp.Expr, LogSumExp] | None:
    """zₖ and LogSumExp(z) where ``argument`` is zₖ − LogSumExp(z): e to it is the softmax e^{zₖ}/Σ e^{z}."""
    terms = sp.Add.make_args(argument)
    sums = [t for t in terms if isinstance(-t, LogSumExp)]
    if len(sums) != 1:
        return None
    logit = sp.Add(*(t for t in terms if t is not sums[0]))
    return (logit, -sums[0]) if logit in (-sums[0]).args else None


def scalar_latex(expr: Any, notation: Notation, shown: Mapping[sp.Symbol, Shown] | None = None) -> str:
    """LaTeX for a scalar SymPy expression (numbers and SymPy objects only)."""
    return ScalarPrinter(notation, shown).doprint(sp.sympify(expr))
