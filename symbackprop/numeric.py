"""Numbers: values checked against the network, one generated NumPy program per derivation.

The program is written from the recorded steps, so it computes exactly what the
derivation says: one line per forward node and one per gradient, matrix
operations for tensors (``W1 @ x``, not per-element formulas), every array
carrying an optional leading batch axis.  Scalars travel as (…, 1, 1) arrays so
that they broadcast against matrices.  A batch is averaged: the loss's own
gradient is 1/N and a parameter's gradient is summed over the batch axis.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from . import codegen, sample_batches
from . import tensor as T
from .codegen import Line, TreeEmitter, function_definition, function_source, live, resolve, var
from .codegen.compiled import with_deletions
from .codegen.grouped import grouped_program
from .codegen.logits import logit_edge
from .codegen.one_sample import one_sample_program
from .codegen.placed import placed_sum_code, placement
from .codegen.rows import rows_program
from .codegen.stored import reading_stored_output
from .collector import collector_paused
from .errors import NonFiniteResultError, ValuesError
from .evaluation import Evaluation
from .explicit import ClosedForms, refuse_tensors_of_rank_3
from .network import INPUT, PARAM, Quantity
from .threads import one_tree_at_a_time
from .values import conform, conform_all  # noqa: F401 - re-exported: the numbers start from checked values

if TYPE_CHECKING:
    from .derivation import Derivation


# -- the generated program -------------------------------------------------------------


class Program:
    """The generated NumPy program of a derivation and the function compiled from it: ``derivation_source``
    is the generated function (and the activations it calls), ``source`` a module that runs on its own."""

    #: What a program returns: every forward value and gradient, the parameter gradients, or the loss.
    OUTPUTS = ("all", "parameters", "loss")

    @one_tree_at_a_time
    @collector_paused()
    def __init__(self, derivation: Derivation, *, cse: bool = True, outputs: str = "all",
                 stored_outputs: bool = True) -> None:
        if outputs not in self.OUTPUTS:
            raise ValueError(f"outputs must be one of {self.OUTPUTS}, not {outputs!r}")
        self.derivation = derivation
        self.network = derivation.network
        self.outputs = outputs
        self.cse = cse
        # f′(z) from the stored f(z) where that is the same number; off where lines must read what the steps read
        self.stored_outputs = stored_outputs
        self._emit = TreeEmitter()
        lines, forward, gradients = self._lines()
        if cse:
            lines = codegen.share_subexpressions(lines)
        if outputs != "all":
            lines = live(lines, {var("v", n) for n in forward} | {var("g", n) for n in gradients})
        arguments = [var("v", q.name) for q in self.network.quantities(INPUT, PARAM)] + ["batch_size"]
        returns = self._returns(forward, gradients)
        self.lines, self.arguments, self.returns = lines, arguments, returns  # for the rows layout's rewrite
        body = [ast.Assign([ast.Name(line.target, ast.Store())], line.value) for line in lines]
        main = function_definition("derivation", arguments, [*body, ast.Return(returns)], located=False)
        # Compiled from the trees themselves: the text is written only when someone reads it.
        module = ast.Module([main, *self._emit.definitions], type_ignores=[])
        self.namespace = resolve(module, self._emit.namespace)  # which places the trees for compile too
        scope = dict(self.namespace)
        exec(compile(module, "<symbackprop generated>", "exec"), scope)  # built from our trees
        self.function = scope["derivation"]

    @cached_property
    @one_tree_at_a_time
    def derivation_source(self) -> str:
        """The generated function's text (one commented line per step), the activations it calls after it."""
        main = function_source("derivation", self.arguments, self.lines, self.returns)
        return "\n\n\n".join([main, *(ast.unparse(d) for d in self._emit.definitions)])

    @cached_property
    @one_tree_at_a_time
    def freeing_source(self) -> str:
        """``derivation_source`` with each intermediate deleted after its last use (for eager array libraries,
        whose tensors are then freed as a hand-written function's are)."""
        main = with_deletions(function_source("derivation", self.arguments, self.lines, self.returns), self.lines,
                              self.returns)
        return "\n\n\n".join([main, *(ast.unparse(d) for d in self._emit.definitions)])

    @cached_property
    @one_tree_at_a_time
    def source(self) -> str:
        loss = self.derivation.loss
        docstring = (f"∂{loss}/∂θ by backpropagation, generated by symbackprop.\n\n"
                     "derivation(inputs and parameters as arrays, batch_size) returns (forward, gradient).")
        return codegen.standalone_module(self.derivation_source, self.namespace, docstring)

    def _returns(self, forward: list[str], gradients: list[str]) -> ast.expr:  # a subclass may return more
        return ast.Tuple([_dictionary("v", forward), _dictionary("g", gradients)], ast.Load())

    # -- the lines of the program ------------------------------------------------------

    def _lines(self) -> tuple[list[Line], list[str], list[str]]:
        network = self.network
        emit = self._emit
        lines: list[Line] = []
        leaves = network.quantities(INPUT, PARAM)
        for q in leaves:
            for row in q.elements or ():
                for element in row:
                    i, j = network[element].index
                    lines.append(Line(var("v", element), _element_of(var("v", q.name), i, j)))
        for q in network.graph_order():
            if q.definition is not None:
                lines.append(Line(var("v", q.name), emit.value(q.definition), "forward"))
        for q in network.quantities(elements=False):
            if q.elements is not None and q.kind not in (INPUT, PARAM):
                lines.append(Line(var("v", q.name), _assemble("v", q)))
        partial_names: dict[int, str] = {}
        into: dict[str, list] = {}
        for step in self.derivation.edges:
            into.setdefault(step.target, []).append(step)
        self.placed = self._placed_edges()
        for step in self.derivation.steps:
            if step.kind == "seed":
                lines.append(Line(var("g", step.target), _ratio(1.0, "batch_size"), "seed"))
                continue
            if step.kind == "sum":
                placed = [i for i in step.parts if i in self.placed]
                terms = [codegen.name(partial_names[i]) for i in step.parts if i not in self.placed]
                if placed:
                    pieces = [(partial_names[i], self.placed[i][1]) for i in placed]
                    terms.insert(0, placed_sum_code(self.placed[placed[0]][0], pieces, self._emit.namespace))
                total = codegen.sum_of(terms)
                lines.append(Line(var("g", step.target), total, "fan-out"))
                continue
            if step.index in self.placed:  # only the piece: the sum places it
                code = self._edge(dataclasses.replace(step, result=step.result.operand))
            else:
                code = logit_edge(self, step, into) or self._edge(step)
            if len(into[step.target]) == 1:
                lines.append(Line(var("g", step.target), code, f"via {step.source}"))
            else:
                partial_names[step.index] = partial_name(step)
                lines.append(Line(partial_names[step.index], code, f"via {step.source}"))
        reached = {s.target for s in self.derivation.steps}
        for q in network.quantities(elements=True):
            if q.elements is None and q.name not in reached:
                lines.append(Line(var("g", q.name), _zeros(q.matrix_shape), "does not reach the loss"))
        for q in network.quantities(elements=False):
            if q.elements is not None:
                lines.append(Line(var("g", q.name), _assemble("g", q)))
        every = [q.name for q in network.quantities(elements=False)]
        if self.outputs == "parameters":
            return lines, [], [q.name for q in network.params]
        if self.outputs == "loss":
            return lines, [self.derivation.loss], []
        return lines, every, every

    def _placed_edges(self) -> dict[int, tuple]:
        """The edges of a sum that place a piece into zeros (a quantity read in slices), where a sum has two or
        more: their (whole shape, ranges), by step index (:mod:`symbackprop.codegen.placed`)."""
        steps = self.derivation.steps  # a step's index is its place in the list
        placed: dict[int, tuple] = {}
        for step in steps:
            if step.kind != "sum":
                continue
            found = {i: placement(steps[i].result) for i in step.parts if steps[i].source != self.derivation.loss}
            found = {i: where for i, where in found.items() if where is not None}
            if len(found) > 1:  # one piece in zeros is no sum to save; the target's other edges are added to it
                placed.update(found)
        return placed

    def _edge(self, step) -> ast.expr:
        """What one step contributes; a parameter's is summed over the batch."""
        shape = self.network[step.target].shape
        if shape is not None and len(shape) > 2:  # such a network takes no batch axis: nothing to sum over
            return self._sample_term(step)
        if self.network[step.target].kind == PARAM and step.source != self.derivation.loss:
            summed = self._summed_product(step.result)
            if summed is not None:
                return summed
        code = self._sample_term(step)
        if self.network[step.target].kind == PARAM:
            return codegen.call("_batch_sum", code, codegen.name("batch_size"))
        return code

    def _sample_term(self, step) -> ast.expr:
        """What one step contributes, sample by sample (with the batch mean's 1/N)."""
        reused = reading_stored_output(step, self.network) if self.stored_outputs else None
        code = self._emit.value(reused or step.result)
        if step.source == self.derivation.loss and not self.derivation.batch:  # averaged even when not shown
            code = ast.BinOp(codegen.name(var("g", step.source)), ast.Mult(), code)
        return code

    def _summed_product(self, result: Any) -> ast.expr | None:
        """A parameter gradient that is a product summed over the batch, as one product."""
        emit = self._emit
        batch = codegen.name("batch_size")
        if isinstance(result, T.MatMul) and isinstance(result.right, T.Transpose):
            return codegen.call("_outer_sum", emit.tensor(result.left), emit.tensor(result.right.operand), batch)
        if isinstance(result, T.MatMul):
            return codegen.call("_mm_sum", emit.tensor(result.left), emit.tensor(result.right), batch)
        if isinstance(result, sp.Mul) and len(result.args) == 2 and not any(a.is_number for a in result.args):
            return codegen.call("_mul_sum", emit.scalar(result.args[0]), emit.scalar(result.args[1]), batch)
        return None

    def rows_function(self, arguments: list[Any], batch_size: int, *, traced: bool = False,
                      stacked: bool = False) -> Any:
        """The program rewritten for these batched arrays with samples as rows (None where a line has no rule;
        ``traced``: without branches on the numbers; ``stacked``: the steps that share a weight stacked)."""
        activations = {d.name: d for d in self._emit.definitions}
        return rows_program(self.lines, self.arguments, self.returns, self.namespace, activations,
                            [*arguments, batch_size], batch_size, traced, stacked)

    def one_sample_function(self, arguments: list[Any]) -> Any:
        """The program for one sample whose values are matrices, each kernel written as NumPy does it on them."""
        activations = {d.name: d for d in self._emit.definitions}
        return one_sample_program(self.lines, self.arguments, self.returns, self.namespace, activations,
                                  [*arguments, 1])

    def grouped_function(self, arguments: list[Any], batch_size: int, *, traced: bool = False) -> Any:
        """A scalar-level program with each quantity's lines as one array statement (None if they do not group)."""
        activations = {d.name: d for d in self._emit.definitions}
        return grouped_program(self.network, self.lines, self.arguments, self.returns, self.namespace, activations,
                               [*arguments, batch_size], traced)

    def __call__(self, arrays: dict[str, np.ndarray], batch_size: int) -> tuple[dict, dict]:
        arguments = [arrays[q.name] for q in self.network.quantities(INPUT, PARAM)]
        with np.errstate(all="ignore"):
            return self.function(*arguments, batch_size)


