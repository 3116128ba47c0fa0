"""What an expression may contain: its size, its node types, its names, its numbers and exponents.

A tree is approved here in full before any operand is touched, so hostile input is
refused cheaply and the evaluator only ever sees what this module let through.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy

from ..errors import ExpressionError
from .limits import Limits
from .numbers import digit_count, number_from_literal, signed_literal
from .source import Source, unquoted
from .subscripts import index_constants

__all__ = ["BINARY_OPERATORS", "Checker", "check_size"]

BINARY_OPERATORS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.MatMult: operator.matmul,
    ast.Pow: operator.pow,
}

_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
}

_FORBIDDEN_CONSTRUCTS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access is",
    ast.Slice: "slices are",
    ast.Lambda: "lambda expressions are",
    ast.ListComp: "comprehensions are",
    ast.SetComp: "comprehensions are",
    ast.DictComp: "comprehensions are",
    ast.GeneratorExp: "generator expressions are",
    ast.IfExp: "conditional expressions are",
    ast.Compare: "comparisons are",
    ast.BoolOp: "'and' and 'or' are",
    ast.Starred: "unpacking with '*' is",
    ast.Dict: "dict literals are",
    ast.List: "list literals are",
    ast.Set: "set literals are",
    ast.Tuple: "tuples are",
    ast.JoinedStr: "f-strings are",
    ast.FormattedValue: "f-strings are",
    ast.NamedExpr: "assignment expressions (:=) are",
    ast.Await: "'await' is",
    ast.Yield: "'yield' is",
    ast.YieldFrom: "'yield' is",
}

_ALLOWED_OPERATORS_TEXT = "+ - * / @ ** and unary -"
_MAX_LISTED_NAMES = 20


def check_size(tree: ast.Expression, limits: Limits) -> None:
    """Reject trees that are too big or too deep, without recursing over them."""
    node_count = 0
    for node in ast.walk(tree.body):
        if _is_counted(node):
            node_count += 1
            if node_count > limits.max_nodes:
                raise ExpressionError(
                    f"expression has more than {limits.max_nodes} numbers, names and "
                    f"operations; the limit is {limits.max_nodes}"
                )
    for depth in _depths(tree.body):
        if depth > limits.max_depth:
            raise ExpressionError(
                f"expression is nested more than {limits.max_depth} levels deep; the limit is {limits.max_depth}"
            )


def _depths(root: ast.AST) -> Iterator[int]:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        yield depth
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node) if _is_counted(child))


def _is_counted(node: ast.AST) -> bool:
    # Operator and context markers (Add, Load) are bookkeeping, not parts a user wrote.
    return isinstance(node, (ast.expr, ast.keyword))


@dataclass
class Checker:
    """Approves a tree node by node; raises ExpressionError at the first problem.

    Recursion here is safe because check_size has already bounded the depth.
    """

    source: Source
    names: Mapping[str, object]
    functions: Mapping[str, Callable[..., object]]
    limits: Limits
    attributes: Mapping[str, Callable[..., object]] = field(default_factory=dict)
    number_digits: int = field(default=0, init=False)

    @property
    def number_digits_limit(self) -> int:
        return self.limits.max_number_digits * self.limits.max_exponent

    def check(self, node: ast.AST, *, exponent_scale: sympy.Rational) -> None:
        """``exponent_scale`` is the product of the exponents of enclosing powers
        whose base contains ``node``: ``((9**64)**64)**64`` is 9**262144, so a
        limit on each exponent alone would not keep the numbers small."""
        if isinstance(node, ast.Constant):
            self._count_number(node, exponent_scale)
        elif isinstance(node, ast.Name):
            self._check_reference(node, called=False)
        elif isinstance(node, ast.UnaryOp):
            self._check_unary(node, exponent_scale)
        elif isinstance(node, ast.BinOp):
            self._check_binary(node, exponent_scale)
        elif isinstance(node, ast.Call):
            self._check_call(node, exponent_scale)
        elif isinstance(node, ast.Subscript):
            self._check_subscript(node)
        elif isinstance(node, ast.Attribute) and node.attr in self.attributes:
            self.check(node.value, exponent_scale=exponent_scale)
        else:
            raise _forbidden(node, self.source)

    def _check_reference(self, node: ast.Name, *, called: bool) -> None:
        """A plain name must stand for an operand, a called one for a function."""
        _check_identifier(node.id, node, self.source)
        wanted, other = (self.functions, self.names) if called else (self.names, self.functions)
        if node.id in wanted:
            return
        where = self.source.where(node)
        kind = "function" if called else "name"
        if node.id not in other:
            raise ExpressionError(f"unknown {kind} '{node.id}' at {where}; known {kind}s: {_list_known(wanted)}")
        if called:
            raise ExpressionError(f"'{node.id}' at {where} is not a function; known functions: {_list_known(wanted)}")
        raise ExpressionError(f"'{node.id}' at {where} is a function; call it, as in {node.id}(...)")

    def _check_unary(self, node: ast.UnaryOp, exponent_scale: sympy.Rational) -> None:
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise _forbidden_operator(node.op, node, self.source)
        self.check(node.operand, exponent_scale=exponent_scale)

    def _check_binary(self, node: ast.BinOp, exponent_scale: sympy.Rational) -> None:
        if type(node.op) not in BINARY_OPERATORS:
            raise _forbidden_operator(node.op, node, self.source)
        if isinstance(node.op, ast.Pow):
            exponent = self._check_exponent(node.right)
            # Fractional exponents do not shrink the scale: the base is computed
            # before the root is taken, so it must already be affordable.
            exponent_scale = exponent_scale * max(abs(exponent), 1)
            if exponent_scale > self.limits.max_exponent:
                raise ExpressionError(
                    f"nested powers {self.source.snippet(node)} at {self.source.where(node)} "
                    f"multiply to an exponent of {exponent_scale}; "
                    f"the limit is {self.limits.max_exponent}"
                )
            self.check(node.left, exponent_scale=exponent_scale)
        else:
            self.check(node.left, exponent_scale=exponent_scale)
            self.check(node.right, exponent_scale=exponent_scale)

    def _check_exponent(self, node: ast.expr) -> sympy.Rational:
        limit = self.limits.max_exponent
        literal = signed_literal(node)
        if literal is not None:
            sign, constant = literal
            exponent = sign * number_from_literal(constant, self.source, self.limits)
            if abs(exponent) <= limit:
                return exponent
        raise ExpressionError(
            f"exponent {unquoted(self.source.snippet(node))} at {self.source.where(node)} "
            f"is not allowed: the exponent must be a number between -{limit} and {limit}"
        )

    def _check_call(self, node: ast.Call, exponent_scale: sympy.Rational) -> None:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise _forbidden(node.func, self.source)
            raise ExpressionError(
                f"only functions called by name are allowed ({self.source.snippet(node)} at {self.source.where(node)})"
            )
        self._check_reference(node.func, called=True)
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                raise _forbidden(argument, self.source)
            self.check(argument, exponent_scale=exponent_scale)
        for keyword_argument in node.keywords:
            self._check_keyword(keyword_argument)

    def _check_subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.value, ast.Attribute):
            raise _forbidden(node.value, self.source)
        for constant in index_constants(node, self.source):
            self._count_number(constant, exponent_scale=sympy.Integer(1))
        self._check_reference(node.value, called=False)

    def _check_keyword(self, node: ast.keyword) -> None:
        if node.arg is None:
            raise ExpressionError(
                f"unpacking with '**' is not allowed ({self.source.snippet(node)} at {self.source.where(node)})"
            )
        _check_identifier(node.arg, node, self.source)
        literal = signed_literal(node.value)
        if literal is None:
            raise ExpressionError(
                f"keyword argument '{node.arg}' at {self.source.where(node)} must be "
                f"a number, not {self.source.snippet(node.value)}"
            )
        self._count_number(literal[1], exponent_scale=sympy.Integer(1))

    def _count_number(self, node: ast.Constant, exponent_scale: sympy.Rational) -> None:
        # Products, quotients and sums of exact numbers have at most as many
        # digits as their parts together, and a power multiplies them; so this
        # sum bounds the size of every number the evaluation can produce.
        number = number_from_literal(node, self.source, self.limits)
        self.number_digits += digit_count(number) * exponent_scale
        if self.number_digits > self.number_digits_limit:
            raise ExpressionError(
                f"the numbers in this expression would grow to more than "
                f"{self.number_digits_limit} digits (at {self.source.where(node)}); "
                f"the limit is {self.limits.max_number_digits} digits per number "
                f"times the exponent limit {self.limits.max_exponent}"
            )


def _check_identifier(name: str, node: ast.AST, source: Source) -> None:
    # Underscore names are how Python reaches its internals (__import__,
    # __class__, __builtins__); none of them has a place in a network spec.
    if name.startswith("_") or "__" in name:
        raise ExpressionError(
            f"name '{name}' at {source.where(node)} is not allowed: names may not start with '_' or contain '__'"
        )


def _list_known(mapping: Mapping[str, object]) -> str:
    known = sorted(mapping)
    if not known:
        return "(none)"
    listed = ", ".join(known[:_MAX_LISTED_NAMES])
    if len(known) > _MAX_LISTED_NAMES:
        listed += f", ... ({len(known) - _MAX_LISTED_NAMES} more)"
    return listed


def _forbidden(node: ast.AST, source: Source) -> ExpressionError:
    if isinstance(node, ast.Attribute):
        # Point at the attribute name itself, which is what the user has to remove.
        attribute_start = (node.end_col_offset or 0) - len(node.attr.encode("utf-8"))
        where = source.where(node, column_shift=source.characters_between(node, attribute_start))
        return ExpressionError(f"attribute access is not allowed ('.{node.attr}' at {where})")
    description = _FORBIDDEN_CONSTRUCTS.get(type(node), f"'{type(node).__name__}' is")
    return ExpressionError(f"{description} not allowed ({source.snippet(node)} at {source.where(node)})")


def _forbidden_operator(op: ast.AST, node: ast.AST, source: Source) -> ExpressionError:
    symbol = _OPERATOR_SYMBOLS.get(type(op), type(op).__name__)
    return ExpressionError(
        f"operator '{symbol}' is not allowed ({source.snippet(node)} at {source.where(node)}); "
        f"allowed operators: {_ALLOWED_OPERATORS_TEXT}"
    )
