"""Network spec files (TOML) and values files (TOML or JSON), read without running anything.

A spec describes a network for people who do not write Python::

    [inputs]
    x = [2, 1]            # a column vector; [] is a scalar
    y = []

    [params]
    W1 = [2, 2]
    b1 = [2, 1]
    W2 = [1, 2]
    b2 = []

    [nodes]               # in order: each may use what is defined above it
    z1 = "W1 @ x + b1"
    h1 = "relu(z1)"
    z2 = "W2 @ h1 + b2"
    h2 = "relu(z2)"

    [loss]
    L = "0.5 * (h2 - y)**2"

    [values]              # optional: the worked example's numbers
    x = [1, 2]
    ...

Every expression string goes through :func:`symbackprop.parsing.parse_expression`,
a whitelist interpreter of Python's syntax tree: text from a spec file is never
evaluated as Python.  The same text means the same thing at both levels: at the
scalar level (every element its own symbol) ``*`` and ``**`` still act element
by element and a 1×1 result is a scalar, exactly as with tensors.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import sympy as sp

from . import functions as F
from . import tensor as T
from .errors import DuplicateNameError, ExpressionError, ShapeMismatchError, SymbackpropError
from .finite import number_problem
from .network import Network
from .ops import ACTIVATION_OPS, LOSS_OPS
from .ops.activations import make_relu
from .parsing import Limits, parse_assignment_name, parse_expression

try:  # Python 3.11+
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    try:
        import tomli as _toml  # type: ignore[no-redef]
    except ModuleNotFoundError:
        _toml = None  # type: ignore[assignment]

__all__ = [
    "LEVELS",
    "MAX_DIMENSION",
    "MAX_SCALAR_LEVEL_ELEMENTS",
    "SPEC_FUNCTIONS",
    "Spec",
    "SpecError",
    "load_spec",
    "load_values",
    "parse_spec",
    "spec_functions",
    "values_from_mapping",
]

LEVELS = ("vector", "scalar")

#: Bytes read from a spec or values file at most: enough for any network one reads by eye,
#: and a cap on what a hostile file can make the TOML/JSON parsers do.
MAX_SPEC_BYTES = 1_000_000
MAX_VALUES_BYTES = 50_000_000
#: Declared sizes are capped so that a typo (or a hostile file) cannot ask for a billion symbols.
MAX_DIMENSION = 100_000
MAX_SCALAR_LEVEL_ELEMENTS = 5_000
MAX_QUANTITIES = 2_000
MAX_VALUE_NUMBERS = 10_000_000

#: A values-file number written as text ("1/3") is a tiny expression: keep it tiny.
_NUMBER_TEXT_LIMITS = Limits(max_length=100, max_nodes=20, max_depth=10, max_exponent=16)

_SECTIONS = ("inputs", "params", "nodes", "loss", "values", "options")
_OPTIONS = {"batch": bool, "relu_grad_at_zero": (int, float, str)}


class SpecError(SymbackpropError, ValueError):
    """A spec or values file is not well formed (sections, shapes, value types, file format)."""


@dataclass(frozen=True)
class Spec:
    """A network read from a spec file, the values it carries (if any) and its options."""

    network: Network
    values: dict[str, Any] | None = None
    batch: bool = False
    source: str = "<spec>"
    options: dict[str, Any] = field(default_factory=dict)


# -- reading files -------------------------------------------------------------------------


def load_spec(path: str | Path, *, level: str = "vector") -> Spec:
    """Read a TOML network spec; ``level="scalar"`` declares every element as its own symbol."""
    path = Path(path)
    text = _read_text(path, MAX_SPEC_BYTES)
    return parse_spec(text, source=str(path), level=level)


def parse_spec(text: str, *, source: str = "<spec>", level: str = "vector") -> Spec:
    """Build a :class:`Spec` from the text of a TOML spec."""
    table = _parse_toml(text, source)
    return _SpecReader(table, source, level).read()


def load_values(path: str | Path) -> dict[str, Any]:
    """Read a values file: a TOML or JSON table of names to numbers or (nested) lists of numbers.

    Names, numbers and rectangular shapes are checked here; whether the names and
    shapes fit a network is checked by the derivation when the values are used.
    """
    path = Path(path)
    text = _read_text(path, MAX_VALUES_BYTES)
    suffix = path.suffix.lower()
    if suffix == ".json":
        table = _parse_json(text, str(path))
    elif suffix == ".toml":
        table = _parse_toml(text, str(path))
    else:
        raise SpecError(f"{path}: a values file ends in .toml or .json")
    if isinstance(table, dict) and set(table) == {"values"} and isinstance(table["values"], dict):
        table = table["values"]  # a spec's [values] table saved on its own
    return values_from_mapping(table, source=str(path))


def values_from_mapping(table: Any, *, source: str = "<values>") -> dict[str, Any]:
    """Check a parsed table of values: identifier names, numbers, rectangular nested lists.

    Numbers may also be written as text (``"1/3"``, ``"-2.5e-3"``), which gives
    exact fractions; such text goes through the safe expression parser.
    """
    if not isinstance(table, Mapping):
        raise SpecError(f"{source}: values must be a table of names to numbers, not {_kind(table)}")
    values: dict[str, Any] = {}
    budget = [MAX_VALUE_NUMBERS]
    for name, raw in table.items():
        where = f"{source}: value {name!r}"
        try:
            parse_assignment_name(name)
        except SymbackpropError as error:
            raise SpecError(f"{where}: {error}") from None
        values[name] = _value(raw, where, depth=0, budget=budget)
    return values


def _read_text(path: Path, limit: int) -> str:
    # OSError (missing file, permissions, a directory) reaches the caller unchanged:
    # its message already names the file.
    with open(path, "rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise SpecError(f"{path}: the file is larger than {limit:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    if _toml is None:  # pragma: no cover - Python 3.10 without tomli
        raise SpecError("reading TOML on Python 3.10 needs the 'tomli' package: pip install tomli")
    try:
        return _toml.loads(text)
    except _toml.TOMLDecodeError as error:
        raise SpecError(f"{source}: not valid TOML: {error}") from None
    except RecursionError:
        raise SpecError(f"{source}: not valid TOML: nested too deeply") from None


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SpecError(f"{source}: not valid JSON: {error}") from None
    except RecursionError:
        raise SpecError(f"{source}: not valid JSON: nested too deeply") from None


# -- values --------------------------------------------------------------------------------


def _value(raw: Any, where: str, *, depth: int, budget: list[int]) -> Any:
    """A number, or a rectangular list of lists of numbers (batch, rows, columns at most)."""
    if isinstance(raw, list):
        if depth >= 3:
            raise SpecError(f"{where}: lists nested more than 3 deep (batch, rows, columns)")
        items = [_value(item, where, depth=depth + 1, budget=budget) for item in raw]
        shapes = {_shape_of(item) for item in items}
        if len(shapes) > 1:
            raise SpecError(f"{where}: rows of different lengths; a value must be rectangular")
        return items
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(f"{where}: more than {MAX_VALUE_NUMBERS:,} numbers in one values file")
    if isinstance(raw, bool) or raw is None:
        raise SpecError(f"{where}: expected a number, got {_kind(raw)}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return raw  # NaN and infinity are reported by the derivation, which knows the name's role
    if isinstance(raw, str):
        return _number_from_text(raw, where)
    raise SpecError(f"{where}: expected a number or a list of numbers, got {_kind(raw)}")


def _shape_of(item: Any) -> tuple[int, ...]:
    if isinstance(item, list):
        return (len(item), *(_shape_of(item[0]) if item else ()))
    return ()


def _number_from_text(text: str, where: str) -> Fraction:
    try:
        number = parse_expression(text, {}, {}, limits=_NUMBER_TEXT_LIMITS)
    except ExpressionError as error:
        raise SpecError(f"{where}: {text!r} is not a number: {error}") from None
    if not (isinstance(number, sp.Rational)):
        raise SpecError(f"{where}: {text!r} is not a rational number")
    return Fraction(int(number.p), int(number.q))


# -- the spec itself -----------------------------------------------------------------------


class _SpecReader:
    def __init__(self, table: dict[str, Any], source: str, level: str) -> None:
        if level not in LEVELS:
            raise SpecError(f"unknown level {level!r}; use 'vector' or 'scalar'")
        self.table = table
        self.source = source
        self.level = level
        self.network = Network()
        self.functions: dict[str, Callable[..., Any]] = {}
        self.elements = 0

    def read(self) -> Spec:
        unknown = [key for key in self.table if key not in _SECTIONS]
        if unknown:
            raise SpecError(
                f"{self.source}: unknown section {unknown[0]!r}; a spec has the sections "
                f"{', '.join('[' + s + ']' for s in _SECTIONS)}"
            )
        options = self._options()
        self.functions = spec_functions(self.level, relu_grad_at_zero=options.get("relu_grad_at_zero", 0))
        inputs, params = self._section("inputs"), self._section("params")
        if not inputs and not params:
            raise SpecError(f"{self.source}: the spec declares no [inputs] and no [params]")
        if len(inputs) + len(params) + len(self._section("nodes")) > MAX_QUANTITIES:
            raise SpecError(f"{self.source}: more than {MAX_QUANTITIES} quantities")
        for name, shape in inputs.items():
            self._declare("inputs", name, shape, self.network.input)
        for name, shape in params.items():
            self._declare("params", name, shape, self.network.param)
        for name, text in self._section("nodes").items():
            self._define("nodes", name, text, self.network.node)
        loss = self._section("loss")
        if len(loss) != 1:
            raise SpecError(
                f"{self.source}: [loss] must define exactly one name, as in L = \"0.5 * (h2 - y)**2\" "
                f"(found {len(loss)})"
            )
        ((loss_name, loss_text),) = loss.items()
        self._define("loss", loss_name, loss_text, self.network.loss)
        values = None
        if "values" in self.table:
            values = values_from_mapping(self._section("values"), source=f"{self.source}: [values]")
        return Spec(self.network, values, bool(options.get("batch", False)), self.source, options)

    def _section(self, name: str) -> dict[str, Any]:
        section = self.table.get(name, {})
        if not isinstance(section, dict):
            raise SpecError(f"{self.source}: [{name}] must be a table of names, not {_kind(section)}")
        return section

    def _options(self) -> dict[str, Any]:
        options = self._section("options")
        for key, value in options.items():
            expected = _OPTIONS.get(key)
            if expected is None:
                raise SpecError(f"{self.source}: [options] {key}: unknown option; known: {', '.join(_OPTIONS)}")
            if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
                raise SpecError(f"{self.source}: [options] {key}: expected {_expected(expected)}, got {_kind(value)}")
        if "relu_grad_at_zero" in options:
            where = f"{self.source}: [options] relu_grad_at_zero"
            options = dict(options, relu_grad_at_zero=_value(options["relu_grad_at_zero"], where, depth=3,
                                                             budget=[1]))
        return options

    def _check_new_name(self, section: str, name: str) -> None:
        if name in self.functions:
            raise SpecError(
                f"{self.source}: [{section}] {name}: {name!r} is the name of a function; choose another name"
            )

    def _declare(self, section: str, name: str, raw_shape: Any, declare: Callable[..., Any]) -> None:
        where = f"{self.source}: [{section}] {name}"
        self._check_new_name(section, name)
        shape = _shape(raw_shape, where)
        if self.level == "scalar" and shape:
            self.elements += math.prod(shape)
            if self.elements > MAX_SCALAR_LEVEL_ELEMENTS:
                raise SpecError(
                    f"{where}: more than {MAX_SCALAR_LEVEL_ELEMENTS} elements in all at the scalar level; "
                    "derive a network this size at the vector level"
                )
        with _located(where):
            declare(name, shape or None, elements=self.level == "scalar")

    def _define(self, section: str, name: str, text: Any, define: Callable[..., Any]) -> None:
        where = f"{self.source}: [{section}] {name}"
        self._check_new_name(section, name)
        if not isinstance(text, str):
            raise SpecError(f"{where}: expected an expression in quotes, as in \"relu(z1)\", got {_kind(text)}")
        with _located(where):
            parse_assignment_name(name)
            if name in self.network:
                # Checked before parsing so that the message is about the name, not the expression.
                raise DuplicateNameError(f"name {name!r} is already defined (as {self.network[name].kind})")
            names = {q.name: _Operand(self.network.handle(q.name)) for q in self.network.quantities()}
            value = parse_expression(text, names, self.functions, check=_scalar_number_problem)
            define(name, _unwrap(value))


def _shape(raw: Any, where: str) -> tuple[int, ...]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, list) or len(raw) > 2 or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in raw
    ):
        raise SpecError(
            f"{where}: a shape is [rows, columns], [rows] (a column vector) or [] (a scalar); got {raw!r}"
        )
    if any(d <= 0 or d > MAX_DIMENSION for d in raw):
        raise SpecError(f"{where}: dimensions must be between 1 and {MAX_DIMENSION:,}; got {raw!r}")
    dims = tuple(raw) + ((1,) if len(raw) == 1 else ())
    return () if dims in ((), (1, 1)) else dims


@contextmanager
def _located(where: str) -> Iterator[None]:
    """Prefix errors raised inside with the file, section and name they concern."""
    try:
        yield
    except SpecError:
        raise
    except SymbackpropError as error:
        raise _same_kind(error, f"{where}: {error}") from None
    except (TypeError, ValueError, ArithmeticError) as error:
        # The engine rejects some nonsense with TypeError (e.g. a matrix where a scalar belongs).
        raise SpecError(f"{where}: {error}") from None


def _same_kind(error: SymbackpropError, message: str) -> SymbackpropError:
    try:
        return type(error)(message)
    except TypeError:  # pragma: no cover - every class in errors.py takes one message
        return SpecError(message)


# -- what spec expressions can use ------------------------------------------------------------


class _Operand:
    """A quantity inside a spec expression.

    At the vector level operators go straight to the tensor algebra.  At the
    scalar level the operands are SymPy matrices, whose own ``*`` and ``**``
    are matrix products and powers and which refuse to add a scalar; here they
    act element by element with scalars broadcasting, as tensors do, so one
    spec text means one network at either level.
    """

    __slots__ = ("value",)
    # SymPy hands binary operations to the operand with the higher priority.
    _op_priority = 1_000_000.0

    def __init__(self, value: Any) -> None:
        self.value = value

    def _binary(self, op: Callable[[Any, Any], Any], other: Any, reflected: bool = False) -> _Operand:
        left, right = (_unwrap(other), self.value) if reflected else (self.value, _unwrap(other))
        return _Operand(_combine(op, left, right))

    def __add__(self, other: Any) -> _Operand:
        return self._binary(operator.add, other)

    def __radd__(self, other: Any) -> _Operand:
        return self._binary(operator.add, other, True)

    def __sub__(self, other: Any) -> _Operand:
        return self._binary(operator.sub, other)

    def __rsub__(self, other: Any) -> _Operand:
        return self._binary(operator.sub, other, True)

    def __mul__(self, other: Any) -> _Operand:
        return self._binary(operator.mul, other)

    def __rmul__(self, other: Any) -> _Operand:
        return self._binary(operator.mul, other, True)

    def __truediv__(self, other: Any) -> _Operand:
        return self._binary(operator.truediv, other)

    def __rtruediv__(self, other: Any) -> _Operand:
        return self._binary(operator.truediv, other, True)

    def __matmul__(self, other: Any) -> _Operand:
        return self._binary(operator.matmul, other)

    def __rmatmul__(self, other: Any) -> _Operand:
        return self._binary(operator.matmul, other, True)

    def __pow__(self, other: Any) -> _Operand:
        return self._binary(operator.pow, other)

    def __rpow__(self, other: Any) -> _Operand:
        return self._binary(operator.pow, other, True)

    def __neg__(self) -> _Operand:
        return _Operand(_combine(operator.mul, sp.Integer(-1), self.value))


def _unwrap(value: Any) -> Any:
    return value.value if isinstance(value, _Operand) else value


def _scalar_number_problem(value: Any) -> str | None:
    # Scalars only: they are small, and 1/0, log(0), sqrt(-1) and exp(1000) are all scalars.
    # Tensors and matrices are checked once, whole, when the node is defined.
    value = _unwrap(value)
    return number_problem(value) if isinstance(value, sp.Expr) else None


def _collapse(value: Any) -> Any:
    """A 1×1 SymPy matrix is a scalar, as a 1×1 tensor is."""
    if isinstance(value, sp.MatrixBase) and value.shape == (1, 1):
        return value[0, 0]
    return value


def _combine(op: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    if not (isinstance(left, sp.MatrixBase) or isinstance(right, sp.MatrixBase)):
        return op(left, right)
    symbol = _OPERATOR_TEXT[op]
    if op is operator.matmul:
        if not (isinstance(left, sp.MatrixBase) and isinstance(right, sp.MatrixBase)):
            left, right = _as_matrix(left), _as_matrix(right)
        if left.shape[1] != right.shape[0]:
            raise ShapeMismatchError(
                f"cannot multiply shape {left.shape} by shape {right.shape}: inner dimensions "
                f"{left.shape[1]} and {right.shape[0]} differ"
            )
        return _collapse(sp.ImmutableMatrix(left * right))
    if op is operator.pow:
        if isinstance(right, sp.MatrixBase):
            raise TypeError("the exponent must be a number")
        return _collapse(left.applyfunc(lambda e: e**right))
    if op is operator.truediv and isinstance(right, sp.MatrixBase):
        raise TypeError("division by a vector or matrix is not supported; multiply by a scalar instead")
    if isinstance(left, sp.MatrixBase) and isinstance(right, sp.MatrixBase):
        if left.shape != right.shape:
            raise ShapeMismatchError(
                f"cannot {symbol} shape {left.shape} and shape {right.shape}: shapes differ"
            )
        return _collapse(sp.ImmutableMatrix(*left.shape, [op(a, b) for a, b in zip(left, right)]))
    # A scalar broadcasts over the matrix, keeping its side of the operator.
    if isinstance(left, sp.MatrixBase):
        return _collapse(left.applyfunc(lambda e: op(e, right)))
    return _collapse(right.applyfunc(lambda e: op(left, e)))


_OPERATOR_TEXT = {
    operator.add: "add", operator.sub: "subtract", operator.mul: "multiply element-wise",
    operator.truediv: "divide", operator.matmul: "multiply", operator.pow: "raise",
}


def _as_matrix(value: Any) -> sp.ImmutableMatrix:
    return value if isinstance(value, sp.MatrixBase) else sp.ImmutableMatrix([[value]])


def _function(implementation: Callable[..., Any]) -> Callable[..., Any]:
    """Let a whitelisted function take and return spec operands."""

    def call(*args: Any, **kwargs: Any) -> _Operand:
        return _Operand(_collapse(implementation(*(_unwrap(a) for a in args), **kwargs)))

    call.__name__ = getattr(implementation, "__name__", "function")
    return call


def _loss(kind: str, level: str) -> Callable[[Any, Any], Any]:
    op = LOSS_OPS[kind]
    if level == "vector":
        return op

    def scalar_level(prediction: Any, target: Any) -> Any:
        # Written out element by element, as sbp.mlp(..., level="scalar") does.
        h, y = _as_matrix(prediction), _as_matrix(target)
        if h.shape != y.shape:
            raise ShapeMismatchError(f"{kind}: prediction has shape {h.shape} but target has shape {y.shape}")
        return op.written_out(list(zip(h, y)))

    return scalar_level


def _total(value: Any) -> Any:
    if isinstance(value, sp.MatrixBase):
        return sp.Add(*value)
    return F.total(value)


def _transpose(value: Any) -> Any:
    if isinstance(value, sp.MatrixBase):
        return value.T
    if isinstance(value, T.Tensor):
        return value.T
    return value


_ELEMENTWISE_MATH = {name: F.elementwise(getattr(sp, name), name) for name in ("exp", "log", "sin", "cos", "sqrt")}

#: SymPy's special functions by their spec names.  ``gamma`` is left out: it is a common parameter name,
#: and a function's name cannot name a quantity.
_SPECIAL = {"asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh, "erf": sp.erf, "erfc": sp.erfc,
            "loggamma": sp.loggamma, "digamma": sp.digamma, "sinc": sp.sinc}


def _special(name: str) -> Callable[[Any], Any]:
    """Made when called, so that without SciPy only a spec that uses digamma or loggamma is refused."""

    def apply(argument: Any) -> Any:
        return F.elementwise(_SPECIAL[name], name)(argument)

    apply.__name__ = name
    return apply


def spec_functions(level: str = "vector", *, relu_grad_at_zero: Any = 0) -> dict[str, Callable[..., Any]]:
    """The functions a spec expression may call, by name."""
    table: dict[str, Callable[..., Any]] = {
        **{name: op.callable for name, op in ACTIVATION_OPS.items()},
        "relu": make_relu(relu_grad_at_zero),
        **_ELEMENTWISE_MATH,
        **{name: _special(name) for name in _SPECIAL},
        "sum": _total,
        "transpose": _transpose,
    }
    for kind in LOSS_OPS:
        table[kind] = _loss(kind, level)
    return {name: _function(implementation) for name, implementation in table.items()}


#: The names a spec expression may call (see docs/spec-format.md for what each does).
SPEC_FUNCTIONS = tuple(sorted(spec_functions()))


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"text {value!r}" if len(value) < 40 else "text"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _expected(expected: Any) -> str:
    if expected is bool:
        return "true or false"
    return "a number"