def partial_name(step) -> str:
    """The program's variable for what one edge contributes to a gradient that sums several."""
    return f"p{step.index}_{step.target}"


def _ratio(numerator: float, denominator: str) -> ast.expr:
    return ast.BinOp(ast.Constant(numerator), ast.Div(), codegen.name(denominator))


def _zeros(shape: tuple[int, int]) -> ast.expr:
    return ast.Call(ast.Attribute(codegen.name("np"), "zeros", ast.Load()),
                    [ast.Tuple([ast.Constant(d) for d in shape], ast.Load())], [])


def _element_of(array: str, i: int, j: int) -> ast.expr:
    """``array[..., i:i+1, j:j+1]``: one element, kept as a (…, 1, 1) block."""
    index = ast.Tuple([ast.Constant(Ellipsis), ast.Slice(ast.Constant(i), ast.Constant(i + 1)),
                       ast.Slice(ast.Constant(j), ast.Constant(j + 1))], ast.Load())
    return ast.Subscript(codegen.name(array), index, ast.Load())


def _assemble(prefix: str, q: Quantity) -> ast.expr:
    rows = ast.List([ast.List([codegen.name(var(prefix, e)) for e in row], ast.Load()) for row in q.elements],
                    ast.Load())
    return codegen.call("_blocks", rows)


