"""Gradient flow through the layers (the page's vanishing and exploding gradients).

For every quantity the report gives the product of local Jacobians from the
loss down to it, read off the recorded steps (their ``local`` factors, never
differentiated again): ∂L/∂h1 = W2ᵀ · diag(f′(z2)) · ∂L/∂h2, unrolled to the
loss.  At given values it adds the Frobenius norm of every gradient and flags
the layers where it vanishes or explodes relative to the layer nearest the loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from .. import rules
from .. import tensor as T
from ..network import INPUT, NODE, PARAM, Network
from .counting import scalar_operations
from .layers import LAYER_NAME, Layer, network_layers
from .products import UpstreamProducts, factor_text

if TYPE_CHECKING:
    from ..derivation import Derivation, Step
    from ..evaluation import Evaluation

#: A gradient norm below this fraction of the reference norm counts as vanishing.
VANISHING = 1e-3
#: A gradient norm above this multiple of the reference norm counts as exploding.
EXPLODING = 1e3

OK, VANISHING_STATUS, EXPLODING_STATUS, NO_REFERENCE = "ok", "vanishing", "exploding", "no reference"


@dataclass(frozen=True)
class Factor:
    """One local factor on the way from the loss down: the local derivative of a recorded step."""

    step: int
    source: str
    target: str
    local: Any
    product: str
    target_is_scalar: bool

    def apply(self, upstream: str | None) -> str | None:
        """The chain so far (None for 1) with this factor applied, as text."""
        local = None if self.local is None else factor_text(self.local)
        if self.product == rules.Product.IDENTITY:
            return upstream
        if self.product == rules.Product.TRANSPOSE:
            return f"({upstream or '1'})ᵀ"
        if self.product == rules.Product.RIGHT:
            return f"{upstream or '1'} · {local}"
        if self.product == rules.Product.SUM:
            ones = "1ᵀ" if self.target_is_scalar else "1"
            return f"{ones} · {upstream}" if upstream else ones
        if self.product == rules.Product.HADAMARD:
            local = f"diag({local})"
        elif self.product not in (rules.Product.LEFT, rules.Product.SCALE) or local is None:
            local = f"∂{self.source}/∂{self.target}"
        return f"{local} · {upstream}" if upstream else local


@dataclass(frozen=True)
class FlowEntry:
    """∂L/∂name: its chain of local factors, its closed product and its norm at the values.

    ``factors`` run from the loss down and are empty where several paths lead
    from the loss to ``name`` (``paths`` counts them); ``expression`` is
    ∂L/∂name with every upstream gradient replaced by its own product (None
    where that would exceed the size limit), and ``expression_operations`` its
    operation count (None for a tensor or no expression).  ``relative`` is the
    norm over the norm of ``reference``, its counterpart nearest the loss (see
    :func:`gradient_flow`).
    """

    name: str
    kind: str
    layer: int | None
    factors: tuple[Factor, ...]
    paths: int
    expression: Any
    norm: float
    reference: str | None
    relative: float
    status: str
    seed: Any = 1
    expression_operations: int | None = None

    @property
    def chain(self) -> str:
        """The product as text, e.g. ``∂L/∂h1 = W2ᵀ · diag(relu′(z2)) · (h2 − y)``."""
        if not self.factors:
            if self.paths == 0:
                return f"∂L/∂{self.name} = 0"
            from ..printing.report_text import report_say

            return f"∂L/∂{self.name} = {report_say('en', 'flow.paths', n=self.paths)}"
        text: str | None = None if self.seed == 1 else factor_text(self.seed)
        for factor in self.factors:
            text = factor.apply(text)
        return f"∂L/∂{self.name} = {text or '1'}"


@dataclass(frozen=True)
class LayerFlow:
    """The norms of one layer's gradients and how they compare with the layer nearest the loss."""

    layer: Layer
    output_norm: float
    output_relative: float
    weight_norm: float | None
    weight_relative: float | None
    bias_norm: float | None
    status: str

    @property
    def index(self) -> int:
        return self.layer.index


