"""What the backward pass needs from the forward pass (the page's 메모리 사용).

Every recorded step is read for the forward values it uses (the ``Ref`` leaves
and scalar symbols of its result): those must be kept from the forward pass,
which is why memory grows as layers × batch × hidden.  Gradient checkpointing
keeps only the output of every k-th layer and recomputes the rest, one segment
at a time, when the backward pass reaches it: less memory for more arithmetic.

The plan is simulated on names and shapes here; :mod:`symbackprop.analysis.checkpointing`
runs the same schedule on arrays, with the generated program's own lines, and
measures the memory it held.  Counted are forward values held for the backward
pass, not the gradients in flight nor the parameters and inputs (listed apart,
they do not depend on the plan).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sympy as sp

from .. import tensor as T
from ..errors import OptionError
from ..network import INPUT, LOSS, NODE, PARAM, Network
from .counting import forward_operations
from .layers import network_layers

if TYPE_CHECKING:
    from ..derivation import Derivation, Step


# -- what each step reads ----------------------------------------------------------------------


def forward_reads(step: Step, network: Network) -> tuple[str, ...]:
    """The forward values (inputs, parameters, nodes; element names at the scalar level) a step reads."""
    if step.kind != "edge":
        return ()  # a seed is a constant; a fan-out sum adds gradients
    names: list[str] = []
    symbols: set = set()
    value = step.result
    if isinstance(value, T.Tensor):
        for node in T.walk(value):
            if isinstance(node, T.Ref):
                names.append(node.name)
            elif isinstance(node, T.Scalar):
                symbols |= node.expr.free_symbols
            elif isinstance(node, T.Scale):
                symbols |= node.factor.free_symbols
    else:
        symbols = sp.sympify(value).free_symbols
    for symbol in sorted(symbols, key=str):
        if isinstance(symbol, T.AdjointSymbol) or symbol == T.BATCH_SIZE:
            continue
        names.append(network.name_of(symbol))
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class StepReads:
    """The forward values one backward step reads, by kind (grouped names at the scalar level)."""

    step: int
    target: str
    source: str | None
    nodes: tuple[str, ...]
    inputs: tuple[str, ...]
    params: tuple[str, ...]


# -- the schedule: which values live when ---------------------------------------------------------


class ForwardGraph:
    """Names, sizes, dependencies and layers of a derivation's forward values (element level)."""

    def __init__(self, derivation: Derivation) -> None:
        network = derivation.network
        self.derivation = derivation
        self.network = network
        self.nodes = [q for q in network.graph_order() if q.kind == NODE]
        self.node_names = {q.name for q in self.nodes}
        self.reads = {s.index: forward_reads(s, network) for s in derivation.steps}
        self.read = {n for names in self.reads.values() for n in names}  # by any step
        self._schedules: dict[int | None, tuple[list[str], list[ScheduleEvent]]] = {}
        inputs = {q.name for q in network.quantities(INPUT, elements=True)}
        self.per_sample: dict[str, bool] = {}
        for q in network.graph_order():
            if q.kind in (NODE, LOSS):
                self.per_sample[q.name] = any(d in inputs or self.per_sample.get(d, False) for d in q.dependencies)
        layers = network_layers(network)
        layer_of = {name: layer.index for layer in layers for name in layer.nodes}
        self.outputs = {layer.index: layer.output for layer in layers if layer.index > 0}
        self.layer: dict[str, int] = {}
        for q in self.nodes:
            grouped = q.group or q.name
            if grouped in layer_of:
                self.layer[q.name] = layer_of[grouped]
            else:  # a node outside the named layers sits with its latest dependency
                self.layer[q.name] = max((self.layer.get(d, 0) for d in q.dependencies), default=0)

    @cached_property
    def node_operations(self) -> dict[str, int]:
        return forward_operations(self.derivation)

    @staticmethod
    def of(derivation: Derivation) -> ForwardGraph:
        """The graph of ``derivation``, built once however many reports (one sample, a batch) read it."""
        graph = derivation.__dict__.get("_forward_graph")
        if graph is None:
            graph = derivation.__dict__["_forward_graph"] = ForwardGraph(derivation)
        return graph

    def scheduled(self, every: int | None) -> tuple[list[str], list[ScheduleEvent]]:
        """The checkpoints of ``every`` and their schedule, made once for every batch size a report asks about."""
        if every not in self._schedules:
            checkpoints = self.checkpoints(every)
            # the plain plan holds all the backward pass reads: it recomputes and frees nothing, no events
            self._schedules[every] = checkpoints, schedule(self, checkpoints) if every is not None else []
        return self._schedules[every]

    @cached_property
    def step_reads(self) -> tuple[StepReads, ...]:
        """What each edge step reads, grouped by kind."""
        network = self.network
        found = []
        for step in self.derivation.steps:
            if step.kind != "edge":
                continue
            grouped = list(dict.fromkeys(self.group(n) for n in self.reads[step.index]))
            found.append(StepReads(
                step.index, step.target, step.source,
                tuple(n for n in grouped if network[n].kind == NODE),
                tuple(n for n in grouped if network[n].kind == INPUT),
                tuple(n for n in grouped if network[n].kind == PARAM),
            ))
        return tuple(found)

    def numbers(self, name: str, batch: int) -> int:
        q = self.network[name]
        per_sample = q.kind == INPUT or self.per_sample.get(name, False)
        return q.size * (batch if per_sample else 1)

    def elements(self, grouped: str) -> list[str]:
        q = self.network[grouped]
        return [e for row in q.elements for e in row] if q.elements is not None else [grouped]

    def group(self, name: str) -> str:
        return self.network[name].group or name

    def checkpoints(self, every: int | None) -> list[str]:
        """Node values the forward pass keeps: all the backward pass reads, or every k-th layer's output."""
        if every is None:
            return [q.name for q in self.nodes if q.name in self.read]
        kept = {e for k, output in self.outputs.items() if k % every == 0 for e in self.elements(output)}
        return [q.name for q in self.nodes if q.name in kept]


