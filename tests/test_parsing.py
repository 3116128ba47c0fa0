"""The safe expression parser: exact results for good input, fast refusal of bad input."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import sympy

from symbackprop.errors import (
    ExpressionError,
    InvalidNameError,
    ShapeMismatchError,
    SymbackpropError,
)
from symbackprop.parsing import DEFAULT_LIMITS, Limits, parse_assignment_name, parse_expression

x, y, z, h2 = sympy.symbols("x y z h2")
NAMES = {"x": x, "y": y, "z": z, "h2": h2}


def leaky_relu(argument: object, slope: object = sympy.Rational(1, 100)) -> object:
    return sympy.Max(argument, slope * argument)


FUNCTIONS = {"exp": sympy.exp, "relu": leaky_relu}


def parse(text: str, *, limits: Limits = DEFAULT_LIMITS) -> object:
    return parse_expression(text, NAMES, FUNCTIONS, limits=limits)


def rejection_of(text: str, *, limits: Limits = DEFAULT_LIMITS, **mappings: object) -> str:
    """The message of the ExpressionError raised for ``text``; also checks it came fast."""
    names = mappings.get("names", NAMES)
    functions = mappings.get("functions", FUNCTIONS)
    started = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text, names, functions, limits=limits)
    # A guard against hangs, not a performance benchmark.
    assert time.perf_counter() - started < 1.0
    message = str(caught.value)
    assert "\n" not in message
    return message


class Recorder:
    """An operand type in the style of the package's tensor handles: it overloads
    the operators and records what was done, without being a SymPy object."""

    def __init__(self, label: str, log: list[str]) -> None:
        self.label = label
        self.log = log

    def _combine(self, symbol: str, other: object) -> Recorder:
        other_label = other.label if isinstance(other, Recorder) else str(other)
        label = f"({self.label} {symbol} {other_label})"
        self.log.append(label)
        return Recorder(label, self.log)

    def __add__(self, other: object) -> Recorder:
        return self._combine("+", other)

    def __sub__(self, other: object) -> Recorder:
        return self._combine("-", other)

    def __mul__(self, other: object) -> Recorder:
        return self._combine("*", other)

    def __truediv__(self, other: object) -> Recorder:
        return self._combine("/", other)

    def __matmul__(self, other: object) -> Recorder:
        return self._combine("@", other)

    def __pow__(self, other: object) -> Recorder:
        return self._combine("**", other)

    def __neg__(self) -> Recorder:
        self.log.append(f"-{self.label}")
        return Recorder(f"(-{self.label})", self.log)


# --- good input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.5 * (h2 - y)**2", sympy.Rational(1, 2) * (h2 - y) ** 2),
        ("-x + 2*y/3", -x + 2 * y / 3),
        ("exp(-x)", sympy.exp(-x)),
        ("1e-3*x", sympy.Rational(1, 1000) * x),
        ("0.1 + x", sympy.Rational(1, 10) + x),
        ("2.5e2 * x", 250 * x),
        ("1_000 * x", 1000 * x),
        ("x**-2 + y**0.5", x**-2 + sympy.sqrt(y)),
        ("+x", x),
        ("(x**8)**8", x**64),
        ("relu(z)", leaky_relu(z)),
        ("relu(z, slope=0.1)", leaky_relu(z, sympy.Rational(1, 10))),
        ("relu(z, slope=-2)", leaky_relu(z, -2)),
        ("\n  (x +\n   y - z)", x + y - z),
    ],
)
def test_expressions_evaluate_exactly(text: str, expected: object) -> None:
    assert parse(text) == expected


def test_decimal_literals_are_exact_rationals() -> None:
    coefficient = parse("1e-3*x").as_coefficient(x)
    assert coefficient == sympy.Rational(1, 1000)
    assert isinstance(coefficient, sympy.Rational)
    assert parse("0.1") == sympy.Rational(1, 10)
    assert isinstance(parse("7"), sympy.Integer)


def test_matrix_multiply_with_matrix_symbols() -> None:
    a = sympy.MatrixSymbol("A", 2, 3)
    b = sympy.MatrixSymbol("B", 3, 4)
    product = parse_expression("A @ B", {"A": a, "B": b}, {})
    assert product == a * b
    assert product.shape == (2, 4)


def test_operators_reach_any_object_that_overloads_them() -> None:
    log: list[str] = []
    names = {"W": Recorder("W", log), "h": Recorder("h", log), "b": Recorder("b", log)}
    result = parse_expression("-(W @ h + b) * 2 / 4 - h**2", names, {})
    assert result.label == "((((-((W @ h) + b)) * 2) / 4) - (h ** 2))"
    assert log[0] == "(W @ h)"


def test_unary_plus_returns_the_operand_itself() -> None:
    operand = Recorder("a", [])
    assert parse_expression("+a", {"a": operand}, {}) is operand


def test_exponent_limits_are_inclusive() -> None:
    assert parse("2**64") == 2**64
    assert parse("x**-64") == x**-64


# --- attacks -----------------------------------------------------------------------------


def test_import_and_shell_command_never_run() -> None:
    marker = Path("/tmp") / f"PWNED_{uuid.uuid4().hex}"
    attack = f"__import__('os').system('touch {marker}')"
    message = rejection_of(attack)
    assert message == "attribute access is not allowed ('.system' at column 18)"
    # Even a careless caller who exposes __import__ is protected.
    functions = {"__import__": __import__, **FUNCTIONS}
    assert "not allowed" in rejection_of(attack, functions=functions)
    assert "'__import__'" in rejection_of("__import__('os')", functions=functions)
    assert not marker.exists()


LONG_NESTING = "(" * 10000 + "x" + ")" * 10000
RAISED = Limits(max_length=100_000)


@pytest.mark.parametrize(
    ("text", "limits", "fragment"),
    [
        ("().__class__.__bases__[0].__subclasses__()", DEFAULT_LIMITS, "attribute access"),
        (
            "x.__class__",
            DEFAULT_LIMITS,
            "attribute access is not allowed ('.__class__' at column 3)",
        ),
        ("lambda: 1", DEFAULT_LIMITS, "lambda expressions are not allowed"),
        ("[i for i in range(10)]", DEFAULT_LIMITS, "comprehensions are not allowed"),
        ("9**9**9**9", DEFAULT_LIMITS, "exponent 9**9**9 at column 4 is not allowed"),
        ("2**100000", DEFAULT_LIMITS, "the exponent must be a number between -64 and 64"),
        ("x**y", DEFAULT_LIMITS, "exponent y at column 4 is not allowed"),
        ("((9**64)**64)**64", DEFAULT_LIMITS, "nested powers"),
        ("((9**64)**0.5)**2", DEFAULT_LIMITS, "nested powers"),
        (LONG_NESTING, DEFAULT_LIMITS, "expression is 20001 characters long; the limit is 2000"),
        (LONG_NESTING, RAISED, "nest"),
        ("-" * 50_000 + "x", RAISED, "nest"),
        ("+".join(["x"] * 5000), DEFAULT_LIMITS, "characters long"),
        ("+".join(["x"] * 600), DEFAULT_LIMITS, "more than 500 numbers, names and operations"),
        ("+".join(["x"] * 51), DEFAULT_LIMITS, "nested more than 50 levels deep"),
        ("x if y else x", DEFAULT_LIMITS, "conditional expressions are not allowed"),
        ("x < y", DEFAULT_LIMITS, "comparisons are not allowed"),
        ("x and y", DEFAULT_LIMITS, "'and' and 'or' are not allowed"),
        ("'abc'", DEFAULT_LIMITS, "text literals are not allowed"),
        ("b'abc'", DEFAULT_LIMITS, "text literals are not allowed"),
        ("f'{x}'", DEFAULT_LIMITS, "f-strings are not allowed"),
        ("(x := 1)", DEFAULT_LIMITS, "assignment expressions (:=) are not allowed"),
        ("open('/etc/passwd')", DEFAULT_LIMITS, "unknown function 'open' at column 1"),
        (
            "relu(z, slope=x)",
            DEFAULT_LIMITS,
            "keyword argument 'slope' at column 9 must be a number",
        ),
        ("relu(z, __class__=1)", DEFAULT_LIMITS, "name '__class__'"),
        ("relu(*z)", DEFAULT_LIMITS, "unpacking with '*' is not allowed"),
        ("relu(**z)", DEFAULT_LIMITS, "unpacking with '**' is not allowed"),
        ("relu(z)(1)", DEFAULT_LIMITS, "only functions called by name are allowed"),
        ("7" * 400, DEFAULT_LIMITS, "has more than 30 digits"),
        ("1e400", DEFAULT_LIMITS, "has more than 30 digits"),
        ("1e-999999999999", DEFAULT_LIMITS, "has more than 30 digits"),
        ("__builtins__", DEFAULT_LIMITS, "name '__builtins__' at column 1 is not allowed"),
        ("_x", DEFAULT_LIMITS, "name '_x' at column 1 is not allowed"),
        ("x[y]", DEFAULT_LIMITS, "an index must be an integer constant"),
        ("x[exp(0)]", DEFAULT_LIMITS, "an index must be an integer constant"),
        ("x[0:y]", DEFAULT_LIMITS, "an index must be an integer constant"),
        ("exp(x)[0]", DEFAULT_LIMITS, "only a quantity's name can be indexed"),
        ("x[0][0]", DEFAULT_LIMITS, "only a quantity's name can be indexed"),
        ("x[()]", DEFAULT_LIMITS, "an index needs at least one integer or range"),
        ("x[0.5]", DEFAULT_LIMITS, "an index must be an integer constant"),
        ("(x, y)", DEFAULT_LIMITS, "tuples are not allowed"),
        ("[x]", DEFAULT_LIMITS, "list literals are not allowed"),
        ("{x: y}", DEFAULT_LIMITS, "dict literals are not allowed"),
        ("x % 2", DEFAULT_LIMITS, "operator '%' is not allowed"),
        ("x // 2", DEFAULT_LIMITS, "operator '//' is not allowed"),
        ("~x", DEFAULT_LIMITS, "operator '~' is not allowed"),
        ("not x", DEFAULT_LIMITS, "operator 'not' is not allowed"),
        ("True", DEFAULT_LIMITS, "True, False and None are not allowed"),
        ("None", DEFAULT_LIMITS, "True, False and None are not allowed"),
        ("1j", DEFAULT_LIMITS, "complex numbers are not allowed"),
        ("...", DEFAULT_LIMITS, "ellipsis literals are not allowed"),
        ("exp", DEFAULT_LIMITS, "'exp' at column 1 is a function"),
        ("x(1)", DEFAULT_LIMITS, "'x' at column 1 is not a function"),
        ("x +* y", DEFAULT_LIMITS, "syntax error"),
        ("x\0", DEFAULT_LIMITS, "syntax error"),
        ("", DEFAULT_LIMITS, "expression is empty"),
        (" \n ", DEFAULT_LIMITS, "expression is empty"),
    ],
)
def test_hostile_or_invalid_text_is_rejected(text: str, limits: Limits, fragment: str) -> None:
    assert fragment in rejection_of(text, limits=limits)


def test_huge_flat_sum_is_rejected_by_the_parser_or_the_node_limit() -> None:
    # CPython 3.11 gives up while building the tree; other versions reach the node limit.
    message = rejection_of("+".join(["x"] * 5000), limits=RAISED)
    assert "nested too deeply" in message or "more than 500" in message


def test_numbers_cannot_grow_huge_through_arithmetic() -> None:
    thirty_digits = "9" * 30
    one_big_power = f"{thirty_digits}**64"
    assert parse(one_big_power) == sympy.Integer(int(thirty_digits) ** 64)
    message = rejection_of(f"{one_big_power} / {thirty_digits}**64")
    assert "would grow to more than 1920 digits" in message


def test_text_that_is_not_a_string_is_rejected() -> None:
    assert "must be text, not int" in rejection_of(3)  # type: ignore[arg-type]


def test_nothing_is_computed_before_the_whole_expression_is_approved() -> None:
    log: list[str] = []
    names = {"a": Recorder("a", log), "b": Recorder("b", log)}
    with pytest.raises(ExpressionError):
        parse_expression("a + b + a.__class__", names, {})
    assert log == []


# --- messages ----------------------------------------------------------------------------


def test_unknown_name_lists_the_known_names() -> None:
    message = rejection_of("x + q", names={"W1": 1, "b1": 2, "x": x})
    assert message == "unknown name 'q' at column 5; known names: W1, b1, x"


def test_unknown_function_lists_the_known_functions() -> None:
    message = rejection_of("softmax(x)")
    assert message == "unknown function 'softmax' at column 1; known functions: exp, relu"


def test_positions_account_for_leading_blanks_and_lines() -> None:
    assert "at column 7" in rejection_of("  x + q")
    assert "at line 2, column 4" in rejection_of("(x +\n   q)")
    assert "at line 3, column 2" in rejection_of("\n\n q")


def test_length_limit_message_gives_both_numbers() -> None:
    message = rejection_of("x" * 10007)
    assert message == "expression is 10007 characters long; the limit is 2000"


def test_limits_can_be_raised() -> None:
    text = "+".join(["x"] * 60)
    assert parse(text, limits=Limits(max_depth=100)) == 60 * x


# --- errors from the operands ------------------------------------------------------------


class Mismatched:
    def __add__(self, other: object) -> object:
        raise ShapeMismatchError("cannot add shapes (2, 1) and (3, 1)")


def test_library_errors_from_operands_propagate_unchanged() -> None:
    with pytest.raises(ShapeMismatchError, match=r"shapes \(2, 1\) and \(3, 1\)") as caught:
        parse_expression("a + b", {"a": Mismatched(), "b": Mismatched()}, {})
    assert type(caught.value) is ShapeMismatchError


def test_library_errors_from_functions_propagate_unchanged() -> None:
    class UnsupportedError(SymbackpropError):
        pass

    def refuse(argument: object) -> object:
        raise UnsupportedError("no derivative known")

    with pytest.raises(UnsupportedError):
        parse_expression("f(x)", NAMES, {"f": refuse})


def test_other_operand_errors_become_expression_errors() -> None:
    a = sympy.MatrixSymbol("A", 2, 3)
    message = rejection_of("A @ A", names={"A": a}, functions={})
    assert message.startswith("cannot compute 'A @ A' at column 1: ")
    with pytest.raises(ExpressionError) as caught:
        parse("exp(x, y)")
    assert isinstance(caught.value.__cause__, TypeError)


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x", "W1", "h_2", "Loss", "match"])
def test_valid_names_are_returned(name: str) -> None:
    assert parse_assignment_name(name) == name


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "a name starts with a letter"),
        ("1x", "a name starts with a letter"),
        ("_x", "a name starts with a letter"),
        ("x y", "a name starts with a letter"),
        ("x\n", "a name starts with a letter"),
        ("x.y", "a name starts with a letter"),
        ("é", "a name starts with a letter"),
        ("lambda", "Python keyword"),
        ("None", "Python keyword"),
        ("a__b", "double underscores"),
        (3, "must be text"),
    ],
)
def test_invalid_names_are_rejected(name: str, fragment: str) -> None:
    with pytest.raises(InvalidNameError, match=fragment):
        parse_assignment_name(name)
