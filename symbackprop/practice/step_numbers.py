"""Each edge of the backward pass computed from upstream gradients the caller chooses.

Grading asks what a step gives from the student's own earlier answers, not only from the true
ones; so every edge, its local factor and (for an activation) that factor taken at the output are
lines of one generated function whose upstream gradients are arguments, not computed.  The lines
are the derivation's own (the program's code for each edge), so a step's number here is what
``evaluate`` gives whenever the upstream gradients are the true ones.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from .. import tensor as T
from ..codegen import Line, TreeEmitter, function_source, resolve, var
from ..numeric import Program
from ..ops import ACTIVATION_OPS
from ..threads import one_tree_at_a_time

if TYPE_CHECKING:
    from ..derivation import Derivation


@dataclasses.dataclass(frozen=True)
class EdgeNumbers:
    """One evaluation: by step index, each edge's value, local factor, and factor taken at the output."""

    edges: dict[int, np.ndarray]
    locals: dict[int, np.ndarray]
    at_output: dict[int, np.ndarray]


class StepNumbers:
    """``numbers(forward, adjoints, batch_size)``: every edge of a derivation from the given arrays.

    ``forward`` and ``adjoints`` hold arrays as the generated program holds them (scalars as (…, 1, 1)).
    """

    # The derivation program's code for one edge: a parameter's is summed over the batch.
    _edge = Program._edge
    _sample_term = Program._sample_term
    _summed_product = Program._summed_product
    stored_outputs = False  # each edge reads what its step reads

    @one_tree_at_a_time
    def __init__(self, derivation: Derivation) -> None:
        self.derivation = derivation
        self.network = derivation.network
        self._emit = TreeEmitter()
        self.names = [q.name for q in self.network.quantities(elements=True)]
        lines: list[Line] = []
        edges, local, at_output = {}, {}, {}
        for step in derivation.edges:
            edges[step.index] = f"e{step.index}"
            lines.append(Line(edges[step.index], self._edge(step)))
            if step.local is not None:
                local[step.index] = f"l{step.index}"
                lines.append(Line(local[step.index], self._emit.value(step.local)))
            output_factor = self._at_output(step)
            if output_factor is not None:
                at_output[step.index] = f"o{step.index}"
                lines.append(Line(at_output[step.index], self._emit.value(output_factor)))
        returns = ast.Tuple([_by_index(edges), _by_index(local), _by_index(at_output)], ast.Load())
        arguments = [var("v", n) for n in self.names] + [var("g", n) for n in self.names] + ["batch_size"]
        main = function_source("edges", arguments, lines, returns)
        helpers = [ast.unparse(d) for d in self._emit.definitions]
        parsed = ast.parse("\n\n\n".join([main, *helpers]))
        scope = dict(resolve(parsed, self._emit.namespace))
        exec(compile(parsed, "<symbackprop practice>", "exec"), scope)  # built from the derivation's trees
        self._function = scope["edges"]

    def __call__(self, forward: dict[str, Any], adjoints: dict[str, Any], batch_size: int) -> EdgeNumbers:
        arguments = {var("v", n): forward.get(n) for n in self.names}
        arguments.update({var("g", n): adjoints.get(n) for n in self.names})
        with np.errstate(all="ignore"):
            edges, local, at_output = self._function(**arguments, batch_size=batch_size)
        return EdgeNumbers(*({i: np.asarray(v, dtype=float) for i, v in d.items()} for d in (edges, local, at_output)))

    def _at_output(self, step) -> Any:
        """The local factor of an activation's step taken at the activation's output instead of its input."""
        if step.local is None or len(step.rules) != 1 or step.rules[0] not in ACTIVATION_OPS:
            return None
        source, target = self.network[step.source], self.network[step.target]
        local = step.local
        if isinstance(local, T.Elementwise) and isinstance(local.operand, T.Ref) and local.operand.name == target.name:
            return dataclasses.replace(local, operand=T.Ref(source.name, local.operand.shape))
        if isinstance(local, sp.Expr) and target.symbol in local.free_symbols and source.symbol is not None:
            return local.subs(target.symbol, source.symbol)
        return None


def _by_index(names: dict[int, str]) -> ast.Dict:
    return ast.Dict([ast.Constant(i) for i in names], [ast.Name(n, ast.Load()) for n in names.values()])


__all__ = ["EdgeNumbers", "StepNumbers"]
