"""Read expression strings from network specs without ever executing them.

Specs are written by users who may not be trusted, so their text must never reach
``eval``, ``exec``, ``sympify`` or ``parse_expr``: each of those can run arbitrary
Python (``__import__('os').system(...)``).  Instead the text is parsed into a
Python syntax tree with :func:`ast.parse`, which only builds data, and the tree
is interpreted here against a strict whitelist: numbers, the names and functions
the caller hands in, unary minus and the operators ``+ - * / @ **``.

Work happens in three stages so that hostile input is rejected cheaply and
before any operand is touched:

1. the raw text is measured (length) and parsed, turning every parser failure,
   including the ``RecursionError``/``MemoryError`` CPython raises for absurd
   nesting, into :class:`~symbackprop.errors.ExpressionError`;
2. the tree is measured (node count, depth) iteratively and then checked in full
   (node types, names, number sizes, exponents);
3. only a fully approved tree is evaluated by combining the caller's objects
   with ordinary Python operators.
"""

from __future__ import annotations

import ast
import keyword
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sympy

from .errors import ExpressionError, InvalidNameError, SymbackpropError

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "parse_assignment_name",
    "parse_expression",
]


@dataclass(frozen=True)
class Limits:
    """Upper bounds that keep hostile or runaway expressions cheap to reject.

    ``max_number_digits * max_exponent`` also caps the digits that all numbers of
    one expression may grow to together, so that exact rational arithmetic on
    them stays instantaneous.
    """

    max_length: int = 2000
    """Characters in the expression text."""
    max_nodes: int = 500
    """Numbers, names, operations and calls in the parsed expression."""
    max_depth: int = 50
    """Levels of nesting in the parsed expression."""
    max_exponent: int = 64
    """Largest absolute value of an exponent, also across nested powers."""
    max_number_digits: int = 30
    """Digits of a number literal when written out in full, e.g. ``1e-3`` is ``0.001``."""


DEFAULT_LIMITS = Limits()

