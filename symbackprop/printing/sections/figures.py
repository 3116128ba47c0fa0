"""Counts and ratios as LaTeX, with the document's significant digits (or decimal places)."""

from __future__ import annotations

from ..numbers import NumberFormat

#: Counts beyond this print in scientific notation.
LARGE_COUNT = 10**9


class Figures:
    """Counts and ratios as LaTeX, rounded as the document's numbers are."""

    def __init__(self, digits: int, decimals: int | None = None) -> None:
        self.format = NumberFormat(exact=False, digits=digits, decimals=decimals)

    def count(self, n: int, *, estimated: bool = False) -> str:
        text = self.format.number(float(n)) if n >= LARGE_COUNT else f"{n:,}".replace(",", "{,}")
        return rf"\approx {text}" if estimated else text

    def ratio(self, value: float, *, estimated: bool = False) -> str:
        text = self.format.number(float(value))
        return rf"\approx {text}" if estimated else text

    def math(self, text: str) -> str:
        return f"${text}$"
