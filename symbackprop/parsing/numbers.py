"""Number literals read as exact SymPy numbers, with their size bounded before they are built."""

from __future__ import annotations

import ast
import re

import sympy

from ..errors import ExpressionError
from .limits import Limits
from .source import Source

__all__ = ["digit_count", "number_from_literal", "signed_literal"]

# Only a decimal exponent this short can be turned into an int without a blow-up;
# anything longer is far outside every sensible digit limit anyway.
_MAX_EXPONENT_FIELD_DIGITS = 6
_DECIMAL_LITERAL = re.compile(r"(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")


def number_from_literal(node: ast.Constant, source: Source, limits: Limits) -> sympy.Rational:
    """The exact SymPy number for a numeric literal; any other constant is refused."""
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(
            f"{_constant_kind(value)} are not allowed ({source.snippet(node)} at {source.where(node)})"
        )
    if isinstance(value, int):
        if abs(value) >= 10**limits.max_number_digits:
            raise _too_many_digits(node, source, limits)
        return sympy.Integer(value)
    return _exact_decimal(node, source, limits)


def digit_count(number: sympy.Rational) -> int:
    return len(str(abs(number.p))) + len(str(number.q)) - 1


def signed_literal(node: ast.expr) -> tuple[int, ast.Constant] | None:
    """(sign, literal) for ``3``, ``-3`` or ``+3``; None for anything else."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and _is_number(node.value):
        return sign, node
    return None


def _exact_decimal(node: ast.Constant, source: Source, limits: Limits) -> sympy.Rational:
    # The float the parser produced is already rounded (0.1 is not 1/10), so the
    # exact value is rebuilt from the literal's text.
    literal = source.segment(node).replace("_", "")
    match = _DECIMAL_LITERAL.fullmatch(literal)
    if not match or not literal:
        raise ExpressionError(f"unsupported number {source.snippet(node)} at {source.where(node)}")
    integer_part, fraction_part, exponent_field = match.groups(default="")
    exponent_field = exponent_field or "0"
    if len(exponent_field.lstrip("+-")) > _MAX_EXPONENT_FIELD_DIGITS:
        raise _too_many_digits(node, source, limits)
    significant_digits = (integer_part + fraction_part).lstrip("0")
    if not significant_digits:
        return sympy.Integer(0)
    decimal_shift = int(exponent_field) - len(fraction_part)
    digits_written_out = len(significant_digits) + abs(decimal_shift)
    if digits_written_out > limits.max_number_digits:
        raise _too_many_digits(node, source, limits)
    if decimal_shift >= 0:
        return sympy.Integer(int(significant_digits) * 10**decimal_shift)
    return sympy.Rational(int(significant_digits), 10**-decimal_shift)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _too_many_digits(node: ast.Constant, source: Source, limits: Limits) -> ExpressionError:
    return ExpressionError(
        f"number {source.snippet(node)} at {source.where(node)} has more than "
        f"{limits.max_number_digits} digits; the limit is {limits.max_number_digits}"
    )


def _constant_kind(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "True, False and None"
    if isinstance(value, (str, bytes)):
        return "text literals"
    if isinstance(value, complex):
        return "complex numbers"
    return f"{type(value).__name__} literals"
