"""What the backward pass needs from the forward pass (the page's 메모리 사용).

Every recorded step is read for the forward values it uses (the ``Ref`` leaves
and scalar symbols of its result): those must be kept from the forward pass,
which is why memory grows as layers × batch × hidden.  Gradient checkpointing
keeps only the output of every k-th layer and recomputes the rest, one segment
at a time, when the backward pass reaches it: less memory for more arithmetic.

The plan is simulated on names and shapes; :func:`checkpointed_evaluation`
runs the same schedule on arrays (with its own small NumPy interpreter of the
recorded steps) and measures the memory it held, so the plan is checked twice:
its gradients equal the plain ones and its peak equals the planned peak.
Counted here are forward values held for the backward pass, not the gradients
in flight nor the parameters and inputs (listed apart, they do not depend on
the plan).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from . import tensor as T
from .cost import node_operations
from .flow import network_layers
from .functions import LOSSES, NUMPY_FUNCTIONS
from .network import INPUT, LOSS, NODE, PARAM, Network
from .rules import LOSS_GRADIENTS
from .values import conform_all

if TYPE_CHECKING:
    from .derivation import Derivation, Step


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


class _Graph:
    """Names, sizes, dependencies and layers of a derivation's forward values (element level)."""

    def __init__(self, derivation: Derivation) -> None:
        network = derivation.network
        self.derivation = derivation
        self.network = network
        self.nodes = [q for q in network.graph_order() if q.kind == NODE]
        self.node_names = {q.name for q in self.nodes}
        self.reads = {s.index: forward_reads(s, network) for s in derivation.steps}
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
            read = {n for names in self.reads.values() for n in names}
            return [q.name for q in self.nodes if q.name in read]
        kept = {e for k, output in self.outputs.items() if k % every == 0 for e in self.elements(output)}
        return [q.name for q in self.nodes if q.name in kept]


@dataclass(frozen=True)
class _Event:
    step: int
    recompute: tuple[str, ...]
    free: tuple[str, ...]


def _schedule(graph: _Graph, checkpoints: list[str]) -> list[_Event]:
    """Walk the backward steps; before each, recompute what it reads and is not held (from the
    nearest held values); after it, drop recomputed values no later step reads."""
    last_read: dict[str, int] = {}
    for index, names in graph.reads.items():
        for name in names:
            last_read[name] = index
    live = set(checkpoints)
    temporary: set[str] = set()
    events = []

    def ensure(name: str, order: list[str]) -> None:
        if name in live or name not in graph.node_names:
            return
        for dependency in graph.network[name].dependencies:
            ensure(dependency, order)
        order.append(name)
        live.add(name)
        temporary.add(name)

    for step in graph.derivation.steps:
        order: list[str] = []
        for name in graph.reads[step.index]:
            ensure(name, order)
        free = tuple(sorted(n for n in temporary if last_read.get(n, -1) <= step.index))
        live.difference_update(free)
        temporary.difference_update(free)
        events.append(_Event(step.index, tuple(order), free))
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
    graph = _Graph(derivation)
    return _plan(graph, every, batch)