@dataclass(frozen=True)
class GradientFlow:
    """The gradient flow report of a derivation at some values; see :func:`gradient_flow`."""

    entries: tuple[FlowEntry, ...]
    layers: tuple[LayerFlow, ...]
    vanishing: float
    exploding: float
    batch_size: int | None
    #: The derivation the report reads, for the names a notebook's display prints.
    derivation: Any = field(default=None, compare=False, repr=False)

    def entry(self, name: str) -> FlowEntry:
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(f"no gradient flow entry for {name!r}")

    def __getitem__(self, name: str) -> FlowEntry:
        return self.entry(name)

    @property
    def vanishing_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entries if e.status == VANISHING_STATUS)

    @property
    def exploding_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entries if e.status == EXPLODING_STATUS)

    @property
    def end_to_end(self) -> float | None:
        """‖∂L/∂(lowest layer's output)‖ over ‖∂L/∂(top layer's output)‖: the whole product of layer Jacobians."""
        return self.layers[0].output_relative if self.layers else None

    def summary(self, lang: str = "en") -> str:
        from ..printing.report_text import flow_summary

        return flow_summary(self, lang)

    def chains(self) -> str:
        return "\n".join(e.chain for e in self.entries)

    def __str__(self) -> str:
        return self.summary()

    def _repr_markdown_(self) -> str | None:
        from ..printing.rich import flow_markdown

        return flow_markdown(self) if self.derivation is not None else None


# -- building the report ---------------------------------------------------------------------


def _paths(derivation: Derivation) -> dict[str, int]:
    """How many distinct paths lead from the loss to each name (fan-out multiplies them)."""
    counts: dict[str, int] = {derivation.loss: 1}
    for step in derivation.steps:
        if step.kind == "edge":
            counts[step.target] = counts.get(step.target, 0) + counts.get(step.source, 0)
    return counts


def _factors(derivation: Derivation, name: str, edges_into: dict[str, list[Step]],
             known: dict[str, tuple[Factor, ...]]) -> tuple[Factor, ...]:
    """The single chain of local factors from the loss down to ``name`` (``()`` where paths fan out).

    ``known`` holds the chains already found: a chain is its source's chain and one more factor, so
    each factor is made once however deep the network.
    """
    network = derivation.network
    pending: list[Step] = []
    while name != derivation.loss and name not in known:
        edges = edges_into.get(name, [])
        if len(edges) != 1:
            known[name] = ()
            break
        pending.append(edges[0])
        name = edges[0].source
    chain = () if name == derivation.loss else known[name]
    for step in reversed(pending):
        if chain or step.source == derivation.loss:
            chain = (*chain, Factor(step.index, step.source, step.target, step.local, step.product,
                                    network[step.target].is_scalar))
        known[step.target] = chain
    return chain


def _expression_operations(expression: Any, memo: dict) -> int | None:
    """The operations of a closed product, so that a document can tell a short one from a long one."""
    if expression is None or isinstance(expression, T.Tensor):
        return None  # a tensor tree is shown as its chain of factors, not as a closed form
    if isinstance(expression, sp.MatrixBase):
        return sum(scalar_operations(e, memo) for e in expression)
    return scalar_operations(expression, memo)


def _norm(array: Any) -> float:
    return float(np.linalg.norm(np.asarray(array, dtype=float).ravel()))


def _status(relative: float, vanishing: float, exploding: float) -> str:
    if np.isnan(relative):
        return NO_REFERENCE
    if relative < vanishing:
        return VANISHING_STATUS
    if relative > exploding:
        return EXPLODING_STATUS
    return OK


def _relative(norm: float, reference: float) -> float:
    return norm / reference if reference else float("nan")  # a zero reference compares nothing


def _references(network: Network, layers: tuple[Layer, ...], order: list[str]) -> dict[str, str]:
    """What each gradient norm is compared with: its counterpart nearest the loss.

    Layer outputs (the input x included) are compared with the top layer's
    output, zk with the top z, Wk with the top W, bk with the top b; anything
    else with the node (or, for a parameter, the parameter) the sweep reaches first.
    """
    first_node = next((n for n in order if network[n].kind == NODE), None)
    first_param = next((n for n in order if network[n].kind == PARAM), None)
    outputs = {layer.output for layer in layers}
    top_output = next((n for n in order if n in outputs), first_node)
    first_by_prefix: dict[str, str] = {}
    for name in order:
        match = LAYER_NAME.match(name)
        if match and name not in outputs:
            first_by_prefix.setdefault(match.group(1), name)
    references = {}
    for name in order:
        match = LAYER_NAME.match(name)
        if name in outputs:
            references[name] = top_output
        elif match and match.group(1) in first_by_prefix:
            references[name] = first_by_prefix[match.group(1)]
        else:
            references[name] = first_param if network[name].kind == PARAM else first_node
    return {n: r for n, r in references.items() if r is not None}