def _dictionary(prefix: str, names: list[str]) -> ast.Dict:
    return ast.Dict([ast.Constant(n) for n in names], [codegen.name(var(prefix, n)) for n in names])


# -- results ------------------------------------------------------------------------------


def _shape_output(q: Quantity, array: Any, batched: bool) -> Any:
    array = np.asarray(array)
    if q.is_scalar:
        return array.reshape(array.shape[0]) if batched and array.ndim == 3 else array.reshape(())
    return array


def evaluate(derivation: Derivation, values: Mapping[str, Any]) -> Evaluation:
    arrays, batch_size = conform_all(derivation, values)
    if batch_size is not None and sample_batches.runs_sample_by_sample(derivation.network):
        program, network = derivation._program, derivation.network
        arguments = [arrays[q.name] for q in network.quantities(INPUT, PARAM)]
        with np.errstate(all="ignore"):  # as the program's own call
            forward, gradient = sample_batches.forward_and_gradients(lambda sample: program.function(*sample, 1),
                                                                     network, arguments, batch_size)
    else:
        forward, gradient = derivation._program(arrays, batch_size or 1)
    return evaluation(derivation, forward, gradient, batch_size)


def evaluation(derivation: Derivation, forward: Mapping[str, Any], gradient: Mapping[str, Any],
               batch_size: int | None) -> Evaluation:
    """A program's dictionaries as an :class:`Evaluation`: the declared shapes, a batch axis where batched."""
    network = derivation.network
    out_forward, out_grad = {}, {}
    for q in network.quantities(elements=False):
        batched = batch_size is not None and q.kind != PARAM
        value = np.array(forward[q.name], dtype=float)  # a copy: an input's value may be the caller's own array
        if batched and value.ndim == 2:
            value = np.broadcast_to(value, (batch_size, *value.shape)).copy()
        if q.name == derivation.loss and batched:
            out_forward[q.name] = np.asarray(value.mean())
        else:
            out_forward[q.name] = _shape_output(q, value, batched)
        grad = np.asarray(gradient[q.name], dtype=float)
        if batched and grad.ndim == 2 and q.name != derivation.loss:
            grad = np.broadcast_to(grad, (batch_size, *grad.shape)).copy()
        out_grad[q.name] = _shape_output(q, grad, batched and grad.ndim == 3)
    out_grad[derivation.loss] = np.asarray(1.0)
    return Evaluation(out_forward, out_grad, batch_size, False, derivation.loss, derivation.network)


