"""Layers of a network, and the runs of backward steps a document shows under one heading.

:class:`Layer` is the one notion of a layer: its index, its output, its nodes and
its parameters.  The gradient-flow and memory reports group names by it; the
documents group the recorded steps into :class:`StepGroup` runs (the output
layer's steps, then each layer's), which need not match network layers one to one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..derivation import SEED, Derivation, Step
from ..network import INPUT, NODE, PARAM, Network

OUTPUT_GROUP, LAYER_GROUP = "output", "layer"


@dataclass(frozen=True)
class Layer:
    """One layer of a network: its nodes, its output and its parameters.

    Networks named as the page names them (zk = Wk·h(k−1) + bk, hk = f(zk)) give
    one layer per k, with the input x as layer 0; the output of layer k is hk, or
    zk where the layer has no activation.  Any other network gives one layer per
    node, in definition order.
    """

    index: int
    output: str
    nodes: tuple[str, ...] = ()
    weight: str | None = None
    bias: str | None = None


LAYER_NAME = re.compile(r"([zhWb])([0-9]+)\Z")


def network_layers(network: Network) -> tuple[Layer, ...]:
    quantities = {q.name: q for q in network.quantities()}
    indices = sorted({int(m.group(2)) for name, q in quantities.items()
                      if (m := LAYER_NAME.match(name)) and m.group(1) in "zh" and q.kind == NODE})
    if not indices:
        return tuple(Layer(i + 1, q.name, (q.name,)) for i, q in enumerate(network.quantities(NODE)))

    def named(name: str, kind: str) -> str | None:
        return name if name in quantities and quantities[name].kind == kind else None

    layers = []
    if named("x", INPUT):
        layers.append(Layer(0, "x"))
    for k in indices:
        nodes = tuple(n for n in (f"z{k}", f"h{k}") if named(n, NODE))
        layers.append(Layer(k, nodes[-1], nodes, named(f"W{k}", PARAM), named(f"b{k}", PARAM)))
    return tuple(layers)


@dataclass
class StepGroup:
    """A run of steps the page shows under one heading: the output layer's, or one layer's gradients."""

    kind: str  # OUTPUT_GROUP or LAYER_GROUP
    number: int = 0
    first: bool = False  # the first layer below the output ("gradients of layer n"); later ones "propagate to"
    steps: list[Step] = field(default_factory=list)


def step_groups(derivation: Derivation) -> list[StepGroup]:
    """Steps after the seed, grouped as the page groups them.

    The output layer holds what flows straight from the loss.  A new group
    starts when a step reaches an intermediate value after the current group
    has already produced a parameter's gradient: that is the gradient passed
    down to the layer below (∂L/∂h1 = W2ᵀ ∂L/∂z2 opens "propagate to layer 1").
    """
    network = derivation.network
    groups: list[StepGroup] = []
    has_parameter = False  # whether the current group holds a parameter's gradient yet
    for step in derivation.steps:
        if step.kind == SEED:
            continue
        current = groups[-1] if groups else None
        is_parameter = network[step.target].kind == PARAM
        if step.source == derivation.loss and (current is None or current.kind == OUTPUT_GROUP):
            if current is None:
                current = StepGroup(OUTPUT_GROUP)
                groups.append(current)
                has_parameter = False
            current.steps.append(step)
            has_parameter = has_parameter or is_parameter
            continue
        reaches_node = network[step.target].kind == NODE
        if current is None or current.kind == OUTPUT_GROUP or (reaches_node and has_parameter):
            current = StepGroup(LAYER_GROUP)
            groups.append(current)
            has_parameter = False
        current.steps.append(step)
        has_parameter = has_parameter or is_parameter
    numbered = [g for g in groups if g.kind != OUTPUT_GROUP]
    for position, group in enumerate(numbered):
        group.number = len(numbered) - position
        group.first = position == 0
    return groups


__all__ = ["LAYER_GROUP", "OUTPUT_GROUP", "Layer", "StepGroup", "network_layers", "step_groups"]
