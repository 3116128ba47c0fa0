"""The registries a node type declares itself in: its chain-rule step, and what each interpreter does with it.

A node type's module registers its vector–Jacobian product with :func:`vjp`, the
sentence that explains it with :func:`register`, and its handling by each
interpreter (code, closed forms, counts, LaTeX, …) with :func:`interprets`, and
the name spec files call it by with :func:`spec_function`;
backprop asks :func:`pulls`, an interpreter :func:`interpretation_of`.  This
module imports nothing of symbackprop but its errors, so that the module
defining a node type can declare everything about it in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from .errors import UnsupportedFunctionError

if TYPE_CHECKING:
    import sympy as sp

    from . import tensor as T


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


# -- interpreters ---------------------------------------------------------------------------------

#: Every interpretation a node type declares, and the interpreter that reads it.
INTERPRETATIONS = {
    "code": "codegen.TreeEmitter: the NumPy program",
    "explicit": "explicit.ElementByElement: closed forms, element by element",
    "count": "analysis.counting.OperationCounter: operation counts",
    "factor_text": "analysis.products.FactorText: a local factor as short text",
    "upstream": "analysis.products.UpstreamProducts: ∂L/∂name with the upstream products in place",
    "latex": "printing.tensors.TensorPrinter: LaTeX",
    "dot": "graph: the computational graph's node label",
    "page_graph": "printing.page.graph_section: the reference page's chain of arrows",
}

#: Registered in place of a function: the interpreter's own method for any node (``TreeVisitor.generic``).
GENERIC = "generic"

_INTERPRETED: dict[str, dict[type, Callable[..., Any] | str]] = {name: {} for name in INTERPRETATIONS}


def interprets(interpretation: str, *node_types: type):
    """Register the decorated ``function(interpreter, node)`` as ``interpretation`` of ``node_types``."""
    def decorate(function):
        for node_type in node_types:
            declare_interpretation(interpretation, node_type, function)
        return function
    return decorate


def declare_interpretation(interpretation: str, node_type: type, function: Callable[..., Any] | str) -> None:
    table = _INTERPRETED[interpretation]  # KeyError: not an interpretation of INTERPRETATIONS
    if node_type in table:
        raise ValueError(f"{node_type.__name__} declares its {interpretation!r} twice")
    table[node_type] = function


def served_generically(interpretations: tuple[str, ...], *node_types: type) -> None:
    """Declare that ``interpretations`` handle ``node_types`` by their generic method (a repr, a rebuilt tree)."""
    for interpretation in interpretations:
        for node_type in node_types:
            declare_interpretation(interpretation, node_type, GENERIC)


def interpretation_of(interpretation: str, node_type: type) -> Callable[..., Any] | str | None:
    """What ``node_type`` declared for ``interpretation`` (its exact type, never a base's), or None."""
    return _INTERPRETED[interpretation].get(node_type)


# -- ranks ---------------------------------------------------------------------------------------

#: Node types whose every interpreter and rule handles operands and results of rank 3 or more.
_ANY_RANK: set[type] = set()


def takes_any_rank(*node_types: type) -> None:
    """Declare that ``node_types`` compute, differentiate and print tensors of any rank; the network refuses
    every other node type where a tensor of rank 3 or more meets it."""
    _ANY_RANK.update(node_types)


def handles_any_rank(node_type: type) -> bool:
    return node_type in _ANY_RANK


# -- spec files ----------------------------------------------------------------------------------

#: The functions spec files may call that operation modules declare, by their spec names.
DECLARED_SPEC_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def spec_function(name: str):
    """Let spec files call the decorated function as ``name(...)``."""
    def decorate(function):
        if name in DECLARED_SPEC_FUNCTIONS:
            raise ValueError(f"the spec function {name!r} is declared twice")
        DECLARED_SPEC_FUNCTIONS[name] = function
        return function
    return decorate
