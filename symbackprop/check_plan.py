"""Which parameter elements each gradient oracle looks at: a deterministic sample chosen by work.

Nothing here is timed: the same network and values give the same sample on any machine.

* Finite differences cost two forward passes per element.  Every element is
  checked while the elements and their work (elements × forward operations ×
  samples) stay within :data:`FINITE_DIFFERENCE_ELEMENTS` and
  :data:`FINITE_DIFFERENCE_WORK`; beyond that each parameter gets its share of
  the elements the bound pays for, spread over it (:func:`spread`).
* ``sympy.diff`` is charged, per element and sample, the forward operations of
  the nodes the element reaches (they are rebuilt in SymPy with the element as
  the one symbol), a weight times the square of the number of entries that
  come to depend on it (what ``sympy.diff`` differentiates grows about so), and
  a fixed amount.  Parameters are visited cheapest first, one
  element each per round, until :data:`SYMPY_ORACLE_WORK` is spent.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .network import Network

if TYPE_CHECKING:
    from .derivation import Derivation

#: Finite differences check every element up to this many, and up to this much work.
FINITE_DIFFERENCE_ELEMENTS = 6_000
FINITE_DIFFERENCE_WORK = 300_000_000
#: A forward pass costs at least this many operations' worth (calling the program is not free), and each
#: quantity it computes this many more: one NumPy call of the generated program costs about a thousand
#: arithmetic operations, so a deep, narrow network's pass costs its length, not its arithmetic.
PROGRAM_CALL_OPERATIONS = 10_000
LINE_OPERATIONS = 1_000

#: The work the sympy.diff oracle may spend, and the weight of the entries that depend on the element:
#: SymPy's work grows with the square of their number (each is a sum over the others it reaches).
SYMPY_ORACLE_WORK = 6_000
SYMPY_ENTRY_WEIGHT = 1
#: What any element costs SymPy before the first operation (writing out, rewriting, evaluating).
SYMPY_ELEMENT_WORK = 500

Position = tuple[int, int]


def spread(count: int) -> Iterator[int]:
    """Flat positions 0 … count − 1 spread out: the first, the last, then midpoints of ever finer halves."""
    if count <= 0:
        return
    yield 0
    if count == 1:
        return
    yield count - 1
    intervals = deque([(0, count - 1)])
    while intervals:
        low, high = intervals.popleft()
        if high - low < 2:
            continue
        middle = (low + high) // 2
        yield middle
        intervals.extend(((low, middle), (middle, high)))


def _positions(shape: tuple[int, ...], flat: list[int]) -> list[Position]:
    return [divmod(p, math.prod(shape[1:])) for p in flat]


def every_position(shape: tuple[int, ...]) -> list[Position]:
    """(row, column) of every entry; a tensor of rank 3 or more is seen as (first axis, the rest flattened)."""
    return [(i, j) for i in range(shape[0]) for j in range(math.prod(shape[1:]))]


@dataclass(frozen=True)
class FiniteDifferencePlan:
    """The elements of each parameter that finite differences perturb (in row-major order)."""

    positions: dict[str, list[Position]]
    complete: bool


def finite_difference_plan(network: Network, forward_operations: int, samples: int) -> FiniteDifferencePlan:
    params = network.params
    elements = sum(q.size for q in params)
    lines = sum(1 for q in network.quantities(elements=True) if q.definition is not None)
    per_element = 2 * (max(forward_operations * samples, 0) + LINE_OPERATIONS * lines + PROGRAM_CALL_OPERATIONS)
    affordable = min(FINITE_DIFFERENCE_ELEMENTS, FINITE_DIFFERENCE_WORK // per_element)
    if elements <= affordable:
        return FiniteDifferencePlan({q.name: every_position(q.matrix_shape) for q in params}, True)
    positions, left = {}, affordable
    for q in params:  # each parameter its share of what the bound pays for, at least one while any is left
        share = min(q.size, left, max(1, affordable * q.size // elements))
        flat = sorted(p for _, p in zip(range(share), spread(q.size)))
        positions[q.name] = _positions(q.matrix_shape, flat)
        left -= share
    return FiniteDifferencePlan(positions, False)


def downstream(network: Network, parameter: str) -> set[str]:
    """The names whose forward values depend on ``parameter`` (its elements, and groups of dependent elements)."""
    quantity = network[parameter]
    reached = {parameter, *(e for row in quantity.elements or () for e in row)}
    for q in network.quantities(elements=True):  # definition order: dependencies come first
        if q.elements is not None and any(e in reached for row in q.elements for e in row):
            reached.add(q.name)
        elif any(name in reached for name in q.dependencies):
            reached.add(q.name)
            if q.group is not None:
                reached.add(q.group)
    return reached


def _reach(network: Network, node_operations: dict[str, int]) -> dict[str, int]:
    """Per name, the forward operations of everything downstream of it, found in one backward pass over the
    definitions (a diamond counts twice, so it is capped at the whole forward pass): an order to visit by."""
    total = sum(node_operations.values())
    reach: dict[str, int] = {}
    for q in reversed(network.quantities(elements=True)):
        reach[q.name] = min(total, reach.get(q.name, 0) + node_operations.get(q.name, 0))
        upstream = (*q.dependencies, *(e for row in q.elements or () for e in row))
        for name in upstream:
            reach[name] = min(total, reach.get(name, 0) + reach[q.name])
    for q in network.params:  # a parameter declared element by element reaches what its elements reach
        if q.elements is not None:
            reach[q.name] = max(reach.get(e, 0) for row in q.elements for e in row)
    return reach


def sympy_plan(derivation: Derivation, node_operations: dict[str, int], dependent_entries: Callable[[str], int],
               *, thorough: bool, samples: int = 1, work: int = SYMPY_ORACLE_WORK
               ) -> tuple[dict[str, list[Position]], bool]:
    """The elements of each parameter that sympy.diff derives, and whether that is every element.

    ``dependent_entries(parameter)`` counts the forward entries (of every sample) that come to
    depend on one element of it; ``node_operations`` are the forward operations of each node,
    rebuilt once per sample.  Parameters
    are visited in the order of what lies downstream of them, and only those visited are
    measured, so planning stays linear in the network.
    """
    network = derivation.network
    params = network.params
    if thorough:
        return {q.name: every_position(q.matrix_shape) for q in params}, True
    reach = _reach(network, node_operations)
    order = sorted(params, key=lambda q: reach.get(q.name, 0))  # stable: definition order among equals
    chosen: dict[str, list[int]] = {q.name: [] for q in params}
    costs: dict[str, int] = {}
    spent, included = 0, []
    for q in order:  # the first round measures each parameter it reaches
        rebuilt = sum(node_operations.get(name, 0) for name in downstream(network, q.name))
        entries = dependent_entries(q.name) / samples
        costs[q.name] = samples * (SYMPY_ELEMENT_WORK + rebuilt + math.ceil(SYMPY_ENTRY_WEIGHT * entries ** 2))
        if spent + costs[q.name] > work:
            break
        chosen[q.name].append(0)
        spent += costs[q.name]
        included.append(q)
    spreads = {q.name: spread(q.size) for q in included}
    for q in included:
        next(spreads[q.name])  # position 0, taken in the first round
    while included and spent <= work:
        still = []
        for q in included:
            if spent + costs[q.name] > work:
                spent = work + 1
                break
            position = next(spreads[q.name], None)
            if position is not None:
                chosen[q.name].append(position)
                spent += costs[q.name]
                still.append(q)
        else:
            included = still
    positions = {q.name: _positions(q.matrix_shape, sorted(chosen[q.name])) for q in params}
    return positions, all(len(chosen[q.name]) == q.size for q in params)


def nan_entries(value: object) -> int:
    return int(np.count_nonzero(np.isnan(np.asarray(value, dtype=float))))


__all__ = [
    "FINITE_DIFFERENCE_ELEMENTS", "FINITE_DIFFERENCE_WORK", "SYMPY_ORACLE_WORK", "FiniteDifferencePlan",
    "downstream", "every_position", "finite_difference_plan", "nan_entries", "spread", "sympy_plan",
]
