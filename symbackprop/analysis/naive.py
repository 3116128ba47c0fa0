"""The naive way to every gradient: each parameter element on its own, sharing nothing.

Its operation count is what backpropagation is compared with.  By default it is
*counted* from structure, as the page counts it (역전파의 효율성): one forward
pass per parameter element, p × the forward pass's operations
(:func:`counted_naive`, linear in the network, no SymPy).

On request it is *measured* instead (:func:`naive_operations`): ``sympy.diff``
of the whole expanded loss, once per parameter element.  That count is bounded
by work, never by a clock, so the same network gives the same figures on any
machine: every element is derived while there are at most ``cap`` of them and
the work (elements × operations of the expanded loss) stays within ``work``;
otherwise a fixed sample of elements of each parameter is derived — evenly
spaced in row-major order, the first and the last among them — and each
parameter's count is extrapolated from its sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from ..network import INPUT, PARAM
from .counting import count_operations, scalar_operations

if TYPE_CHECKING:
    from ..derivation import Derivation

COUNTED, EXACT, SAMPLED, SKIPPED = "counted", "exact", "sampled", "skipped"
#: Why the count is what it is: one forward pass per element (counted); every element derived, a sample
#: because of the element cap or of the work bound, or not attempted because the forward pass or the
#: expanded loss is too large (measured).
FORWARD_PASSES, EVERY_ELEMENT, OVER_CAP, OVER_WORK, FORWARD_TOO_LARGE, LOSS_TOO_LARGE = (
    "forward_passes", "every_element", "over_cap", "over_work", "forward_too_large", "loss_too_large")


@dataclass(frozen=True)
class ParameterGroupCost:
    """The naive count for one parameter (all its elements); ``positions`` are the (row, column)
    of the elements derived, counted from 0."""

    name: str
    elements: int
    derived: int
    operations: int | None
    positions: tuple[tuple[int, int], ...] = ()

    @property
    def estimated(self) -> bool:
        return self.derived < self.elements


@dataclass(frozen=True)
class NaiveCost:
    """Each parameter element's gradient on its own, nothing shared.

    ``method`` is ``"counted"`` (the default: one forward pass per element, p ×
    forward; ``measured`` holds the forward pass's operations and ``derived`` is 0),
    or, measured with ``sympy.diff`` of the fully expanded loss, ``"exact"``
    (every element derived), ``"sampled"`` (``per_parameter`` elements of each
    parameter derived, each parameter's total extrapolated as mean × elements:
    the elements of one weight matrix have derivatives of the same form) or
    ``"skipped"`` (too large to attempt: ``operations`` is None).  ``reason`` says
    why (one of the module's reason names), ``measured`` and ``limit`` the figure
    that decided it and its bound.  ``loss_operations`` is the expanded loss's own
    count (None when it was not built).
    """

    operations: int | None
    parameters: int
    derived: int
    method: str
    loss_operations: int | None
    groups: tuple[ParameterGroupCost, ...]
    reason: str
    measured: int = 0
    limit: int = 0
    per_parameter: int = 0

    @property
    def estimated(self) -> bool:
        """Whether the figure is extrapolated from a sample of elements (counted and exact figures are not)."""
        return self.method == SAMPLED

    @property
    def counted(self) -> bool:
        """Whether the figure is counted from the forward pass rather than measured with ``sympy.diff``."""
        return self.method == COUNTED

    @property
    def note(self) -> str:
        """How the figure was found (counted; measured exactly, on a sample or skipped), in English
        (see :mod:`symbackprop.printing.report_text`)."""
        from ..printing.report_text import naive_note

        return naive_note(self, "en")


def counted_naive(derivation: Derivation, forward: int | None = None) -> NaiveCost:
    """The page's count of the naive way: one forward pass (``forward`` operations) per parameter element.

    Linear in the network: the forward pass's operations are counted once, from structure.
    """
    forward = count_operations(derivation).forward if forward is None else forward
    groups = tuple(ParameterGroupCost(q.name, q.size, 0, q.size * forward) for q in derivation.network.params)
    parameters = sum(g.elements for g in groups)
    return NaiveCost(parameters * forward, parameters, 0, COUNTED, None, groups, FORWARD_PASSES, forward)


def _parameter_elements(derivation: Derivation) -> tuple[list[tuple[str, list[sp.Basic], tuple[int, int]]], dict]:
    """Per parameter, the SymPy objects standing for its elements in the expanded loss (row by row)
    and its shape, and a replacement of matrix elements by plain symbols (which SymPy differentiates faster)."""
    network = derivation.network
    replacements: dict = {}
    for q in network.quantities(INPUT, PARAM):
        if q.elements is None and not q.is_scalar:
            matrix = derivation.forward_expression(q.name)
            for i in range(matrix.rows):
                for j in range(matrix.cols):
                    replacements[matrix[i, j]] = sp.Dummy(f"{q.name}_{i + 1}_{j + 1}", real=True)
    groups = []
    for q in network.params:
        if q.elements is not None:
            symbols = [network[e].symbol for row in q.elements for e in row]
        elif q.is_scalar:
            symbols = [q.symbol]
        else:
            matrix = derivation.forward_expression(q.name)
            symbols = [replacements[matrix[i, j]] for i in range(matrix.rows) for j in range(matrix.cols)]
        groups.append((q.name, symbols, q.matrix_shape))
    return groups, replacements


def sample_positions(elements: int, count: int) -> list[int]:
    """``count`` of ``elements`` flat positions, evenly spaced, the first and (for two or more) the last."""
    if count >= elements:
        return list(range(elements))
    if count == 1:
        return [0]
    return sorted({round(k * (elements - 1) / (count - 1)) for k in range(count)})


def naive_operations(derivation: Derivation, *, cap: int = 64, sample: int = 2, work: int = 50_000,
                     loss_cap: int = 20_000, build_cap: int = 50_000, forward: int | None = None) -> NaiveCost:
    """Operation count of deriving each ∂L/∂θ on its own from the whole expanded loss, measured.

    Every element is derived when there are at most ``cap`` and elements ×
    (operations of the expanded loss) is at most ``work``; otherwise ``sample``
    elements of each parameter (fewer, at least one, where ``work`` demands it)
    and the rest extrapolated.  The loss is not expanded when the forward pass
    has more than ``build_cap`` operations, nor differentiated when the expanded
    loss has more than ``loss_cap``: then the method is "skipped".
    """
    network = derivation.network
    parameters = sum(q.size for q in network.params)
    forward = count_operations(derivation).forward if forward is None else forward
    if forward > build_cap:
        return NaiveCost(None, parameters, 0, SKIPPED, None, (), FORWARD_TOO_LARGE, forward, build_cap)
    loss = sp.sympify(derivation.forward_expression(derivation.loss))
    # counted on SymPy's shared form, before anything walks the (possibly exponential) tree
    loss_ops = scalar_operations(loss)
    if loss_ops > loss_cap:
        return NaiveCost(None, parameters, 0, SKIPPED, loss_ops, (), LOSS_TOO_LARGE, loss_ops, loss_cap)
    groups, replacements = _parameter_elements(derivation)
    if replacements:
        loss = loss.xreplace(replacements)
    affordable = work // max(loss_ops, 1)  # elements whose derivatives the work bound pays for
    if parameters <= cap and parameters <= affordable:
        per_parameter, reason, measured, limit = max((len(s) for _, s, _ in groups), default=0), EVERY_ELEMENT, 0, 0
    else:
        per_parameter = max(1, affordable // max(len(groups), 1))
        if parameters > cap and sample <= per_parameter:
            per_parameter, reason, measured, limit = sample, OVER_CAP, parameters, cap
        else:
            reason, measured, limit = OVER_WORK, parameters * loss_ops, work
    group_costs = []
    for name, symbols, (_, columns) in groups:
        positions = sample_positions(len(symbols), per_parameter)
        counts = [scalar_operations(sp.diff(loss, symbols[p])) for p in positions]
        total = sum(counts) if len(counts) == len(symbols) else round(sum(counts) / len(counts) * len(symbols))
        group_costs.append(ParameterGroupCost(name, len(symbols), len(counts), total,
                                              tuple(divmod(p, columns) for p in positions)))
    derived = sum(g.derived for g in group_costs)
    method = EXACT if derived == parameters else SAMPLED
    if method == EXACT:
        reason, measured, limit = EVERY_ELEMENT, 0, 0
    return NaiveCost(sum(g.operations for g in group_costs), parameters, derived, method, loss_ops,
                     tuple(group_costs), reason, measured, limit, per_parameter)


__all__ = ["NaiveCost", "ParameterGroupCost", "counted_naive", "naive_operations", "sample_positions"]