_BINARY_OPERATORS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
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
    ast.Subscript: "indexing is",
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
_MAX_SNIPPET_LENGTH = 40
# Only a decimal exponent this short can be turned into an int without a blow-up;
# anything longer is far outside every sensible digit limit anyway.
_MAX_EXPONENT_FIELD_DIGITS = 6
_DECIMAL_LITERAL = re.compile(r"(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LEADING_WHITESPACE = " \t\f\r\n"


def parse_expression(
    text: str,
    names: Mapping[str, object],
    functions: Mapping[str, Callable[..., object]],
    *,
    limits: Limits = DEFAULT_LIMITS,
    check: Callable[[object], str | None] | None = None,
) -> object:
    """Interpret ``text`` as an arithmetic expression over ``names`` and ``functions``.

    ``names`` maps each usable name to the object it stands for, ``functions``
    maps each callable name to its implementation.  Numbers become exact SymPy
    numbers (``0.5`` is ``Rational(1, 2)``).  Anything outside the whitelist
    raises :class:`~symbackprop.errors.ExpressionError`; errors raised on purpose
    by the operands themselves (any :class:`~symbackprop.errors.SymbackpropError`)
    pass through unchanged.  ``check`` sees the result of every operation and
    call; a reason it returns is reported as an ExpressionError at that part of
    the text (``1/0`` at column 9 rather than somewhere in the whole).
    """
    source = _Source.parse(text, limits)
    _check_size(source.tree, limits)
    checker = _Checker(source, names, functions, limits)
    checker.check(source.tree.body, exponent_scale=sympy.Integer(1))
    return _Evaluator(source, names, functions, limits, check).evaluate(source.tree.body)


def parse_assignment_name(text: str) -> str:
    """Return ``text`` if it is usable as a node name, else raise InvalidNameError.

    A name starts with an ASCII letter and continues with letters, digits and
    underscores; Python keywords and double underscores are refused because such
    names collide with Python syntax or with its special attributes.
    """
    if not isinstance(text, str):
        raise InvalidNameError(f"a name must be text, not {type(text).__name__}")
    if not _IDENTIFIER.fullmatch(text):
        raise InvalidNameError(
            f"invalid name {text!r}: a name starts with a letter and contains only letters, digits and underscores"
        )
    if keyword.iskeyword(text):
        raise InvalidNameError(f"invalid name {text!r}: it is a Python keyword")
    if "__" in text:
        raise InvalidNameError(f"invalid name {text!r}: double underscores are not allowed")
    return text


@dataclass(frozen=True)
class _Source:
    """The parsed tree together with what is needed to point at places in the text."""

    tree: ast.Expression
    parsed_text: str
    skipped_lines: int
    first_line_indent: int

    @classmethod
    def parse(cls, text: object, limits: Limits) -> _Source:
        if not isinstance(text, str):
            raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
        # Length first: the parser's own cost and failure modes grow with the input.
        if len(text) > limits.max_length:
            raise ExpressionError(f"expression is {len(text)} characters long; the limit is {limits.max_length}")
        # ast.parse treats leading blanks as an indentation error, which a spec
        # author would find baffling, so they are skipped and offsets adjusted.
        parsed_text = text.lstrip(_LEADING_WHITESPACE)
        if not parsed_text.strip():
            raise ExpressionError("expression is empty")
        skipped = text[: len(text) - len(parsed_text)]
        skipped_lines = len(_split_lines(skipped)) - 1
        first_line_indent = len(_split_lines(skipped)[-1])
        tree = _parse_tree(parsed_text, skipped_lines, first_line_indent)
        return cls(tree, parsed_text, skipped_lines, first_line_indent)

    def where(self, node: ast.AST, *, column_shift: int = 0) -> str:
        """'column 5' (or 'line 2, column 5' in multi-line text) for the start of ``node``."""
        lines = _split_lines(self.parsed_text)
        line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
        # ast offsets count UTF-8 bytes; users count characters.
        characters_before = len(line.encode("utf-8")[: node.col_offset].decode("utf-8", "ignore"))
        return self._position(node.lineno, characters_before + 1 + column_shift)

    def snippet(self, node: ast.AST) -> str:
        """The text of ``node``, shortened and quoted so it fits on one line."""
        segment = ast.get_source_segment(self.parsed_text, node) or type(node).__name__
        segment = " ".join(segment.split())
        if len(segment) > _MAX_SNIPPET_LENGTH:
            segment = segment[: _MAX_SNIPPET_LENGTH - 3] + "..."
        return repr(segment)

    def _position(self, lineno: int, column: int) -> str:
        return _describe_position(lineno, column, self.skipped_lines, self.first_line_indent)


def _parse_tree(parsed_text: str, skipped_lines: int, first_line_indent: int) -> ast.Expression:
    try:
        return ast.parse(parsed_text, mode="eval")
    except SyntaxError as error:
        # Also covers CPython's "too many nested parentheses".
        message = " ".join(str(error.msg).split())
        if error.lineno and error.offset and error.offset > 0:
            where = _describe_position(error.lineno, error.offset, skipped_lines, first_line_indent)
            raise ExpressionError(f"syntax error at {where}: {message}") from None
        raise ExpressionError(f"syntax error: {message}") from None
    except ValueError as error:  # null bytes on older CPython versions
        raise ExpressionError(f"syntax error: {error}") from None
    except (RecursionError, MemoryError):
        # CPython gives up on deeply nested input with these instead of SyntaxError.
        raise ExpressionError("expression is nested too deeply to parse") from None


def _describe_position(lineno: int, column: int, skipped_lines: int, first_line_indent: int) -> str:
    if lineno == 1:
        column += first_line_indent
    lineno += skipped_lines
    if lineno == 1:
        return f"column {column}"
    return f"line {lineno}, column {column}"


def _split_lines(text: str) -> list[str]:
    # The tokenizer's notion of a line break, which is narrower than str.splitlines.
    return re.split(r"\r\n|\r|\n", text)


def _check_size(tree: ast.Expression, limits: Limits) -> None:
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


class _Checker:
    """Approves a tree node by node; raises ExpressionError at the first problem.

    Recursion here is safe because _check_size has already bounded the depth.
    """

    def __init__(
        self,
        source: _Source,
        names: Mapping[str, object],
        functions: Mapping[str, Callable[..., object]],
        limits: Limits,
    ) -> None:
        self.source = source
        self.names = names
        self.functions = functions
        self.limits = limits
        self.number_digits = 0
        self.number_digits_limit = limits.max_number_digits * limits.max_exponent

    def check(self, node: ast.AST, *, exponent_scale: sympy.Rational) -> None:
        """``exponent_scale`` is the product of the exponents of enclosing powers
        whose base contains ``node``: ``((9**64)**64)**64`` is 9**262144, so a
        limit on each exponent alone would not keep the numbers small."""
        if isinstance(node, ast.Constant):
            self._count_number(node, exponent_scale)
        elif isinstance(node, ast.Name):
            self._check_name(node)
        elif isinstance(node, ast.UnaryOp):
            self._check_unary(node, exponent_scale)
        elif isinstance(node, ast.BinOp):
            self._check_binary(node, exponent_scale)
        elif isinstance(node, ast.Call):
            self._check_call(node, exponent_scale)
        else:
            raise _forbidden(node, self.source)

    def _check_name(self, node: ast.Name) -> None:
        _check_identifier(node.id, node, self.source)
        if node.id in self.names:
            return
        if node.id in self.functions:
            raise ExpressionError(
                f"'{node.id}' at {self.source.where(node)} is a function; call it, as in {node.id}(...)"
            )
        raise ExpressionError(
            f"unknown name '{node.id}' at {self.source.where(node)}; known names: {_list_known(self.names)}"
        )

    def _check_unary(self, node: ast.UnaryOp, exponent_scale: sympy.Rational) -> None:
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise _forbidden_operator(node.op, node, self.source)
        self.check(node.operand, exponent_scale=exponent_scale)

    def _check_binary(self, node: ast.BinOp, exponent_scale: sympy.Rational) -> None:
        if type(node.op) not in _BINARY_OPERATORS:
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
        literal = _signed_literal(node)
        if literal is not None:
            sign, constant = literal
            exponent = sign * _number_from_literal(constant, self.source, self.limits)
            if abs(exponent) <= limit:
                return exponent
        raise ExpressionError(
            f"exponent {_unquoted(self.source.snippet(node))} at {self.source.where(node)} "
            f"is not allowed: the exponent must be a number between -{limit} and {limit}"
        )

    def _check_call(self, node: ast.Call, exponent_scale: sympy.Rational) -> None:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise _forbidden(node.func, self.source)
            raise ExpressionError(
                f"only functions called by name are allowed ({self.source.snippet(node)} at {self.source.where(node)})"
            )
        self._check_function_name(node.func)
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                raise _forbidden(argument, self.source)
            self.check(argument, exponent_scale=exponent_scale)
        for keyword_argument in node.keywords:
            self._check_keyword(keyword_argument)

    def _check_function_name(self, node: ast.Name) -> None:
        _check_identifier(node.id, node, self.source)
        if node.id in self.functions:
            return
        if node.id in self.names:
            raise ExpressionError(
                f"'{node.id}' at {self.source.where(node)} is not a function; "
                f"known functions: {_list_known(self.functions)}"
            )
        raise ExpressionError(
            f"unknown function '{node.id}' at {self.source.where(node)}; known functions: {_list_known(self.functions)}"
        )

    def _check_keyword(self, node: ast.keyword) -> None:
        if node.arg is None:
            raise ExpressionError(
                f"unpacking with '**' is not allowed ({self.source.snippet(node)} at {self.source.where(node)})"
            )
        _check_identifier(node.arg, node, self.source)
        literal = _signed_literal(node.value)
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
        number = _number_from_literal(node, self.source, self.limits)
        self.number_digits += _digit_count(number) * exponent_scale
        if self.number_digits > self.number_digits_limit:
            raise ExpressionError(
                f"the numbers in this expression would grow to more than "
                f"{self.number_digits_limit} digits (at {self.source.where(node)}); "
                f"the limit is {self.limits.max_number_digits} digits per number "
                f"times the exponent limit {self.limits.max_exponent}"
            )


class _Evaluator:
    """Combines the caller's objects along a tree that _Checker has approved."""

    def __init__(
        self,
        source: _Source,
        names: Mapping[str, object],
        functions: Mapping[str, Callable[..., object]],
        limits: Limits,
        check: Callable[[object], str | None] | None = None,
    ) -> None:
        self.source = source
        self.names = names
        self.functions = functions
        self.limits = limits
        self.check = check

    def evaluate(self, node: ast.AST) -> object:
        if isinstance(node, ast.Constant):
            return _number_from_literal(node, self.source, self.limits)
        if isinstance(node, ast.Name):
            return self.names[node.id]
        if isinstance(node, ast.UnaryOp):
            operand = self.evaluate(node.operand)
            if isinstance(node.op, ast.UAdd):
                # Returned as is so that operand types need not implement __pos__.
                return operand
            return self._apply(node, operator.neg, operand)
        if isinstance(node, ast.BinOp):
            combine = _BINARY_OPERATORS[type(node.op)]
            return self._apply(node, combine, self.evaluate(node.left), self.evaluate(node.right))
        if isinstance(node, ast.Call):
            return self._call(node)
        raise AssertionError(f"unchecked node {type(node).__name__}")  # pragma: no cover

    def _call(self, node: ast.Call) -> object:
        assert isinstance(node.func, ast.Name)
        function = self.functions[node.func.id]
        arguments = [self.evaluate(argument) for argument in node.args]
        keyword_arguments = {
            keyword_argument.arg: self.evaluate(keyword_argument.value)
            for keyword_argument in node.keywords
            if keyword_argument.arg is not None
        }
        return self._apply(node, function, *arguments, **keyword_arguments)

    def _apply(self, node: ast.AST, function: Callable[..., object], *args: Any, **kwargs: Any) -> object:
        try:
            result = function(*args, **kwargs)
        except SymbackpropError:
            # The operands' own errors (e.g. shape mismatches) already say what is wrong.
            raise
        except Exception as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise ExpressionError(
                f"cannot compute {self.source.snippet(node)} at {self.source.where(node)}: {reason}"
            ) from error
        problem = self.check(result) if self.check is not None else None
        if problem:
            raise ExpressionError(f"cannot compute {self.source.snippet(node)} at {self.source.where(node)}: {problem}")
        return result


def _number_from_literal(node: ast.Constant, source: _Source, limits: Limits) -> sympy.Rational:
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


def _exact_decimal(node: ast.Constant, source: _Source, limits: Limits) -> sympy.Rational:
    # The float the parser produced is already rounded (0.1 is not 1/10), so the
    # exact value is rebuilt from the literal's text.
    literal = (ast.get_source_segment(source.parsed_text, node) or "").replace("_", "")
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


def _digit_count(number: sympy.Rational) -> int:
    return len(str(abs(number.p))) + len(str(number.q)) - 1


def _signed_literal(node: ast.expr) -> tuple[int, ast.Constant] | None:
    """(sign, literal) for ``3``, ``-3`` or ``+3``; None for anything else."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and _is_number(node.value):
        return sign, node
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_identifier(name: str, node: ast.AST, source: _Source) -> None:
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


def _forbidden(node: ast.AST, source: _Source) -> ExpressionError:
    if isinstance(node, ast.Attribute):
        # Point at the attribute name itself, which is what the user has to remove.
        attribute_start = (node.end_col_offset or 0) - len(node.attr.encode("utf-8"))
        where = source.where(node, column_shift=_char_distance(source, node, attribute_start))
        return ExpressionError(f"attribute access is not allowed ('.{node.attr}' at {where})")
    description = _FORBIDDEN_CONSTRUCTS.get(type(node), f"'{type(node).__name__}' is")
    return ExpressionError(f"{description} not allowed ({source.snippet(node)} at {source.where(node)})")


def _char_distance(source: _Source, node: ast.AST, byte_offset: int) -> int:
    """Characters between the start of ``node`` and ``byte_offset`` on its last line."""
    if node.end_lineno != node.lineno:
        return 0
    line = _split_lines(source.parsed_text)[node.lineno - 1].encode("utf-8")
    return len(line[node.col_offset : byte_offset].decode("utf-8", "ignore"))


def _forbidden_operator(op: ast.AST, node: ast.AST, source: _Source) -> ExpressionError:
    symbol = _OPERATOR_SYMBOLS.get(type(op), type(op).__name__)
    return ExpressionError(
        f"operator '{symbol}' is not allowed ({source.snippet(node)} at {source.where(node)}); "
        f"allowed operators: {_ALLOWED_OPERATORS_TEXT}"
    )


def _too_many_digits(node: ast.Constant, source: _Source, limits: Limits) -> ExpressionError:
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


def _unquoted(quoted: str) -> str:
    return quoted[1:-1] if len(quoted) >= 2 and quoted[0] == quoted[-1] == "'" else quoted
