"""Hand-friendly numbers for a worksheet, drawn from a seed.

Every input and parameter entry is a number with one decimal place between −0.9 and 0.9 (a
class target is one-hot, a binary label 0 or 1, an index an integer from 0 to its bound − 1), drawn by
Python's own generator, whose sequence
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
from ..ops.softmax_targets import class_indices
from ..tensor.gather import index_inputs

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

    def draw(source: random.Random) -> dict[str, Any]:
        return {q.name: _draw(source, q, targets.get(q.name)) for q in network.quantities(INPUT, PARAM)}

    probes = random.Random(f"probe {seed}")  # its own sequence: the worksheet's draws stay those of the seed
    exempt = _always_zero(derivation, lambda: draw(probes))
    for _ in range(ATTEMPTS):
        values = draw(generator)
        if _good(derivation, values, exempt):
            return values
    raise OptionError(f"no hand-friendly values found for this network from seed {seed}; give values instead")


def _draw(generator: random.Random, quantity, target: tuple[str, int] | None) -> Any:
    if target is not None and target[0] == "index":  # an embedding's rows, a class, an entry of each row
        return _shaped([float(generator.randrange(target[1])) for _ in range(quantity.size)], quantity.shape)
    if quantity.shape is not None and len(quantity.shape) > 2:  # a tensor: its entries in row-major order
        return _shaped([generator.randint(-9, 9) / 10 for _ in range(quantity.size)], quantity.shape)
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


def _shaped(entries: list[float], shape: tuple[int, ...] | None) -> Any:
    return entries[0] if shape is None else np.reshape(np.array(entries), shape).tolist()


def _class_targets(network) -> dict[str, tuple[str, int]]:
    """Inputs a classification loss compares with (one-hot targets by axis, binary labels, class indices),
    and inputs that index a table or a row, with their bounds."""
    indices = {name: ("index", bound) for name, bound, _ in [*index_inputs(network), *class_indices(network)]}
    return {**_loss_targets(network), **indices}


def _loss_targets(network) -> dict[str, tuple[str, int]]:
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


def _always_zero(derivation: Derivation, draw, probes: int = 16) -> set[str]:
    """Parameters whose gradient is zero at each of ``probes`` draws: zero by the network's structure (a bias
    before a batchnorm, which subtracts it again), so that no draw could give them another. Sixteen, because
    a small ReLU network can leave a parameter without gradient at one draw in four (every unit off)."""
    zero: set[str] | None = None
    for _ in range(ATTEMPTS):
        try:
            evaluation = derivation.evaluate(draw())
        except SymbackpropError:
            continue
        found = {q.name for q in derivation.network.params if not np.any(np.abs(evaluation.grad[q.name]) > 1e-9)}
        zero = found if zero is None else zero & found
        probes -= 1
        if probes == 0 or not zero:
            break
    return zero or set()


def _good(derivation: Derivation, values: dict[str, Any], exempt: set[str] = frozenset()) -> bool:
    try:
        evaluation = derivation.evaluate(values)
    except SymbackpropError:
        return False
    numbers = [*evaluation.forward.values(), *evaluation.grad.values()]
    if not all(np.all(np.isfinite(v)) and np.all(np.abs(v) <= LARGEST) for v in numbers):
        return False
    for q in derivation.network.quantities():
        if q.kind == PARAM and q.name not in exempt and not np.any(np.abs(evaluation.grad[q.name]) > 1e-3):
            return False
    for step in derivation.edges:  # a kinked activation's step: its input must keep clear of the kink
        if step.rules and step.rules[0] in _KINKED and np.any(np.abs(evaluation.forward[step.target]) < KINK_MARGIN):
            return False
    return True


__all__ = ["drawn_values"]