@dataclass(frozen=True)
class ScheduleEvent:
    step: int
    recompute: tuple[str, ...]
    free: tuple[str, ...]


def schedule(graph: ForwardGraph, checkpoints: list[str]) -> list[ScheduleEvent]:
    """Walk the backward steps; before each, recompute what it reads and is not held (from the
    nearest held values); after it, drop recomputed values no later step reads.  The events of the
    steps that recompute or free something, in step order."""
    last_read: dict[str, int] = {}
    for index, names in graph.reads.items():
        for name in names:
            last_read[name] = index
    live = set(checkpoints)
    temporary: set[str] = set()
    due: list[tuple[int, str]] = []  # the temporaries by their last read, so that no step scans them all
    events = []

    def ensure(wanted: str, order: list[str]) -> None:
        """Recompute ``wanted`` and what it needs, dependencies first (a stack: chains can be long)."""
        stack = [(wanted, False)]
        while stack:
            name, ready = stack.pop()
            if name in live or name not in graph.node_names:
                continue
            if not ready:
                stack.append((name, True))
                stack.extend((d, False) for d in reversed(graph.network[name].dependencies))
                continue
            order.append(name)
            live.add(name)
            temporary.add(name)
            heapq.heappush(due, (last_read.get(name, -1), name))

    for step in graph.derivation.steps:
        order: list[str] = []
        for name in graph.reads[step.index]:
            ensure(name, order)
        freed = set()
        while due and due[0][0] <= step.index:
            name = heapq.heappop(due)[1]
            if name in temporary:
                freed.add(name)
        free = tuple(sorted(freed))
        live.difference_update(free)
        temporary.difference_update(free)
        if order or free:  # most steps find what they read held and free nothing: no event
            events.append(ScheduleEvent(step.index, tuple(order), free))
    return events


# -- plans and the report -----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointPlan:
    """What a plan stores, what it recomputes and what that costs.

    ``every`` is None for the plain plan (keep everything the backward pass
    reads).  Numbers are for the whole batch; ``recompute_operations`` per
    sample, and ``recompute_ratio`` in forward passes.
    """

    every: int | None
    batch: int
    stored: tuple[str, ...]
    stored_numbers: int
    recomputed: tuple[str, ...]
    recompute_operations: int
    recompute_ratio: float
    peak_numbers: int


