"""How tightly a piece of printed LaTeX binds, and the piece that carries it.

The printers and the operation records' LaTeX forms write :class:`Printed`
pieces; an operand that binds less tightly than its context is parenthesised.
This module imports nothing of symbackprop, so a record can say how its formula
binds without loading a printer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Precedence(IntEnum):
    """Binding strength, loosest first: a sum, a negation, ⊙, a product, a fraction, a postfix, an atom."""

    ADD = 10
    NEGATIVE = 15
    HADAMARD = 18
    PRODUCT = 20
    FRACTION = 25
    POSTFIX = 30
    ATOM = 40


@dataclass(frozen=True)
class Printed:
    text: str
    precedence: int


def over(n: int, numerator: int = 1) -> str:
    """The LaTeX factor numerator/n, omitted when it is 1."""
    if numerator == n:
        return ""
    if n == 1:
        return f"{numerator} "
    return rf"\frac{{{numerator}}}{{{n}}} "
