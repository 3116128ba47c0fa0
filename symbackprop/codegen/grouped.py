"""The grouped program of a scalar-level derivation: its statements, their order, and a check against the lines.

:mod:`.grouping` makes one statement per quantity; here the statements and the
lines left ungrouped are put in an order that respects what each reads, compiled,
and run once beside the ungrouped program on the call's own arrays: the grouped
program is used only where it gives the same gradients.
"""

from __future__ import annotations

import ast
import heapq
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..network import INPUT, PARAM
from .compiled import compile_program, record
from .emitter import name, var
from .grouping import Group, Grouper, _attribute_call, _index, _slice
from .lines import Line, names_read
from .rows import relu_gate

_PARTIAL = re.compile(r"p\d+_")


def inline_partials(lines: list[Line]) -> list[Line]:
    """Each edge's contribution written into the fan-out sum that adds it, so that a sum reads as Σ g·w."""
    partials = {line.target: line.value for line in lines if _PARTIAL.match(line.target)}
    if not partials:
        return lines

    class Inline(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            return partials.get(node.id, node)

    return [Line(line.target, Inline().visit(ast.parse(ast.unparse(line.value), mode="eval").body), line.comment)
            for line in lines if line.target not in partials]


def groups_of(network, recorded: dict[str, Any]) -> list[Group]:
    groups = []
    for q in network.quantities(elements=False):
        if q.elements is None:
            continue
        for prefix in ("v", "g"):
            elements = tuple(var(prefix, e) for row in q.elements for e in row)
            if any(e not in recorded for e in elements):
                continue
            dimensions = {np.ndim(recorded[e]) for e in elements}
            if dimensions not in ({3}, {2}, {0}, {0, 2}):
                continue
            leaf = prefix == "v" and q.kind in (INPUT, PARAM)
            groups.append(Group(var(prefix, q.name), elements, q.matrix_shape, dimensions == {3}, leaf))
    return groups


def grouped_program(network, lines: list[Line], arguments: list[str], returns: ast.Tuple,
                    namespace: dict[str, Any], activations: dict[str, ast.FunctionDef], values: list[Any],
                    traced: bool = False) -> Callable | None:
    """The grouped program for these batched arrays, or None where it would not be the same program
    (``traced``: for JAX and torch, without branches on the numbers)."""
    lines = inline_partials(lines)
    helpers = "\n\n\n".join(ast.unparse(d) for d in activations.values())
    recorded = record(lines, arguments, namespace, helpers, values)
    groups = groups_of(network, recorded)
    grouper = Grouper(groups, recorded, namespace, set(activations))
    by_group: dict[str, dict[int, tuple[int, Line]]] = {}
    for position, line in enumerate(lines):
        if line.target in grouper.owner:
            group, k = grouper.owner[line.target]
            by_group.setdefault(group.variable, {})[k] = (position, line)
    last = {g: max(p for p, _ in found.values()) for g, found in by_group.items()}
    decided: set[str] = {g.variable for g in groups if g.leaf}
    placed: dict[int, Line] = {}
    for variable in sorted(by_group, key=last.get):
        group = grouper.groups[variable]
        decided.add(variable)
        found = by_group[variable]
        if group.leaf or len(found) != len(group.elements):
            continue
        element_lines = [found[k][1] for k in range(len(group.elements))]
        read_groups = {grouper.owner[n][0].variable for line in element_lines for n in names_read(line.value)
                       if n in grouper.owner}
        if not read_groups <= decided:
            continue
        statement = grouper.statement(group, element_lines)
        if statement is not None:
            grouper.packed.add(variable)
            placed[last[variable]] = Line(variable, statement, "grouped")
    if not grouper.packed - {g.variable for g in groups if g.leaf}:
        return None
    body = _body(lines, grouper, placed)
    if body is None:
        return None
    body = [Line(line.target, _gate_written_out(line.value, traced), line.comment) for line in body]
    entry = [Line(g.variable, _attribute_call(name(g.variable), "reshape", ast.Constant(-1),
                                              ast.Constant(len(g.elements))))
             for g in groups if g.leaf and g.batched and g.variable in arguments]
    outputs = _Columns(grouper).visit(ast.parse(ast.unparse(returns), mode="eval").body)
    trailing = {g.variable: (len(g.elements),) for g in groups if g.leaf and g.batched and g.variable in arguments}
    function = compile_program("derivation_grouped", arguments, entry, body, outputs,
                               {"np": np, **namespace, **grouper.constants}, helpers, trailing)
    return function if _same(function, values, returns, recorded) else None


def _gate_written_out(value: ast.expr, traced: bool) -> ast.expr:
    """ReLU′'s gate of a whole group (``_gate(g, z, 0)``) in the form the rows program writes for its size."""
    if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "_gate"
            and len(value.args) == 3 and not value.keywords and all(isinstance(a, ast.Name) for a in value.args[:2])
            and isinstance(value.args[2], ast.Constant) and value.args[2].value == 0):
        return relu_gate(value.args[0], value.args[1], traced)
    return value