def _plan(graph: _Graph, every: int | None, batch: int) -> CheckpointPlan:
    checkpoints = graph.checkpoints(every)
    events = _schedule(graph, checkpoints)
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
    per_node = node_operations(graph.network)
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

    def summary(self) -> str:
        lines = [f"memory for the backward pass, batch {self.batch} (numbers = array elements)"]
        lines.append(f"  forward values it reads: {', '.join(self.stored) or 'none'}")
        lines.append(f"  stored activations: {self.activation_numbers:,} numbers "
                     f"(∝ layers × batch × hidden: {self.layers} layers, batch {self.batch})")
        lines.append(f"  also read: inputs {self.input_numbers:,} numbers, parameters {self.parameter_numbers:,}")
        for plan in (self.plain, self.checkpointed):
            name = "no checkpointing" if plan.every is None else f"checkpoint every {plan.every} layer(s)"
            lines.append(f"  {name}: store {plan.stored_numbers:,} numbers ({', '.join(plan.stored) or 'none'}), "
                         f"peak {plan.peak_numbers:,}; recompute {plan.recompute_operations:,} operations per sample "
                         f"({plan.recompute_ratio:.2f} forward passes)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def memory(derivation: Derivation, *, batch: int = 1, checkpoint_every: int | None = None) -> MemoryReport:
    """The forward values each backward step reads, their numbers for ``batch`` samples, and checkpointing.

    ``checkpoint_every`` defaults to about √layers, the usual choice (memory and
    recomputation both grow like √layers).
    """
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    graph = _Graph(derivation)
    network = graph.network
    step_reads = []
    for step in derivation.steps:
        if step.kind != "edge":
            continue
        grouped = list(dict.fromkeys(graph.group(n) for n in graph.reads[step.index]))
        step_reads.append(StepReads(
            step.index, step.target, step.source,
            tuple(n for n in grouped if network[n].kind == NODE),
            tuple(n for n in grouped if network[n].kind == INPUT),
            tuple(n for n in grouped if network[n].kind == PARAM),
        ))
    read = {n for names in graph.reads.values() for n in names}
    layer_count = len(graph.outputs)
    every = checkpoint_every if checkpoint_every is not None else max(1, round(math.sqrt(max(layer_count, 1))))
    plain = _plan(graph, None, batch)
    return MemoryReport(
        batch, tuple(step_reads), plain.stored, plain.stored_numbers,
        sum(graph.numbers(n, batch) for n in read if network[n].kind == INPUT) if read else 0,
        sum(network[n].size for n in read if network[n].kind == PARAM),
        layer_count, plain, _plan(graph, every, batch),
    )


# -- the plan, run on numbers --------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointedEvaluation:
    """Gradients computed under a checkpointing plan, and the memory it held (node numbers)."""

    grad: dict[str, np.ndarray]
    loss: float
    peak_numbers: int
    recomputed: tuple[str, ...]
    plan: CheckpointPlan


def _heaviside(x: Any, at_zero: Any = 0.5) -> Any:
    return np.heaviside(x, at_zero)


_MODULES = [{"Heaviside": _heaviside, **NUMPY_FUNCTIONS}, "numpy"]


class _Interpreter:
    """Evaluates forward definitions and step results on arrays of shape (…, rows, columns)."""

    def __init__(self, derivation: Derivation, leaves: dict[str, np.ndarray], batch: int) -> None:
        self.network = derivation.network
        self.leaves = leaves
        self.batch = batch
        self.held: dict[str, np.ndarray] = {}
        self.gradients: dict[str, np.ndarray] = {}
        self._compiled: dict[Any, Any] = {}

    def forward(self, name: str) -> np.ndarray:
        if name in self.leaves:
            return self.leaves[name]
        return self.held[name]  # a KeyError here would mean the schedule dropped a value still needed

    def scalar(self, expr: sp.Expr) -> np.ndarray:
        expr = sp.sympify(expr)
        symbols = sorted(expr.free_symbols, key=str)
        key = expr
        if key not in self._compiled:
            self._compiled[key] = sp.lambdify(symbols, expr, modules=_MODULES, dummify=True)
        arguments = []
        for symbol in symbols:
            if isinstance(symbol, T.AdjointSymbol):
                arguments.append(self.gradients[symbol.of])
            elif symbol == T.BATCH_SIZE:
                arguments.append(float(self.batch))
            else:
                arguments.append(self.forward(self.network.name_of(symbol)))
        return np.asarray(self._compiled[key](*arguments), dtype=float)

    def function(self, activation: Any):
        if activation not in self._compiled:
            t = sp.Symbol("t", real=True)
            self._compiled[activation] = sp.lambdify(t, activation.formula(t), modules=_MODULES)
        return self._compiled[activation]

    def tensor(self, node: T.Tensor) -> np.ndarray:
        rec = self.tensor
        if isinstance(node, T.Ref):
            return self.forward(node.name)
        if isinstance(node, T.Adjoint):
            return self.gradients[node.name]
        if isinstance(node, T.Scalar):
            return _as_block(self.scalar(node.expr))
        if isinstance(node, T.MatMul):
            return rec(node.left) @ rec(node.right)
        if isinstance(node, T.Add):
            return rec(node.left) + rec(node.right)
        if isinstance(node, T.Hadamard):
            return rec(node.left) * rec(node.right)
        if isinstance(node, T.Scale):
            return _as_block(self.scalar(node.factor)) * rec(node.operand)
        if isinstance(node, T.Transpose):
            return np.swapaxes(rec(node.operand), -1, -2)
        if isinstance(node, T.Elementwise):
            operand = rec(node.operand)
            return np.broadcast_to(np.asarray(self.function(node.function)(operand), dtype=float), operand.shape)
        if isinstance(node, T.Power):
            return rec(node.operand) ** float(node.exponent)
        if isinstance(node, T.Sum):
            return np.sum(rec(node.operand), axis=(-2, -1), keepdims=True)
        if isinstance(node, T.Ones):
            return np.ones(node.shape)
        if isinstance(node, T.LossOp):
            return LOSSES[node.kind].numeric(rec(node.prediction), rec(node.target))
        if isinstance(node, T.LossGradient):
            return LOSS_GRADIENTS[(node.kind, node.wrt)].numeric(rec(node.prediction), rec(node.target))
        raise TypeError(f"cannot evaluate {type(node).__name__}")

    def evaluate(self, value: Any) -> np.ndarray:
        if isinstance(value, T.Tensor):
            return self.tensor(value)
        return _as_block(self.scalar(value))


def _as_block(array: np.ndarray) -> np.ndarray:
    """Scalars travel as (…, 1, 1) blocks so that they broadcast against matrices."""
    array = np.asarray(array, dtype=float)
    if array.ndim >= 2 and array.shape[-2:] == (1, 1):
        return array
    if array.ndim == 0:
        return array.reshape(1, 1)
    return array.reshape(*array.shape, 1, 1) if array.ndim == 1 else array


def _sum_to_matrix(array: np.ndarray) -> np.ndarray:
    while array.ndim > 2:
        array = array.sum(axis=0)
    return array


def checkpointed_evaluation(derivation: Derivation, values: Mapping[str, Any], *,
                            checkpoint_every: int | None = None) -> CheckpointedEvaluation:
    """Gradients of the parameters under the checkpointing plan, with the node numbers held at the peak.

    The forward pass keeps only the plan's checkpoints; each backward step
    first recomputes (from the nearest held values) what it reads and is not
    held; recomputed values are dropped once no later step reads them.
    ``checkpoint_every=None`` runs the plain plan.
    """
    arrays, batch_size = conform_all(derivation, values)
    batch = batch_size or 1
    graph = _Graph(derivation)
    network = graph.network
    plan = _plan(graph, checkpoint_every, batch)
    leaves: dict[str, np.ndarray] = {}
    for q in network.quantities(INPUT, PARAM):
        leaves[q.name] = arrays[q.name]
        for row in q.elements or ():
            for element in row:
                i, j = network[element].index
                leaves[element] = arrays[q.name][..., i:i + 1, j:j + 1]
    run = _Interpreter(derivation, leaves, batch)

    keep = set(graph.checkpoints(checkpoint_every))
    forward_values: dict[str, np.ndarray] = {}
    for q in network.graph_order():
        if q.definition is None:
            continue
        run.held = forward_values
        forward_values[q.name] = run.evaluate(q.definition)
    loss = float(np.mean(forward_values[derivation.loss]))
    run.held = {n: v for n, v in forward_values.items() if n in keep}
    del forward_values

    def held_numbers() -> int:
        return sum(int(v.size) for v in run.held.values())

    peak = held_numbers()
    recomputed: list[str] = []
    edges_into: dict[str, int] = {}
    for step in derivation.edges:
        edges_into[step.target] = edges_into.get(step.target, 0) + 1
    partials: dict[int, np.ndarray] = {}
    events = {e.step: e for e in _schedule(graph, graph.checkpoints(checkpoint_every))}
    for step in derivation.steps:
        event = events[step.index]
        for name in event.recompute:
            run.held[name] = run.evaluate(network[name].definition)
            recomputed.append(name)
        peak = max(peak, held_numbers())
        if step.kind == "seed":
            run.gradients[step.target] = np.full((1, 1), 1.0 / batch)
        elif step.kind == "sum":
            run.gradients[step.target] = sum(partials.pop(i) for i in step.parts)
        else:
            result = run.evaluate(step.result)
            if step.source == derivation.loss and not derivation.batch:
                result = run.gradients[derivation.loss] * result  # a batch is averaged even when not shown
            if network[step.target].kind == PARAM:  # a term shared by every sample counts N times
                result = _sum_to_matrix(result) if np.ndim(result) > 2 else result * batch
            if edges_into[step.target] == 1:
                run.gradients[step.target] = result
            else:
                partials[step.index] = result
        for name in event.free:
            del run.held[name]

    grad: dict[str, np.ndarray] = {}
    for q in network.params:
        if q.elements is not None:
            block = np.zeros(q.matrix_shape)
            for row in q.elements:
                for element in row:
                    i, j = network[element].index
                    block[i, j] = _gradient_or_zero(run, element)[0, 0]
            grad[q.name] = block
        else:
            array = _gradient_or_zero(run, q.name, q.matrix_shape)
            grad[q.name] = array.reshape(()) if q.is_scalar else array
    return CheckpointedEvaluation(grad, loss, peak, tuple(dict.fromkeys(graph.group(n) for n in recomputed)), plan)


def _gradient_or_zero(run: _Interpreter, name: str, shape: tuple[int, int] = (1, 1)) -> np.ndarray:
    if name in run.gradients:
        return _sum_to_matrix(np.asarray(run.gradients[name], dtype=float))
    return np.zeros(shape)


__all__ = [
    "CheckpointPlan", "CheckpointedEvaluation", "MemoryReport", "StepReads", "checkpoint_plan",
    "checkpointed_evaluation", "forward_reads", "memory",
]

