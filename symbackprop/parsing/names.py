"""Which texts may name a node of a network."""

from __future__ import annotations

import keyword
import re

from ..errors import InvalidNameError

__all__ = ["parse_assignment_name"]

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


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
