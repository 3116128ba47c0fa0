"""A checkpointing plan run on numbers, with the lines of the derivation's generated program.

The generated program (:class:`~symbackprop.numeric.Program`, without shared
subexpressions so that every line computes one value of its own) is cut into
its lines, and each line becomes a small function of the values it reads.  The
forward pass keeps only the plan's checkpoints; before each backward step the
lines of the forward values it reads and no longer holds run again.  The
arithmetic is the program's own, so the gradients equal ``d.evaluate``'s.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..codegen import function_definition, names_read, var
from ..network import INPUT, PARAM
from ..values import conform_all
from .memory import CheckpointPlan, ForwardGraph, ScheduleEvent, plan_for

if TYPE_CHECKING:
    from ..derivation import Derivation, Step

#: A step the schedule has no event for (every step of the plain plan): nothing recomputed before it, nothing freed.
_NOTHING_TO_DO = ScheduleEvent(-1, (), ())

@dataclass(frozen=True)
class CheckpointedEvaluation:
    """Gradients computed under a checkpointing plan, and the memory it held (node numbers)."""

    grad: dict[str, np.ndarray]
    loss: float
    peak_numbers: int
    recomputed: tuple[str, ...]
    plan: CheckpointPlan


class ProgramLines:
    """Each assignment of the generated program as a function of the variables it reads."""

    def __init__(self, derivation: Derivation) -> None:
        from ..numeric import Program

        # each line reads what its step reads, the values the checkpointing schedule keeps or recomputes
        program = Program(derivation, cse=False, stored_outputs=False)
        module = ast.parse(program.derivation_source)
        main = next(n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "derivation")
        helpers = [n for n in module.body if n is not main]
        self.reads: dict[str, list[str]] = {}
        definitions = []
        for statement in main.body:
            if not isinstance(statement, ast.Assign):
                continue
            target = statement.targets[0].id
            reads = sorted(n for n in names_read(statement.value) if _is_variable(n))
            self.reads[target] = reads
            definitions.append(function_definition(_line_function(target), reads, [ast.Return(statement.value)]))
        source = ast.unparse(ast.Module([*helpers, *definitions], []))
        scope = dict(program.namespace)
        exec(compile(source, "<symbackprop checkpointed>", "exec"), scope)  # the program's own lines
        self.functions = {target: scope[_line_function(target)] for target in self.reads}

    def run(self, target: str, variables: Mapping[str, Any]) -> np.ndarray:
        return self.functions[target](*(variables[name] for name in self.reads[target]))


#: The program's variables: forward values, gradients, partial gradients of a fan-in, and the batch size.
_VARIABLE = re.compile(r"(?:[vg]_|p[0-9]+_).+|batch_size\Z")


def _is_variable(identifier: str) -> bool:
    return _VARIABLE.match(identifier) is not None


def _line_function(target: str) -> str:
    return f"line_{target}"


def _step_target(step: Step, edges_into: dict[str, int]) -> str:
    """The program's variable for what a step computes (a partial gradient where edges fan in)."""
    if step.kind == "edge" and edges_into[step.target] > 1:
        return f"p{step.index}_{step.target}"
    return var("g", step.target)


class _Variables(dict):
    """The program's variables in scope: leaves, the forward values held, the gradients so far."""

    def held_numbers(self, nodes: set[str]) -> int:
        return sum(int(np.size(self[var("v", n)])) for n in nodes)


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
    graph = ForwardGraph.of(derivation)
    network = graph.network
    plan = plan_for(graph, checkpoint_every, batch)
    lines = ProgramLines(derivation)
    scope = _Variables(batch_size=batch)
    for q in network.quantities(INPUT, PARAM):
        scope[var("v", q.name)] = arrays[q.name]
        for row in q.elements or ():
            for element in row:
                scope[var("v", element)] = lines.run(var("v", element), scope)

    checkpoints, scheduled = graph.scheduled(checkpoint_every)  # the plan's own, made once
    held = set(checkpoints)
    defined = [q.name for q in network.graph_order() if q.definition is not None]
    with np.errstate(all="ignore"):
        for name in defined:
            scope[var("v", name)] = lines.run(var("v", name), scope)
        loss = float(np.mean(scope[var("v", derivation.loss)]))
        for name in defined:
            if name not in held:
                del scope[var("v", name)]
        peak = scope.held_numbers(held)
        recomputed: list[str] = []
        edges_into: dict[str, int] = {}
        for step in derivation.edges:
            edges_into[step.target] = edges_into.get(step.target, 0) + 1
        events = {e.step: e for e in scheduled}
        for step in derivation.steps:
            event = events.get(step.index, _NOTHING_TO_DO)
            for name in event.recompute:
                scope[var("v", name)] = lines.run(var("v", name), scope)
                held.add(name)
                recomputed.append(name)
            peak = max(peak, scope.held_numbers(held))
            target = _step_target(step, edges_into)
            scope[target] = lines.run(target, scope)
            for name in event.free:
                del scope[var("v", name)]
                held.discard(name)
        grad = {}
        for q in network.params:
            gradient = var("g", q.name)
            if gradient not in scope:  # assembled from its elements, or zero where it does not reach the loss
                scope[gradient] = lines.run(gradient, scope)
            array = np.asarray(scope[gradient], dtype=float)
            grad[q.name] = array.reshape(()) if q.is_scalar else array
    return CheckpointedEvaluation(grad, loss, peak, tuple(dict.fromkeys(graph.group(n) for n in recomputed)), plan)


__all__ = ["CheckpointedEvaluation", "ProgramLines", "checkpointed_evaluation"]
