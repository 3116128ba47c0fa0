"""Every built-in operation as one declared record (see :mod:`symbackprop.ops.record`).

Importing this package declares them all; the rest of symbackprop reads the
registries below instead of naming operations.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from ..special import SPECIAL_KERNELS
from . import activations, elementwise_math, gated, losses, scalar_extrema, stable  # noqa: F401 - declaring the records registers them
from .record import (
    ACTIVATION_OPS,
    FUNCTION_OPS,
    LOSS_OPS,
    Activation,
    ActivationOp,
    FunctionOp,
    LossGradientRecord,
    LossRecord,
    activation_op_of,
)

#: NumPy kernels by the name the code printer writes for an application (the SymPy class's name).
NUMPY_KERNELS: dict[str, Callable] = {**SPECIAL_KERNELS, **{name: op.kernel for name, op in FUNCTION_OPS.items()}}

#: The built-in activations by name.
ACTIVATIONS: dict[str, Activation] = {name: op.activation for name, op in ACTIVATION_OPS.items()}

#: Our SymPy function classes: their derivatives are trusted, and the oracle rewrites them to primitives.
OWN_FUNCTIONS: tuple[type, ...] = tuple(op.function for op in FUNCTION_OPS.values())


def loss_op(name: str) -> LossRecord:
    """A loss by its name or alias (KeyError for an unknown one)."""
    if name in LOSS_OPS:
        return LOSS_OPS[name]
    return next(op for op in LOSS_OPS.values() if name in op.aliases)


def loss_names() -> list[str]:
    return sorted({*LOSS_OPS, *(alias for op in LOSS_OPS.values() for alias in op.aliases)})


def primitive_form(expr: sp.Expr) -> sp.Expr:
    """Rewrite our functions into SymPy primitives (for an oracle independent of our ``fdiff``)."""
    return expr.replace(lambda e: isinstance(e, OWN_FUNCTIONS), lambda e: e.primitive())


__all__ = [
    "ACTIVATIONS", "ACTIVATION_OPS", "FUNCTION_OPS", "LOSS_OPS", "NUMPY_KERNELS", "OWN_FUNCTIONS", "Activation",
    "ActivationOp", "FunctionOp", "LossGradientRecord", "LossRecord", "activation_op_of", "loss_names",
    "loss_op", "primitive_form",
]
