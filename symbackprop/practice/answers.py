"""A student's answers read into numbers: plain numbers, nested lists, arrays, expressions or a function.

Everything is checked before anything is computed: an unknown name, a list that is not a
rectangle of numbers or text the whitelist refuses is an :class:`AnswerError`, one line, and
nothing of the answers runs.  An expression is parsed by the spec files' parser (never ``eval``),
its names the network's quantities and the ``d…`` gradients; ``h1.T`` reads as ``transpose(h1)``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tensor as T
from ..errors import ExpressionError, ShapeMismatchError, SymbackpropError, ValuesError
from ..ops import ACTIVATION_OPS
from ..parsing import parse_expression
from ..spec.functions import spec_functions
from ..spec.operands import Operand, unwrap

if TYPE_CHECKING:
    from ..derivation import Derivation

#: The prefix of an answer's name: the answer for ∂L/∂W2 is "dW2", as in the lecture notes.
PREFIX = "d"


class AnswerError(ValuesError):
    """Answers that cannot be graded: an unknown name, numbers that are not an array, refused text."""


@dataclass(frozen=True)
class Answer:
    """One quantity's answer as given: numbers (with the decimals each was written with) or an expression.

    ``decimals`` is None for an exact answer (an integer, an expression), else an array of the
    number of decimal places of each entry.
    """

    name: str
    numbers: np.ndarray | None = None
    decimals: np.ndarray | None = None
    expression: Any = None
    text: str | None = None
    #: Where the expression's shapes do not fit: why, and a name that fits once transposed (if one does).
    misfit: str | None = None
    fits_transposed: str | None = None


def answer_key(name: str) -> str:
    return f"{PREFIX}{name}"


def read_answers(derivation: Derivation, answers: Any, forward: Mapping[str, Any],
                 gradients: Mapping[str, Any]) -> dict[str, Answer]:
    """The answers by quantity name; ``forward`` (copies of it) is what a student's function receives."""
    if callable(answers) and not isinstance(answers, Mapping):
        answers = _called(answers, forward)
    if not isinstance(answers, Mapping):
        raise AnswerError(f"answers are a mapping of names to numbers or expressions (dW2 = ...), "
                          f"or a function returning one; got {type(answers).__name__}")
    network = derivation.network
    operands = _operands(derivation, gradients)
    read: dict[str, Answer] = {}
    for key, given in answers.items():
        name = _quantity_of(key, gradients)
        read[name] = _read_one(name, key, given, operands, network)
    return read


def _called(function: Callable[..., Any], forward: Mapping[str, Any]) -> Any:
    copies = {name: np.array(value, dtype=float) for name, value in forward.items()}
    try:
        return function(copies)
    except SymbackpropError:
        raise
    except Exception as error:  # the student's own code: its failure is reported, not raised from deep inside
        reason = " ".join(str(error).split()) or type(error).__name__
        raise AnswerError(f"the backward function raised {type(error).__name__}: {reason}") from None


def _quantity_of(key: Any, gradients: Mapping[str, Any]) -> str:
    if not isinstance(key, str) or not key.startswith(PREFIX) or key[len(PREFIX):] not in gradients:
        known = ", ".join(answer_key(n) for n in gradients)
        raise AnswerError(f"unknown answer name {key!r}: an answer is named d + a quantity, one of {known}")
    return key[len(PREFIX):]


def _read_one(name: str, key: str, given: Any, operands: dict[str, Any], network) -> Answer:
    if isinstance(given, str):
        literal = _decimal_literal(given)
        if literal is not None:
            return Answer(name, np.array(float(literal[0])), np.array(literal[1]))
        try:
            tree = parse_expression(given, operands, _ANSWER_FUNCTIONS, attributes={"T": _transpose})
        except ShapeMismatchError as error:  # the student's algebra, not hostile text: graded as such
            return Answer(name, text=given, misfit=" ".join(str(error).split()),
                          fits_transposed=_fits_transposed(given, operands, network[name].shape))
        except ExpressionError as error:
            raise AnswerError(f"answer {key}: {error}") from None
        except SymbackpropError as error:
            raise AnswerError(f"answer {key}: {error}") from None
        return Answer(name, expression=unwrap(tree), text=given)
    numbers, decimals = _numbers(key, given)
    return Answer(name, numbers, decimals)


def _fits_transposed(text: str, operands: dict[str, Any], shape: tuple[int, ...]) -> str | None:
    """The first name of ``text`` that, transposed, makes the shapes fit and give ``shape``."""
    tree = ast.parse(text.strip(), mode="eval")  # already approved by the whitelist
    names = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id in operands]
    wanted = shape or (1, 1)
    for target in names:
        variant = _Transposing(target).visit(ast.parse(text.strip(), mode="eval"))
        try:
            value = unwrap(parse_expression(ast.unparse(variant), operands, _ANSWER_FUNCTIONS,
                                            attributes={"T": _transpose}))
        except SymbackpropError:
            continue
        if getattr(value, "shape", (1, 1)) == wanted:
            return target.id
    return None


