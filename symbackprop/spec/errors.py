"""The error a malformed spec or values file raises, and how its messages name what they found."""

from __future__ import annotations

from typing import Any

from ..errors import SymbackpropError

__all__ = ["SpecError", "kind_of"]


class SpecError(SymbackpropError, ValueError):
    """A spec or values file is not well formed (sections, shapes, value types, file format)."""


def kind_of(value: Any) -> str:
    """What a TOML or JSON value is, in the words of a message ("got a table")."""
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
