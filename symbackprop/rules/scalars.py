"""Scalar SymPy expressions: differentiated by SymPy one named input at a time, the rule named for the prose."""

from __future__ import annotations

import sympy as sp

from ..errors import UnsupportedFunctionError
from ..ops import FUNCTION_OPS, activation_op_of


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
    function = FUNCTION_OPS.get(type(expr).__name__) if isinstance(expr, sp.Function) else None
    if function is not None and function.rule is not None:
        return function.rule
    if isinstance(expr, sp.Mul) and len(expr.args) == 2 and expr.args[0] == sp.Rational(1, 2):
        inner = expr.args[1]
        if isinstance(inner, sp.Pow) and inner.exp == 2 and inner.base.is_Add and inner.base.has(symbol):
            # ½(h − y)²: the symbol subtracted is the target, which receives (y − h)
            subtracted = inner.base.coeff(symbol) == -1
            return "loss_target:half_squared_error" if subtracted else "loss:half_squared_error"
    if isinstance(expr, sp.Pow) and expr.base == symbol and expr.exp.is_number:
        return "power"
    return "scalar"