def checkpoint_plan(derivation: Derivation, every: int | None, batch: int = 1) -> CheckpointPlan:
    """The plan that keeps the output of every ``every``-th layer (None: everything the backward pass reads)."""
    if every is not None and (not isinstance(every, int) or every < 1):
        raise ValueError(f"checkpoint_every must be a positive integer or None, got {every!r}")
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    graph = ForwardGraph.of(derivation)
    return plan_for(graph, every, batch)


def plan_for(graph: ForwardGraph, every: int | None, batch: int) -> CheckpointPlan:
    checkpoints, events = graph.scheduled(every)
    live = set(checkpoints)
    held = sum(graph.numbers(n, batch) for n in live)
    peak = held
    recomputed: list[str] = []
    for event in events:
        for name in event.recompute:
            live.add(name)
            held += graph.numbers(name, batch)
            recomputed.append(name)
        peak = max(peak, held)
        for name in event.free:
            live.discard(name)
            held -= graph.numbers(name, batch)
    per_node = graph.node_operations
    operations = sum(per_node.get(n, 0) for n in recomputed)
    forward = sum(per_node.values())
    return CheckpointPlan(
        every, batch,
        tuple(dict.fromkeys(graph.group(n) for n in checkpoints)),
        sum(graph.numbers(n, batch) for n in checkpoints),
        tuple(dict.fromkeys(graph.group(n) for n in recomputed)),
        operations, operations / forward if forward else 0.0, peak,
    )


@dataclass(frozen=True)
class MemoryReport:
    """Which forward values the backward pass reads, how many numbers, and a checkpointing plan."""

    batch: int
    steps: tuple[StepReads, ...]
    stored: tuple[str, ...]
    activation_numbers: int
    input_numbers: int
    parameter_numbers: int
    layers: int
    plain: CheckpointPlan
    checkpointed: CheckpointPlan
    #: The derivation the report reads, for the names a notebook's display prints.
    derivation: Any = field(default=None, compare=False, repr=False)

    def summary(self, lang: str = "en") -> str:
        from ..printing.report_text import memory_summary

        return memory_summary(self, lang)

    def __str__(self) -> str:
        return self.summary()

    def _repr_markdown_(self) -> str | None:
        if self.derivation is None:
            return None
        from ..printing.rich import memory_markdown

        # the section gives numbers per sample beside the batch's, as the document does
        one = self if self.batch == 1 else memory(self.derivation, checkpoint_every=self.checkpointed.every)
        return memory_markdown(self, one)


def memory(derivation: Derivation, *, batch: int = 1, checkpoint_every: int | None = None) -> MemoryReport:
    """The forward values each backward step reads, their numbers for ``batch`` samples, and checkpointing.

    ``checkpoint_every`` defaults to about √layers, the usual choice (memory and
    recomputation both grow like √layers).
    """
    options = {"batch": batch} if checkpoint_every is None else {"batch": batch, "checkpoint_every": checkpoint_every}
    for option, value in options.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise OptionError(f"{option} must be a positive integer, got {value!r}")
    graph = ForwardGraph.of(derivation)
    network = graph.network
    read = graph.read
    layer_count = len(graph.outputs)
    every = checkpoint_every if checkpoint_every is not None else max(1, round(math.sqrt(max(layer_count, 1))))
    plain = plan_for(graph, None, batch)
    return MemoryReport(
        batch, graph.step_reads, plain.stored, plain.stored_numbers,
        sum(graph.numbers(n, batch) for n in read if network[n].kind == INPUT) if read else 0,
        sum(network[n].size for n in read if network[n].kind == PARAM),
        layer_count, plain, plan_for(graph, every, batch), derivation,
    )


__all__ = [
    "CheckpointPlan", "ForwardGraph", "MemoryReport", "ScheduleEvent", "StepReads", "checkpoint_plan",
    "forward_reads", "memory", "plan_for", "schedule",
]
