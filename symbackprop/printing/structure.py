"""What the recorded steps mean for a reader: roles, layers and chains.

Reads a :class:`~symbackprop.derivation.Derivation` and nothing else; it names
what each step does (the weight gradient, the activation, the gradient passed
down …) and lists the paths from the loss to each parameter for the chain-rule
section.  The runs of steps the page shows under one layer's heading are
:func:`symbackprop.analysis.layers.step_groups`.
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import tensor as T
from ..derivation import SUM, Derivation, Step
from ..network import INPUT, NODE, PARAM, Network
from ..ops import ACTIVATION_OPS

OUTPUT, ACTIVATION, WEIGHT, BIAS, PASSED, INPUT_ROLE, TARGET, PARAMETER, INTERMEDIATE, PART, FAN_OUT = (
    "output", "activation", "weight", "bias", "passed", "input", "target", "parameter", "node", "part", "fan_out",
)

_ACTIVATION_RULES = {*ACTIVATION_OPS, "activation"}
_PRODUCT_RULES = {"matmul", "multiply", "hadamard"}
_PASS_THROUGH_RULES = {"add", "broadcast"}


def role(step: Step, derivation: Derivation) -> str:
    """The page's name for what a step computes."""
    if step.kind == SUM:
        return FAN_OUT
    if not step.complete:
        return PART
    target = derivation.network[step.target]
    rules = set(step.rules)
    if target.kind == INPUT:
        compared = step.source == derivation.loss and (target.group or target.name) in loss_targets(derivation.network)
        return TARGET if compared else INPUT_ROLE
    if step.source == derivation.loss:
        return OUTPUT
    if target.kind == PARAM:
        if rules & _PRODUCT_RULES:
            return WEIGHT
        if rules <= _PASS_THROUGH_RULES:
            return BIAS
        return PARAMETER
    if rules & _ACTIVATION_RULES:
        return ACTIVATION
    if rules & _PRODUCT_RULES:
        return PASSED
    return INTERMEDIATE


def loss_targets(network: Network) -> set[str]:
    """Inputs the loss compares the prediction with (the page's 정답), whole rather than element by element."""
    loss = network[network.loss_name]
    if isinstance(loss.definition, T.LossNode):
        return {n.name for n in T.walk(loss.definition.target) if isinstance(n, T.Ref)}
    dependencies = [network[name] for name in loss.dependencies]
    if not any(q.kind == NODE for q in dependencies):
        return set()  # nothing is predicted, so nothing is compared with a target
    return {q.group or q.name for q in dependencies if q.kind == INPUT}


def runs(steps: Iterable[Step], derivation: Derivation) -> list[tuple[str, list[Step]]]:
    """Consecutive steps of the same role, shown under one label (the scalar level has many)."""
    result: list[tuple[str, list[Step]]] = []
    for step in steps:
        kind = role(step, derivation)
        if result and result[-1][0] == kind:
            result[-1][1].append(step)
        else:
            result.append((kind, [step]))
    return result


def parameter_groups(derivation: Derivation) -> list[str]:
    """Parameters (whole, not element by element) in the order the backward pass reaches them."""
    network = derivation.network
    order: dict[str, int] = {}
    for step in derivation.steps:
        quantity = network[step.target]
        if quantity.kind != PARAM:
            continue
        whole = quantity.group or quantity.name
        order.setdefault(whole, step.index)
    return sorted(order, key=order.__getitem__)


def reached_parameters(derivation: Derivation) -> list[str]:
    """Every parameter the derivation reaches, element by element, in backward order."""
    network = derivation.network
    seen: dict[str, None] = {}
    for step in derivation.steps:
        if network[step.target].kind == PARAM and step.complete:
            seen.setdefault(step.target)
    return list(seen)