def _group(network: Network, name: str) -> str:
    return network[name].group or name


def gradient_flow(derivation: Derivation, values: Mapping[str, Any], *, vanishing: float = VANISHING,
                  exploding: float = EXPLODING, max_expression_size: int = 2000,
                  evaluation: Evaluation | None = None) -> GradientFlow:
    """Per quantity and per layer: the product of local Jacobians and the gradient norms at ``values``.

    Norms are Frobenius norms of the arrays :meth:`Derivation.evaluate` returns
    (for a batch: of all per-sample gradients of the mean loss together).  A
    node's or input's norm is compared with the node nearest the loss (the
    network's output), zk with the top z, Wk with the top W (and so on for
    networks named as the page names them), any other parameter with the
    parameter nearest the loss; a ratio below ``vanishing`` or above
    ``exploding`` flags it.
    """
    network = derivation.network
    if evaluation is None:  # a document passes the evaluation its worked example shows
        evaluation = derivation.evaluate(values)
    paths = _paths(derivation)
    products = UpstreamProducts(derivation, max_expression_size)
    layers = network_layers(network)
    layer_of = {name: layer.index for layer in layers for name in (*layer.nodes, layer.weight, layer.bias) if name}
    layer_of.update({layer.output: layer.index for layer in layers})

    reached: dict[str, None] = {}  # the order in which the sweep reaches each (grouped) name
    for step in derivation.steps:
        name = _group(network, step.target)
        if name != derivation.loss:
            reached.setdefault(name)
    for quantity in network.quantities(NODE, PARAM, INPUT):
        reached.setdefault(quantity.name)
    order = list(reached)
    references = _references(network, layers, order)
    edges_into: dict[str, list[Step]] = {}
    for step in derivation.edges:
        edges_into.setdefault(step.target, []).append(step)
    norms = {n: _norm(evaluation.grad[n]) for n in order}

    entries = []
    memo: dict = {}
    chains: dict[str, tuple[Factor, ...]] = {}
    for name in order:
        quantity = network[name]
        if quantity.elements is not None:
            count = sum(paths.get(e, 0) for row in quantity.elements for e in row)
            factors: tuple[Factor, ...] = ()
        else:
            count = paths.get(name, 0)
            factors = _factors(derivation, name, edges_into, chains) if count == 1 else ()
        reference = references.get(name)
        relative = _relative(norms[name], norms[reference]) if reference else float("nan")
        expression = products.of(name)
        entries.append(FlowEntry(name, quantity.kind, layer_of.get(name), factors, count, expression,
                                 norms[name], reference, relative, _status(relative, vanishing, exploding),
                                 derivation.seed, _expression_operations(expression, memo)))

    by_name = {e.name: e for e in entries}
    layer_flows = []
    for layer in layers:
        output = by_name.get(layer.output)
        if output is None:
            continue
        weight = by_name.get(layer.weight) if layer.weight else None
        bias = by_name.get(layer.bias) if layer.bias else None
        statuses = {output.status} | ({weight.status} if weight else set())
        status = next((s for s in (VANISHING_STATUS, EXPLODING_STATUS, NO_REFERENCE) if s in statuses), OK)
        layer_flows.append(LayerFlow(layer, output.norm, output.relative,
                                     weight.norm if weight else None, weight.relative if weight else None,
                                     bias.norm if bias else None, status))
    return GradientFlow(tuple(entries), tuple(layer_flows), vanishing, exploding, evaluation.batch_size, derivation)


__all__ = [
    "EXPLODING", "VANISHING", "Factor", "FlowEntry", "GradientFlow", "LayerFlow", "gradient_flow",
]
