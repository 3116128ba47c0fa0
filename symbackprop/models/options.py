"""What every ready-made network checks the same way: sizes, activations, losses and eps."""

from __future__ import annotations

import math
from typing import Any

import sympy as sp

from .. import functions as F
from ..errors import NetworkError
from ..ops import ACTIVATIONS, loss_names, loss_op


def resolve_activation(spec: Any) -> F.Activation:
    """An activation by its name, as an Activation, or any SymPy-differentiable callable."""
    if isinstance(spec, F.Activation):
        return spec
    if isinstance(spec, str):
        try:
            return ACTIVATIONS[spec]
        except KeyError:
            known = ", ".join(sorted(ACTIVATIONS))
            raise NetworkError(f"unknown activation {spec!r}; known: {known}") from None
    return F.elementwise(spec)


def check_loss(loss: str) -> str:
    if loss not in loss_names():
        raise NetworkError(f"unknown loss {loss!r}; known: {', '.join(loss_names())}")
    return loss


def loss_value(loss: str, h: Any, y: Any) -> Any:
    op = loss_op(loss)
    if isinstance(h, sp.MatrixBase):  # the scalar level writes the loss out element by element
        return op.written_out(list(zip(h, y)))
    return op(h, y)


def size(name: str, value: Any, *, optional: bool = False) -> int | None:
    """A positive integer size (NumPy's integers included), or None where that is allowed."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise NetworkError(f"{name} must be a positive integer, got {value!r}")
    number = int(value.__index__())
    if number <= 0:
        raise NetworkError(f"{name} must be a positive integer, got {value!r}")
    return number


def epsilon(value: Any) -> sp.Rational:
    """eps as the exact rational it stands for, so that exact and float evaluation agree."""
    if isinstance(value, bool) or not isinstance(value, (int, float, sp.Rational)) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise NetworkError(f"eps must be a positive finite number, got {value!r}")
    exact = sp.Rational(str(value)) if isinstance(value, float) else sp.Rational(value)
    if not exact > 0:
        raise NetworkError(f"eps must be a positive number, got {value!r}")
    return exact