def evaluate_exact(derivation: Derivation, values: Mapping[str, Any]) -> Evaluation:
    """Exact arithmetic with SymPy (one sample; for teaching-size networks)."""
    refuse_tensors_of_rank_3(derivation.network)
    arrays, batch_size = conform_all(derivation, values, exact=True)
    if batch_size is not None:
        raise ValuesError("exact evaluation takes one sample; evaluate a batch with exact=False")
    network = derivation.network
    leaves: dict[str, Any] = {}
    for name, array in arrays.items():
        q = network[name]
        matrix = sp.ImmutableMatrix(array.tolist())
        leaves[name] = matrix[0, 0] if q.is_scalar else matrix
        for row in q.elements or ():
            for element in row:
                i, j = network[element].index
                leaves[element] = matrix[i, j]
    one_sample = derivation.seed.subs(T.BATCH_SIZE, 1)
    forms = ClosedForms(derivation, expand=True, leaves=leaves, seed=one_sample)
    out_forward, out_grad = {}, {}
    for q in network.quantities(elements=False):
        out_forward[q.name] = _real_or_refused(f"{q.name}", _exact_array(forms.forward(q.name)))
        # a batch derivation's steps still hold N
        out_grad[q.name] = _real_or_refused(f"∂{derivation.loss}/∂{q.name}", _exact_array(forms.gradient(q.name)))
    return Evaluation(out_forward, out_grad, None, True, derivation.loss, derivation.network)


def _real_or_refused(what: str, value: Any) -> Any:
    """``value`` unless an entry is SymPy's zoo (1/0 of a scalar: no sign, where floats give ±∞) or complex."""
    for entry in np.asarray(value, dtype=object).flat:
        if entry is sp.zoo or (isinstance(entry, sp.Basic) and entry.is_extended_real is False):
            raise NonFiniteResultError(
                f"at these values {what} is {entry}, not a real number: the network is undefined there "
                f"(a log or a division at 0?)")
    return value


def _exact_array(value: Any) -> Any:
    """A matrix as an object array of SymPy numbers; a scalar as the SymPy number itself (N, one sample, is 1)."""
    if isinstance(value, sp.MatrixBase):
        return np.array(value.subs(T.BATCH_SIZE, 1).tolist(), dtype=object)
    return value.subs(T.BATCH_SIZE, 1) if isinstance(value, sp.Basic) else sp.nsimplify(value)