class _Columns(ast.NodeTransformer):
    """An ungrouped line's view of grouped values: each element as its (N, 1, 1) or (1, 1) block."""

    def __init__(self, grouper: Grouper) -> None:
        self.grouper = grouper

    def visit_Name(self, node: ast.Name) -> ast.expr:
        grouper = self.grouper
        if node.id in grouper.owner and grouper.owner[node.id][0].variable in grouper.packed:
            group, k = grouper.owner[node.id]
            if group.batched:
                return _index(name(group.variable), _slice(), _slice(k, k + 1), None)
            i, j = divmod(k, group.shape[1])
            return _index(name(group.variable), _slice(i, i + 1), _slice(j, j + 1))
        if node.id in grouper.groups and node.id in grouper.packed and grouper.groups[node.id].batched:
            rows, columns = grouper.groups[node.id].shape
            return _attribute_call(node, "reshape", ast.Constant(-1), ast.Constant(rows), ast.Constant(columns))
        return node


def _body(lines: list[Line], grouper: Grouper, placed: dict[int, Line]) -> list[Line] | None:
    """The statements and the ungrouped lines in an order in which each reads only what is defined."""
    statements: list[Line] = []
    for position, line in enumerate(lines):
        group = grouper.owner[line.target][0] if line.target in grouper.owner else grouper.groups.get(line.target)
        if group is None or group.variable not in grouper.packed:
            value = _one_product(grouper, line) if group is None else None
            if value is None:
                value = _Columns(grouper).visit(ast.parse(ast.unparse(line.value), mode="eval").body)
            statements.append(Line(line.target, value, line.comment))
        if position in placed:
            statements.append(placed[position])
    defined = {s.target: i for i, s in enumerate(statements)}
    reads = [names_read(s.value) & set(defined) - {s.target} for s in statements]
    waiting = [len(r) for r in reads]
    readers: dict[str, list[int]] = {}
    for i, r in enumerate(reads):
        for n in r:
            readers.setdefault(n, []).append(i)
    ready = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for reader in readers.get(statements[i].target, ()):
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, reader)
    if len(order) != len(statements) or len(defined) != len(statements):
        return None
    return [statements[i] for i in order]


def _one_product(grouper: Grouper, line: Line) -> ast.expr | None:
    """A single per-sample value that is a sum of products over grouped arrays (a one-neuron layer) as
    one matrix product, given back its (N, 1, 1) shape."""
    if np.shape(grouper.recorded_value(line.target))[1:] != (1, 1):
        return None
    single = Group(line.target, (line.target,), (1, 1), True, False)
    product = grouper._sum_of_products(single, [line.value])
    return None if product is None else _index(product, _slice(), _slice(), None)


def _same(function: Callable, values: list[Any], returns: ast.Tuple, recorded: dict[str, Any]) -> bool:
    """The grouped program's gradients equal the ungrouped program's on this call, up to rounding."""
    with np.errstate(all="ignore"):
        _, gradient = function(*values)
    names = [(key.value, value.id) for key, value in zip(returns.elts[1].keys, returns.elts[1].values)]
    for key, variable in names:
        ours, theirs = np.asarray(gradient[key], dtype=float), np.asarray(recorded[variable], dtype=float)
        if ours.shape != theirs.shape or not np.array_equal(np.isnan(ours), np.isnan(theirs)):
            return False
        scale = max(1.0, float(np.nanmax(np.abs(theirs), initial=0.0)))
        if not np.allclose(ours, theirs, rtol=1e-9, atol=1e-12 * scale, equal_nan=True):
            return False
    return True
