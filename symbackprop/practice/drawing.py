"""Hand-friendly numbers for a worksheet, drawn from a seed.

Every input and parameter entry is a number with one decimal place between −0.9 and 0.9 (a
class target is one-hot, a binary label 0 or 1), drawn by Python's own generator, whose sequence
for a seed is the same on every machine.  A draw is kept only when it makes a good exercise: no
kinked activation (ReLU, leaky ReLU, |·|) exactly at, or nearly at, its kink, every number finite
and small enough to work by hand, and every parameter with a gradient that is not all zeros.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tensor as T
from ..errors import OptionError, SymbackpropError
from ..network import INPUT, PARAM
from ..ops import LOSS_OPS

if TYPE_CHECKING:
    from ..derivation import Derivation

#: How far from its kink a kinked activation's input must be (a hand-rounded 0.00 would be ambiguous).
KINK_MARGIN = 0.05
#: The largest magnitude of any forward value or gradient a worksheet asks a student to handle.
LARGEST = 50.0
ATTEMPTS = 2000
_KINKED = ("relu", "leaky_relu", "abs")
_LABEL_LOSSES = ("nn.BCELoss", "nn.BCEWithLogitsLoss")
_ONE_HOT_LOSSES = ("nn.CrossEntropyLoss",)


def drawn_values(derivation: Derivation, seed: int) -> dict[str, Any]:
    """Values for every input and parameter, from ``seed``, that make a good worksheet."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise OptionError(f"seed must be an integer, not {seed!r}")
    generator = random.Random(seed)
    network = derivation.network
    targets = _class_targets(network)
    for _ in range(ATTEMPTS):
        values = {q.name: _draw(generator, q, targets.get(q.name)) for q in network.quantities(INPUT, PARAM)}
        if _good(derivation, values):
            return values
    raise OptionError(f"no hand-friendly values found for this network from seed {seed}; give values instead")


def _draw(generator: random.Random, quantity, target: tuple[str, int] | None) -> Any:
    rows, columns = quantity.shape if quantity.shape is not None else (1, 1)
    if target is not None:
        kind, axis = target
        if kind == "label":
            table = [[float(generator.randint(0, 1)) for _ in range(columns)] for _ in range(rows)]
        else:
            table = [[0.0] * columns for _ in range(rows)]
            if axis == 0:
                for j in range(columns):
                    table[generator.randrange(rows)][j] = 1.0
            else:
                for i in range(rows):
                    table[i][generator.randrange(columns)] = 1.0
    else:
        table = [[generator.randint(-9, 9) / 10 for _ in range(columns)] for _ in range(rows)]
    return table[0][0] if quantity.shape is None else table


def _class_targets(network) -> dict[str, tuple[str, int]]:
    """Inputs a classification loss compares with: one-hot targets (by axis) and binary labels."""
    loss = network[network.loss_name]
    definition = loss.definition
    if not isinstance(definition, T.LossNode):
        return {}
    record = LOSS_OPS.get(definition.kind)
    options = dict(definition.options)
    names = [n.name for n in T.walk(definition.target) if isinstance(n, T.Ref) and network[n.name].kind == INPUT]
    # the loss's PyTorch counterpart says what its target holds
    if record is not None and record.torch in _LABEL_LOSSES:
        return {name: ("label", 0) for name in names}
    if record is not None and record.torch in _ONE_HOT_LOSSES and "indices" not in str(options):
        return {name: ("one_hot", int(options.get("axis", 0) or 0)) for name in names}
    return {}


def _good(derivation: Derivation, values: dict[str, Any]) -> bool:
    try:
        evaluation = derivation.evaluate(values)
    except SymbackpropError:
        return False
    numbers = [*evaluation.forward.values(), *evaluation.grad.values()]
    if not all(np.all(np.isfinite(v)) and np.all(np.abs(v) <= LARGEST) for v in numbers):
        return False
    for q in derivation.network.quantities():
        if q.kind == PARAM and not np.any(np.abs(evaluation.grad[q.name]) > 1e-3):
            return False
    for step in derivation.edges:  # a kinked activation's step: its input must keep clear of the kink
        if step.rules and step.rules[0] in _KINKED and np.any(np.abs(evaluation.forward[step.target]) < KINK_MARGIN):
            return False
    return True


__all__ = ["drawn_values"]
