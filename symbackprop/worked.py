"""The worked example's numbers: the derivation's generated program, returning each step's own numbers too.

A document shows, beside every gradient, what each edge contributes to a fan-out's sum and the local
factor the upstream gradient is multiplied by (ReLU′ at z₁, h₁ᵀ, …).  These come out of the same
generated NumPy program that ``evaluate`` runs, with one more line per local factor, so a document's
numbers cost what the forward and backward passes cost, never arithmetic on SymPy matrices of numbers.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import codegen
from .codegen import Line
from .derivation import EDGE, SUM
from .network import PARAM
from .numeric import Evaluation, Program, evaluation, partial_name
from .values import conform_all

if TYPE_CHECKING:
    from .derivation import Derivation


@dataclass(frozen=True)
class WorkedNumbers:
    """An evaluation; by step index, what each partial edge contributes and each step's local factor."""

    evaluation: Evaluation
    partials: dict[int, Any]
    locals: dict[int, Any]
    #: Per parameter, ∂Lᵢ/∂θ of each sample i (a batch's gradient is their mean).
    samples: dict[str, Any]


class WorkedProgram(Program):
    """:class:`~symbackprop.numeric.Program` with every partial gradient and local factor returned as well."""

    def __init__(self, derivation: Derivation) -> None:
        steps = derivation.steps
        fan_in = {i for s in steps if s.kind == SUM for i in s.parts}
        self._partials = [s for s in steps if s.kind == EDGE and s.index in fan_in]
        self._locals = [s for s in steps if s.kind == EDGE and s.local is not None]
        self._into_parameters: dict[str, list] = {}
        for step in steps:
            if step.kind == EDGE and derivation.network[step.target].kind == PARAM:
                self._into_parameters.setdefault(step.target, []).append(step)
        # Run once or twice per document: sharing subexpressions would cost more to find than it saves.
        super().__init__(derivation, cse=False, outputs="all")

    def _lines(self):
        lines, forward, gradients = super()._lines()
        lines += [Line(_local_name(s), self._emit.value(s.local), f"local factor of step {s.index}")
                  for s in self._locals]
        for name, edges in self._into_parameters.items():
            # ∂Lᵢ/∂θ: the edges' terms of sample i, without the mean's 1/N
            total = codegen.sum_of([self._sample_term(s) for s in edges])
            lines.append(Line(_sample_name(name), ast.BinOp(codegen.name("batch_size"), ast.Mult(), total),
                              f"per-sample gradient of {name}"))
        return lines, forward, gradients

    def _more_returns(self) -> list[ast.expr]:
        names = list(self._into_parameters)
        samples = ast.Dict([ast.Constant(n) for n in names], [codegen.name(_sample_name(n)) for n in names])
        return [_by_index(self._partials, partial_name), _by_index(self._locals, _local_name), samples]


def worked_numbers(derivation: Derivation, values: Mapping[str, Any]) -> WorkedNumbers:
    """Every forward value and gradient at ``values`` (as ``evaluate`` gives them), with each step's own numbers."""
    arrays, batch_size = conform_all(derivation, values)
    program = derivation.__dict__.get("_worked_program")
    if program is None:
        program = derivation.__dict__["_worked_program"] = WorkedProgram(derivation)
    forward, gradient, partials, local, samples = program(arrays, batch_size or 1)
    return WorkedNumbers(evaluation(derivation, forward, gradient, batch_size), partials, local, samples)


def _local_name(step) -> str:
    return f"l{step.index}"


def _sample_name(parameter: str) -> str:
    return f"s_{parameter}"


def _by_index(steps: list, variable) -> ast.Dict:
    return ast.Dict([ast.Constant(s.index) for s in steps], [codegen.name(variable(s)) for s in steps])


__all__ = ["WorkedNumbers", "WorkedProgram", "worked_numbers"]
