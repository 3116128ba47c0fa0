"""The worked example's numbers: the derivation's generated program, returning each step's own numbers too.

A document shows, beside every gradient, what each edge contributes to a fan-out's sum and the local
factor the upstream gradient is multiplied by (ReLU′ at z₁, h₁ᵀ, …).  These come out of the same
generated NumPy program that ``evaluate`` runs (a local factor is one more expression run on its variables),
so a document's numbers cost what the forward and backward passes cost, never arithmetic on SymPy
matrices of numbers.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import codegen
from .codegen import resolve, var
from .codegen.placed import placed
from .network import INPUT, PARAM
from .numeric import Evaluation, Program, evaluation, partial_name
from .threads import one_tree_at_a_time
from .values import conform_all

if TYPE_CHECKING:
    from .derivation import Derivation


@dataclass(frozen=True)
class WorkedNumbers:
    """An evaluation; by step index, what each partial edge contributes and each step's local factor."""

    evaluation: Evaluation
    partials: Mapping[int, Any]
    locals: Mapping[int, Any]
    #: Per parameter, ∂Lᵢ/∂θ of each sample i (a batch's gradient is their mean).
    samples: Mapping[str, Any]
    #: The derivation whose program gave them, and the values they are at.
    derivation: Any = field(default=None, compare=False, repr=False)
    values: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def are_at(self, derivation: Any, values: Mapping[str, Any]) -> bool:
        """Whether these are the numbers of ``derivation`` at these very values (the same objects)."""
        return (derivation is self.derivation and values.keys() == self.values.keys()
                and all(values[name] is self.values[name] for name in values))


class WorkedProgram(Program):
    """The derivation's program (``derivation._program``): ``evaluate`` reads its forward values and gradients,
    a document every variable of its run, so that each partial gradient is read by name; a local factor or a
    per-sample gradient is computed when a document asks for it.

    A document prints the steps of a few layers (an abridged pass its first and last ones), so the
    program carries only the passes themselves: a line per local factor of every step would make a
    long recurrence's program half as large again, for numbers no one reads.
    """

    def __init__(self, derivation: Derivation) -> None:
        edges = derivation.edges
        fan_in = {i for s in derivation.steps for i in s.parts}  # the edges a fan-out sum adds
        self.partial_steps = {s.index: s for s in edges if s.index in fan_in}
        self.local_steps = {s.index: s for s in edges if s.local is not None}
        self.into_parameters: dict[str, list] = {}
        for step in edges:
            if derivation.network[step.target].kind == PARAM:
                self.into_parameters.setdefault(step.target, []).append(step)
        # Built once per derivation and run a few times (evaluate, a document): sharing subexpressions would
        # cost more to find than it saves (0.7 s of 2.3 s at T = 4,096).
        super().__init__(derivation, cse=False, outputs="all")
        # Compiled, the lines are not read again: kept, their syntax trees would be most of what a long
        # document holds, and the collector would walk them all once the document is written.
        self.lines = self.returns = None
        self.every_variable = self.function
        self.function = self._values_and_gradients  # what Program's callers read: (forward, gradient)
        self._names = [q.name for q in self.network.quantities(elements=False)]
        self._scope = self.every_variable.__globals__  # the program's names and the activations it defines
        self._compiled_definitions = len(self._emit.definitions)

    def _returns(self, forward: list[str], gradients: list[str]) -> ast.expr:
        return ast.Call(codegen.name("locals"), [], [])

    def run(self, arrays: dict[str, Any], batch_size: int) -> dict[str, Any]:
        """Every variable of the program's run at ``arrays``, by its name in the program."""
        arguments = [arrays[q.name] for q in self.network.quantities(INPUT, PARAM)]
        with np.errstate(all="ignore"):
            return self.every_variable(*arguments, batch_size)

    def _values_and_gradients(self, *arguments: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Every forward value and gradient by name, as :class:`~symbackprop.numeric.Program`'s function gives them."""
        return self.values_and_gradients(self.every_variable(*arguments))

    def values_and_gradients(self, variables: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The forward values and gradients of the quantities, by name, in the run ``variables``."""
        return ({n: variables[var("v", n)] for n in self._names}, {n: variables[var("g", n)] for n in self._names})

    def partial(self, index: int, variables: dict[str, Any]) -> Any:
        """What edge ``index`` adds to a gradient that sums several, in the run ``variables`` (a piece of a
        slice placed into zeros of the whole shape here, when a document reads it)."""
        value = variables[partial_name(self.partial_steps[index])]
        if index in self.placed:
            outer, ranges = self.placed[index]
            return placed(outer, value, ranges)
        return value

    def local_factor(self, index: int, variables: dict[str, Any]) -> Any:
        """The local factor of step ``index`` (ReLU′ at z₁, h₁ᵀ, …) in the run ``variables``."""
        return self._evaluated(lambda: self._emit.value(self.local_steps[index].local), variables)

    def per_sample(self, parameter: str, variables: dict[str, Any]) -> Any:
        """∂Lᵢ/∂θ of each sample: the edges' terms without the mean's 1/N."""
        def code() -> ast.expr:
            total = codegen.sum_of([self._sample_term(s) for s in self.into_parameters[parameter]])
            return ast.BinOp(codegen.name("batch_size"), ast.Mult(), total)

        return self._evaluated(code, variables)

    @one_tree_at_a_time
    def _evaluated(self, build: Callable[[], ast.expr], variables: dict[str, Any]) -> Any:
        """One expression emitted now and run on the variables of a finished run (with any activation it adds)."""
        code = build()
        definitions = self._emit.definitions[self._compiled_definitions:]
        self._compiled_definitions = len(self._emit.definitions)
        module = ast.Module([*definitions, ast.Expr(code)], type_ignores=[])
        known = {**self._emit.namespace, **self._scope}  # with the activations earlier expressions added
        self._scope.update(resolve(module, known, bound=variables))  # places the trees, too
        if definitions:
            exec(compile(ast.Module(definitions, type_ignores=[]), "<symbackprop generated>", "exec"), self._scope)
        expression = compile(ast.Expression(code), "<symbackprop generated>", "eval")
        with np.errstate(all="ignore"):
            return eval(expression, self._scope, variables)  # built from our trees


class _OnRequest(Mapping):
    """Numbers by key, each computed the first time it is read."""

    def __init__(self, keys: Iterable[Any], compute: Callable[[Any], Any]) -> None:
        self._keys = list(keys)
        self._known = set(self._keys)
        self._compute = compute
        self._computed: dict[Any, Any] = {}

    def __getitem__(self, key: Any) -> Any:
        if key not in self._known:
            raise KeyError(key)
        if key not in self._computed:
            self._computed[key] = self._compute(key)
        return self._computed[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def worked_numbers(derivation: Derivation, values: Mapping[str, Any]) -> WorkedNumbers:
    """Every forward value and gradient at ``values`` (as ``evaluate`` gives them), with each step's own numbers."""
    arrays, batch_size = conform_all(derivation, values)
    program = derivation._program  # evaluate's, built once per derivation
    variables = program.run(arrays, batch_size or 1)
    forward, gradient = program.values_and_gradients(variables)
    partials = _OnRequest(program.partial_steps, lambda index: program.partial(index, variables))
    local = _OnRequest(program.local_steps, lambda index: program.local_factor(index, variables))
    samples = _OnRequest(program.into_parameters, lambda name: program.per_sample(name, variables))
    return WorkedNumbers(evaluation(derivation, forward, gradient, batch_size), partials, local, samples, derivation,
                         dict(values))


__all__ = ["WorkedNumbers", "WorkedProgram", "worked_numbers"]
