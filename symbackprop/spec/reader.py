"""A TOML spec's sections read into a :class:`~symbackprop.network.Network`, checked as they are read."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DuplicateNameError, SymbackpropError
from ..network import Network
from ..parsing import parse_assignment_name, parse_expression
from .errors import SpecError, kind_of
from .files import parse_toml, read_text
from .functions import spec_functions
from .operands import Operand, scalar_number_problem, unwrap
from .values import checked_value, values_from_mapping

__all__ = [
    "LEVELS",
    "MAX_DIMENSION",
    "MAX_QUANTITIES",
    "MAX_SCALAR_LEVEL_ELEMENTS",
    "MAX_SPEC_BYTES",
    "Spec",
    "load_spec",
    "parse_spec",
]

LEVELS = ("vector", "scalar")

#: Bytes read from a spec file at most: enough for any network one reads by eye,
#: and a cap on what a hostile file can make the TOML parser do.
MAX_SPEC_BYTES = 1_000_000
#: Declared sizes are capped so that a typo (or a hostile file) cannot ask for a billion symbols.
MAX_DIMENSION = 100_000
MAX_SCALAR_LEVEL_ELEMENTS = 5_000
MAX_QUANTITIES = 20_000

_SECTIONS = ("inputs", "params", "nodes", "loss", "values", "options")
_OPTIONS = {"batch": bool, "relu_grad_at_zero": (int, float, str)}


@dataclass(frozen=True)
class Spec:
    """A network read from a spec file, the values it carries (if any) and its options."""

    network: Network
    values: dict[str, Any] | None = None
    batch: bool = False
    source: str = "<spec>"
    options: dict[str, Any] = field(default_factory=dict)


def load_spec(path: str | Path, *, level: str = "vector") -> Spec:
    """Read a TOML network spec; ``level="scalar"`` declares every element as its own symbol."""
    path = Path(path)
    text = read_text(path, MAX_SPEC_BYTES)
    return parse_spec(text, source=str(path), level=level)


def parse_spec(text: str, *, source: str = "<spec>", level: str = "vector") -> Spec:
    """Build a :class:`Spec` from the text of a TOML spec."""
    if not isinstance(text, str):
        raise SpecError(f"a spec is TOML text, got {type(text).__name__} {text!r:.40}")
    table = parse_toml(text, source)
    return _SpecReader(table, source, level).read()


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
        self.operands: dict[str, Operand] = {}  # what each name declared so far stands for in an expression

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
            raise SpecError(f"{self.source}: [{name}] must be a table of names, not {kind_of(section)}")
        return section

    def _options(self) -> dict[str, Any]:
        options = self._section("options")
        for key, value in options.items():
            expected = _OPTIONS.get(key)
            if expected is None:
                raise SpecError(f"{self.source}: [options] {key}: unknown option; known: {', '.join(_OPTIONS)}")
            if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
                raise SpecError(
                    f"{self.source}: [options] {key}: expected {_expected(expected)}, got {kind_of(value)}"
                )
        if "relu_grad_at_zero" in options:
            where = f"{self.source}: [options] relu_grad_at_zero"
            at_zero = checked_value(options["relu_grad_at_zero"], where, depth=3, budget=[1])
            if isinstance(at_zero, float) and not math.isfinite(at_zero):  # reported here, not at the first relu
                raise SpecError(f"{where}: expected a finite number, got {at_zero}")
            options = dict(options, relu_grad_at_zero=at_zero)
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
        self.operands[name] = Operand(self.network.handle(name))

    def _define(self, section: str, name: str, text: Any, define: Callable[..., Any]) -> None:
        where = f"{self.source}: [{section}] {name}"
        self._check_new_name(section, name)
        if not isinstance(text, str):
            raise SpecError(f"{where}: expected an expression in quotes, as in \"relu(z1)\", got {kind_of(text)}")
        with _located(where):
            parse_assignment_name(name)
            if name in self.network:
                # Checked before parsing so that the message is about the name, not the expression.
                raise DuplicateNameError(f"name {name!r} is already defined (as {self.network[name].kind})")
            value = parse_expression(text, self.operands, self.functions, check=scalar_number_problem)
            define(name, unwrap(value))
        self.operands[name] = Operand(self.network.handle(name))


def _shape(raw: Any, where: str) -> tuple[int, ...]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in raw
    ):
        raise SpecError(
            f"{where}: a shape is [rows, columns], [rows] (a column vector), [] (a scalar) or three lengths or "
            f"more (a tensor of that rank, [n, block, d]); got {raw!r}"
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


def _expected(expected: Any) -> str:
    if expected is bool:
        return "true or false"
    return "a number"
