"""The bounds within which an expression is read at all."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


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