class _Transposing(ast.NodeTransformer):
    """One occurrence of a name (found by position) wrapped in ``transpose(...)``."""

    def __init__(self, target: ast.Name) -> None:
        self.position = (target.lineno, target.col_offset)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if (node.lineno, node.col_offset) == self.position:
            return ast.Call(ast.Name("transpose", ast.Load()), [node], [])
        return node


def _numbers(key: str, given: Any) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(given, np.ndarray):
        if given.dtype.kind not in "biuf" or given.dtype.kind == "b":
            raise AnswerError(f"answer {key}: an array of numbers is needed, got dtype {given.dtype}")
        array = np.array(given, dtype=float)
        places = np.vectorize(_places, otypes=[float])(array) if array.size else np.zeros(array.shape)
        return array, places
    entries: list = []
    shape = _shape_of(key, given, entries)
    array = np.array([float(e) for e in entries], dtype=float).reshape(shape)
    places = np.array([_places(e) for e in entries], dtype=float).reshape(shape)
    return array, places


def _shape_of(key: str, given: Any, entries: list) -> tuple[int, ...]:
    """The shape of nested lists of numbers; anything ragged or not a number is refused."""
    if isinstance(given, (list, tuple)):
        if not given:
            raise AnswerError(f"answer {key}: an empty list")
        shapes = {_shape_of(key, item, entries) for item in given}
        if len(shapes) != 1:
            raise AnswerError(f"answer {key}: the rows have different lengths, so it is not an array")
        return (len(given), *shapes.pop())
    if isinstance(given, bool) or not isinstance(given, (Real, Fraction, np.number)):
        raise AnswerError(f"answer {key}: expected a number, a list of numbers or an expression in quotes, "
                          f"got {type(given).__name__}")
    entries.append(given)
    return ()


def _places(number: Any) -> float:
    """How many decimal places a number was written with; an integer is exact (infinitely many)."""
    if isinstance(number, (int, np.integer, Fraction)) and not isinstance(number, bool):
        return math.inf
    value = float(number)
    if not math.isfinite(value):
        return math.inf
    if value == int(value) and abs(value) < 2 ** 53 and isinstance(number, (int, np.integer)):
        return math.inf
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    fraction = mantissa.partition(".")[2]
    places = len(fraction.rstrip("0")) if fraction != "0" else 0
    return float(max(places - int(exponent or 0), 0))


def _decimal_literal(text: str) -> tuple[float, float] | None:
    """A plain decimal number written as text ("-1.96"), with its places; None for anything else."""
    stripped = text.strip()
    try:
        node = ast.parse(stripped, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)) or len(stripped) > 40:
        return None
    body = stripped.lstrip("+-").lower()
    if "e" in body or "_" in body:
        return None
    places = len(body.partition(".")[2]) if "." in body else math.inf
    return sign * float(node.value), places


def _operands(derivation: Derivation, gradients: Mapping[str, Any]) -> dict[str, Any]:
    network = derivation.network
    operands: dict[str, Any] = {}
    for q in network.quantities(elements=False):
        operands[q.name] = Operand(network.handle(q.name))
    for name in gradients:
        q = network[name]
        key = answer_key(name)
        if key in operands:
            continue  # a quantity of that name shadows the gradient's
        operands[key] = Operand(T.AdjointSymbol(name) if q.is_scalar else T.Adjoint(name, q.shape))
    return operands


def _transpose(value: Any) -> Operand:
    return _ANSWER_FUNCTIONS["transpose"](value)


def _derivatives() -> dict[str, Callable[..., Any]]:
    """f′ of each activation as ``<f>_prime`` (relu_prime(z1) is ReLU′ at z1; ReLU′(0) = 0)."""
    table = {}
    for name, op in ACTIVATION_OPS.items():
        derivative = op.activation.derivative

        def apply(argument: Any, derivative=derivative) -> Operand:
            return Operand(derivative(unwrap(argument)))

        table[f"{name}_prime"] = apply
    return table


_ANSWER_FUNCTIONS: dict[str, Callable[..., Any]] = {**spec_functions(), **_derivatives()}

#: The functions an answer may call: the spec files' and f′ of each activation.
ANSWER_FUNCTIONS = tuple(sorted(_ANSWER_FUNCTIONS))

__all__ = ["ANSWER_FUNCTIONS", "Answer", "AnswerError", "answer_key", "read_answers"]
