"""Values files (TOML or JSON) and a spec's [values] table: names to numbers or rectangular lists of numbers."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import ExpressionError, SymbackpropError
from ..parsing import parse_assignment_name
from ..parsing.number_text import rational_from_text
from .errors import SpecError, kind_of
from .files import parse_json, parse_toml, read_text

__all__ = ["MAX_VALUES_BYTES", "MAX_VALUE_NUMBERS", "checked_value", "load_values", "values_from_mapping"]

MAX_VALUES_BYTES = 50_000_000
MAX_VALUE_NUMBERS = 10_000_000


def load_values(path: str | Path) -> dict[str, Any]:
    """Read a values file: a TOML or JSON table of names to numbers or (nested) lists of numbers.

    Names, numbers and rectangular shapes are checked here; whether the names and
    shapes fit a network is checked by the derivation when the values are used.
    """
    path = Path(path)
    text = read_text(path, MAX_VALUES_BYTES)
    suffix = path.suffix.lower()
    if suffix == ".json":
        table = parse_json(text, str(path))
    elif suffix == ".toml":
        table = parse_toml(text, str(path))
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
        raise SpecError(f"{source}: values must be a table of names to numbers, not {kind_of(table)}")
    values: dict[str, Any] = {}
    budget = [MAX_VALUE_NUMBERS]
    for name, raw in table.items():
        where = f"{source}: value {name!r}"
        try:
            parse_assignment_name(name)
        except SymbackpropError as error:
            raise SpecError(f"{where}: {error}") from None
        values[name] = checked_value(raw, where, depth=0, budget=budget)
    return values


def checked_value(raw: Any, where: str, *, depth: int, budget: list[int]) -> Any:
    """A number, or a rectangular list of lists of numbers (batch, rows, columns at most).

    ``depth`` is how deep in lists ``raw`` already stands (3 admits only a number);
    ``budget`` holds how many more numbers may be read, shared across one file.
    """
    if isinstance(raw, list):
        if depth >= 3:
            raise SpecError(f"{where}: lists nested more than 3 deep (batch, rows, columns)")
        items = [checked_value(item, where, depth=depth + 1, budget=budget) for item in raw]
        shapes = {_shape_of(item) for item in items}
        if len(shapes) > 1:
            raise SpecError(f"{where}: rows of different lengths; a value must be rectangular")
        return items
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(f"{where}: more than {MAX_VALUE_NUMBERS:,} numbers in one values file")
    if isinstance(raw, bool) or raw is None:
        raise SpecError(f"{where}: expected a number, got {kind_of(raw)}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return raw  # NaN and infinity are reported by the derivation, which knows the name's role
    if isinstance(raw, str):
        return _number_from_text(raw, where)
    raise SpecError(f"{where}: expected a number or a list of numbers, got {kind_of(raw)}")


def _shape_of(item: Any) -> tuple[int, ...]:
    if isinstance(item, list):
        return (len(item), *(_shape_of(item[0]) if item else ()))
    return ()


def _number_from_text(text: str, where: str) -> Fraction:
    try:
        number = rational_from_text(text)  # the same whitelist as a number given to the Python API
    except ExpressionError as error:
        raise SpecError(f"{where}: {text!r} is not a number: {error}") from None
    return Fraction(int(number.p), int(number.q))
