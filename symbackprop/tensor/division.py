"""Element-wise division a ⊘ b of two tensors, or of a scalar by a tensor, broadcasting as NumPy does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .nodes import Broadcasting


@dataclass(frozen=True, eq=False, repr=False)
class Divide(Broadcasting):
    """Element-wise quotient ⊘; a zero divisor gives ±inf or NaN, as in NumPy."""

    symbol: ClassVar[str] = "/"


__all__ = ["Divide"]
