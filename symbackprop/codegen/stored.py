"""An activation's derivative read from its stored output, where that gives the same number.

The forward pass stores h = tanh(z); the backward step's factor 1 − tanh²(z) is 1 − h², and since
tanh(z) is the one number both formulas read, computing it from h changes no bit while saving a
second tanh per element. Only such identities are declared (``ActivationOp.from_output``): the
sigmoid's σ(z)(1 − σ(z)) would lose the tail that its own σ(z)σ(−z) keeps, so it is left alone.
"""

from __future__ import annotations

from typing import Any

from .. import tensor as T
from ..ops import ACTIVATION_OPS, Activation
from ..tensor.hadamard import Hadamard

_FROM_OUTPUT: dict[str, Activation] = {}


def reading_stored_output(step: Any, network: Any) -> T.Tensor | None:
    """``step.result`` with its factor f′(z) written as a formula of the stored f(z), or None."""
    result, local = step.result, step.local
    if not isinstance(result, Hadamard) or not isinstance(local, T.Elementwise) or result.right != local:
        return None
    definition = network[step.source].definition
    if not isinstance(definition, T.Elementwise) or definition.operand != local.operand:
        return None
    function = definition.function
    op = ACTIVATION_OPS.get(function.name)
    if op is None or op.from_output is None or op.activation is not function \
            or local.function is not function.derivative:
        return None
    return Hadamard(result.left, T.Elementwise(_activation(op), T.Ref(step.source, definition.shape)))


def _activation(op: Any) -> Activation:
    """One Activation per op, so that the program defines its function once."""
    if op.name not in _FROM_OUTPUT:
        _FROM_OUTPUT[op.name] = Activation(f"{op.name}_prime_from_output", op.from_output)
    return _FROM_OUTPUT[op.name]


__all__ = ["reading_stored_output"]
