"""Which gradients a backward pass asks for, in the order the backward pass computes them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..derivation import EDGE, SEED
from ..errors import OptionError, UnknownNameError
from ..network import INPUT, NODE, PARAM

if TYPE_CHECKING:
    from ..derivation import Derivation

BLANKS = ("backward", "parameters")


def check_practicable(derivation: Any) -> None:
    """Practice takes a derivation of a vector-level network (a scalar level's every weight is a quantity)."""
    from ..derivation import Derivation

    if not isinstance(derivation, Derivation):
        raise TypeError(f"expected a Derivation (sbp.backprop(net)), got {type(derivation).__name__}")
    if any(q.elements is not None for q in derivation.network.quantities(elements=False)):
        raise OptionError("practice works on vector-level networks; build this one without level='scalar'")


def backward_order(derivation: Derivation) -> list[str]:
    """Every quantity whose ∂L/∂· the sweep completes, loss excluded, in the sweep's order."""
    return [s.target for s in derivation.steps if s.complete and s.kind != SEED]


def backward_quantities(derivation: Derivation) -> list[str]:
    """The nodes' and parameters' gradients: what a hand-written backward pass computes."""
    network = derivation.network
    return [n for n in backward_order(derivation) if network[n].kind in (NODE, PARAM)]


def blank_quantities(derivation: Derivation, blanks: Any) -> list[str]:
    """``blanks``: "backward" (every node's and parameter's gradient), "parameters", or a list of names."""
    if isinstance(blanks, str):
        if blanks == "backward":
            return backward_quantities(derivation)
        if blanks == "parameters":
            return [n for n in backward_quantities(derivation) if derivation.network[n].kind == PARAM]
        raise OptionError(f"blanks must be 'backward', 'parameters' or a list of quantity names, not {blanks!r}")
    try:
        names = list(blanks)
    except TypeError:
        raise OptionError(f"blanks must be 'backward', 'parameters' or a list of names, not {blanks!r}") from None
    order = backward_order(derivation)
    for name in names:
        if not isinstance(name, str) or name not in order:
            known = ", ".join(order)
            raise UnknownNameError(f"no gradient of {name!r} in the backward pass; the quantities are {known}")
    if not names:
        raise OptionError("blanks lists no quantity")
    return [n for n in order if n in set(names)]


def upstream_of(derivation: Derivation, name: str) -> list[str]:
    """The quantities whose gradients the step for ``name`` reads (the loss's own is 1, not counted)."""
    return [s.source for s in derivation.steps_into(name) if s.kind == EDGE and s.source != derivation.loss]


def is_input(derivation: Derivation, name: str) -> bool:
    return derivation.network[name].kind == INPUT


__all__ = ["BLANKS", "backward_order", "backward_quantities", "blank_quantities", "check_practicable", "is_input",
           "upstream_of"]
