"""The registry itself: one table of vector–Jacobian products by node type, one of rule sentences.

A module that adds a node type registers its rule here with :func:`vjp`, and
its sentence with :func:`register`; everything else asks :func:`pulls`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import sympy as sp

from .. import tensor as T
from ..errors import UnsupportedFunctionError


class Product(str, Enum):
    """How the local factor combines with the upstream gradient g (compares equal to its name)."""

    IDENTITY = "identity"
    HADAMARD = "hadamard"
    RIGHT = "right"
    LEFT = "left"
    SCALE = "scale"
    TRANSPOSE = "transpose"
    SUM = "sum"
    OTHER = "other"

    __str__ = str.__str__
    __format__ = str.__format__


@dataclass(frozen=True)
class Pull:
    """What one operand receives: ``gradient`` = g combined with ``local`` by ``product``."""

    operand: T.Tensor
    gradient: T.Tensor
    rule: str
    local: T.Tensor | sp.Expr | None = None
    product: Product = Product.OTHER


@dataclass(frozen=True)
class Rule:
    key: str
    explanation: dict[str, str]


RULES: dict[str, Rule] = {}
_VJPS: dict[type, Callable[..., list[Pull]]] = {}
_WITH_OUTPUT: set[type] = set()


def register(key: str, en: str, ko: str) -> Rule:
    """The sentence (English, Korean) that explains the rule ``key`` in the documents."""
    rule = Rule(key, {"en": en, "ko": ko})
    RULES[key] = rule
    return rule


def vjp(op_type: type, *, with_output: bool = False):
    """Register the rule of ``op_type``; ``with_output`` rules also receive the node's value (see :func:`pulls`)."""
    def decorate(function):
        _VJPS[op_type] = function
        if with_output:
            _WITH_OUTPUT.add(op_type)
        return function
    return decorate


def pulls(op: T.Tensor, upstream: T.Tensor, output: T.Tensor | None = None) -> list[Pull]:
    """Apply the registered rule of ``op`` to the upstream gradient.

    ``output`` names ``op``'s value where ``op`` is a whole definition (a of a = softmax(z)): a rule
    whose gradient is written with its own output (s ⊙ (g − 1 (sᵀ g))) then reads the stored value by
    its name; elsewhere it receives ``op`` itself.
    """
    try:
        rule = _VJPS[type(op)]
    except KeyError:
        raise UnsupportedFunctionError(f"no derivative rule for {type(op).__name__}") from None
    if type(op) in _WITH_OUTPUT:
        return rule(op, upstream, op if output is None else output)
    return rule(op, upstream)


def activation_rule(name: str) -> str:
    return name if name in RULES else "activation"
