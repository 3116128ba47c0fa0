"""A scalar-level program grouped into array operations: one statement per layer, not one per neuron.

At the scalar level every weight is its own symbol, so the program has a line per
neuron and per weight.  The neurons of one quantity (z1₁, z1₂, …) have the same
expression over different symbols; here the lines that define one quantity's
elements become one statement over arrays of the quantity's elements, samples as
rows: a sum of products whose weights are a parameter's entries becomes a matrix
product (``x @ W.T``, ``g @ W``), a weight's gradient Σₙ gᵢ hⱼ one GEMM, and an
element-wise line the same line over arrays.  A quantity whose lines do not group
keeps its lines, joined to the arrays by views and concatenations.

The result is checked against the ungrouped program on the call that makes it; any
difference, or anything not grouped consistently, leaves the ungrouped program.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from .emitter import name, numpy_call
from .lines import Line, names_read

_ELEMENTWISE_KERNELS = ("_gate", "_step")


@dataclass(frozen=True)
class Group:
    """A quantity's elements as one array: (N, K) for a batch (row-major elements), (rows, columns) if shared."""

    variable: str
    elements: tuple[str, ...]
    shape: tuple[int, int]
    batched: bool
    leaf: bool


def _column(node: ast.expr) -> ast.expr:
    """A per-sample value of the ungrouped program, (N, 1, 1), as the (N, 1) column of the grouped one."""
    return ast.Subscript(node, ast.Tuple([ast.Slice(), ast.Slice(), ast.Constant(0)], ast.Load()), ast.Load())


def _index(node: ast.expr, *parts: Any) -> ast.Subscript:
    elements = [p if isinstance(p, ast.AST) else ast.Constant(p) for p in parts]
    return ast.Subscript(node, ast.Tuple(elements, ast.Load()) if len(elements) > 1 else elements[0], ast.Load())


def _slice(start: int | None = None, stop: int | None = None) -> ast.Slice:
    return ast.Slice(None if start is None else ast.Constant(start), None if stop is None else ast.Constant(stop))


def _attribute_call(target: ast.expr, attribute: str, *arguments: ast.expr) -> ast.Call:
    return ast.Call(ast.Attribute(target, attribute, ast.Load()), list(arguments), [])


class Grouper:
    """Builds the grouped program's lines from the ungrouped program's lines and recorded values."""

    def __init__(self, groups: list[Group], values: dict[str, Any], namespace: dict[str, Any],
                 activations: set[str]) -> None:
        self.groups = {g.variable: g for g in groups}
        self.values = values
        self.namespace = namespace
        self.activations = activations
        self.owner = {e: (g, k) for g in groups for k, e in enumerate(g.elements)}
        self.packed: set[str] = {g.variable for g in groups if g.leaf}
        self.constants: dict[str, np.ndarray] = {}

    def recorded_value(self, variable: str) -> Any:
        return self.values.get(variable)

    # -- operands: one name per element of the target, as one array ---------------------------

    def _constant_indices(self, indices: list[int] | np.ndarray) -> ast.Name:
        array = np.asarray(indices, dtype=np.intp)
        for identifier, existing in self.constants.items():
            if existing.shape == array.shape and np.array_equal(existing, array):
                return name(identifier)
        identifier = f"_i{len(self.constants)}"
        self.constants[identifier] = array
        return name(identifier)

    def operand(self, names: list[str], target: Group) -> ast.expr | None:
        """The array whose k-th entry (in the target's layout) is ``names[k]``'s value."""
        first = names[0]
        if first not in self.owner:
            if any(n != first for n in names):
                return None
            value = self.values.get(first)
            return _column(name(first)) if np.ndim(value) == 3 else name(first)
        if any(n not in self.owner for n in names):
            return None
        sources = {self.owner[n][0].variable for n in names}
        if len(sources) != 1:
            return None
        group = self.owner[first][0]
        indices = [self.owner[n][1] for n in names]
        if group.variable not in self.packed:
            return self._loose(names, group, target)
        if group.batched:
            if not target.batched:
                return None
            if len(set(indices)) == 1:
                return _index(name(group.variable), _slice(), _slice(indices[0], indices[0] + 1))
            if indices == list(range(len(group.elements))):
                return name(group.variable)
            return _index(name(group.variable), _slice(), self._constant_indices(indices))
        columns = group.shape[1]
        rows, cols = [k // columns for k in indices], [k % columns for k in indices]
        if len(set(indices)) == 1:
            return _index(name(group.variable), rows[0], cols[0])
        if indices == list(range(len(group.elements))):
            if not target.batched and group.shape == target.shape:
                return name(group.variable)
            if target.batched:  # every entry in order: the array as one row, broadcast over the samples
                return _attribute_call(name(group.variable), "reshape", ast.Constant(1), ast.Constant(len(indices)))
        gathered = _index(name(group.variable), self._constant_indices(rows), self._constant_indices(cols))
        if not target.batched:
            shape = ast.Tuple([ast.Constant(d) for d in target.shape], ast.Load())
            return _attribute_call(gathered, "reshape", shape)
        return gathered

    def _loose(self, names: list[str], group: Group, target: Group) -> ast.expr | None:
        """Elements kept on lines of their own: one column each, joined for the target."""
        if not (group.batched and target.batched):
            return None
        if len(set(names)) == 1:
            return _column(name(names[0]))
        columns = ast.List([_column(name(n)) for n in names], ast.Load())
        return numpy_call("concatenate", columns, axis=ast.Constant(1))

    # -- one statement for a group's lines ---------------------------------------------------------

    def statement(self, group: Group, lines: list[Line]) -> ast.expr | None:
        own = set(group.elements)
        if any(names_read(line.value) & own for line in lines):
            return None  # an element defined by another of its group's elements (a chain): no one statement
        values = [line.value for line in lines]
        if all(isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id in ("_mul_sum", "_batch_sum")
               for v in values):
            return self._reduction(group, values)
        if not group.batched:
            return self._elementwise(group, values)
        return self._sum_of_products(group, values) or self._elementwise(group, values)

    def _variables(self, node: ast.expr) -> list[ast.Name]:
        return [n for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in self.values]

    def _shape_of(self, node: ast.expr) -> str:
        """The line's structure with its variables blanked: lines that group have the same."""
        blank = copy.deepcopy(node)
        for leaf in self._variables(blank):
            leaf.id = "_"
        return ast.dump(blank)

    def _elementwise(self, group: Group, values: list[ast.expr]) -> ast.expr | None:
        if len({self._shape_of(v) for v in values}) != 1 or not self._is_elementwise(values[0]):
            return None
        template = copy.deepcopy(values[0])
        leaves = self._variables(template)
        per_line = [self._variables(v) for v in values]
        replacements = {}
        for position, leaf in enumerate(leaves):
            packed = self.operand([names[position].id for names in per_line], group)
            if packed is None:
                return None
            replacements[id(leaf)] = packed

        class Replace(ast.NodeTransformer):
            def visit_Name(self, node: ast.Name) -> ast.expr:
                return replacements.get(id(node), node)

        return Replace().visit(template)

    def _is_elementwise(self, node: ast.expr) -> bool:
        from ..ops import NUMPY_KERNELS

        for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
            func = call.func
            if isinstance(func, ast.Attribute):
                if not (isinstance(func.value, ast.Name) and func.value.id == "np"
                        and isinstance(getattr(np, func.attr, None), np.ufunc)):
                    return False
            elif not isinstance(func, ast.Name):
                return False
            elif not (func.id in self.activations or func.id in _ELEMENTWISE_KERNELS
                      or isinstance(self.namespace.get(func.id), np.ufunc)
                      or (func.id in NUMPY_KERNELS and self.namespace.get(func.id) is NUMPY_KERNELS[func.id])):
                return False
        return not any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) for n in ast.walk(node))

    def _sum_of_products(self, group: Group, values: list[ast.expr]) -> ast.expr | None:
        """Σₜ uₜ · wₜ,ₖ with uₜ one sample's value and w a parameter's entries: one matrix product per (u's
        group, w's group); the other terms element-wise."""
        terms = [_terms(v) for v in values]
        if len({len(t) for t in terms}) != 1:
            return None
        products: dict[tuple[str, str], list[tuple[int, list[int]]]] = {}
        others: list[ast.expr] = []
        for position in range(len(terms[0])):
            column = [t[position] for t in terms]
            product = self._product(column, group)
            if product is None:
                other = self._elementwise(group, column)
                if other is None:
                    return None
                others.append(other)
            else:
                (batched, shared), sample_index, entries = product
                products.setdefault((batched, shared), []).append((sample_index, entries))
        if sum(len(p) for p in products.values()) < 2:
            return None
        total: ast.expr | None = None
        for (batched, shared), pairs in products.items():
            part = self._matrix_product(self.groups[batched], self.groups[shared], pairs)
            total = part if total is None else ast.BinOp(total, ast.Add(), part)
        for other in others:
            total = ast.BinOp(total, ast.Add(), other)
        return total

    def _product(self, column: list[ast.expr], target: Group):
        """For a term that is u·w on every line: ((u's group, w's group), u's index, w's entries)."""
        if not all(isinstance(t, ast.BinOp) and isinstance(t.op, ast.Mult)
                   and isinstance(t.left, ast.Name) and isinstance(t.right, ast.Name) for t in column):
            return None
        for sample_side, weight_side in (("left", "right"), ("right", "left")):
            samples = [getattr(t, sample_side).id for t in column]
            weights = [getattr(t, weight_side).id for t in column]
            if len(set(samples)) != 1 or samples[0] not in self.owner or any(w not in self.owner for w in weights):
                continue
            sample_group, sample_index = self.owner[samples[0]]
            weight_group = self.owner[weights[0]][0]
            if (target.batched and sample_group.batched and sample_group.variable in self.packed
                    and {self.owner[w][0].variable for w in weights} == {weight_group.variable}
                    and not weight_group.batched and weight_group.variable in self.packed):
                return ((sample_group.variable, weight_group.variable), sample_index,
                        [self.owner[w][1] for w in weights])
        return None

    def _matrix_product(self, batched: Group, shared: Group, pairs: list[tuple[int, list[int]]]) -> ast.expr:
        """Σₜ P[:, sₜ] · M[t, :] as ``P[:, s] @ M``, M gathered from the shared array (or it, or its transpose)."""
        pairs = sorted(pairs)  # a sum in another order: the same up to rounding, and often the array in order
        samples = [s for s, _ in pairs]
        left = (name(batched.variable) if samples == list(range(len(batched.elements)))
                else _index(name(batched.variable), _slice(), self._constant_indices(samples)))
        entries = np.array([e for _, e in pairs])  # (terms, target elements): flat indices into the shared array
        rows, columns = shared.shape
        flat = np.arange(rows * columns).reshape(rows, columns)
        if entries.shape == (columns, rows) and np.array_equal(entries, flat.T):
            right: ast.expr = ast.Attribute(name(shared.variable), "T", ast.Load())
        elif entries.shape == (rows, columns) and np.array_equal(entries, flat):
            right = name(shared.variable)
        else:
            right = _index(name(shared.variable), self._constant_indices(entries // columns),
                           self._constant_indices(entries % columns))
        return ast.BinOp(left, ast.MatMult(), right)

    def _reduction(self, group: Group, values: list[ast.Call]) -> ast.expr | None:
        """A parameter's gradient, every entry a sum over the batch: one GEMM when the entries are Σₙ aᵢ bⱼ."""
        functions = {v.func.id for v in values}
        if len(functions) != 1 or group.batched:
            return None
        rows, columns = group.shape
        shape = ast.Tuple([ast.Constant(rows), ast.Constant(columns)], ast.Load())
        if functions == {"_batch_sum"}:
            summed = self._batched_operand([v.args[0] for v in values])
            if summed is None:
                return None
            return _attribute_call(_np_reduce(summed), "reshape", shape)
        left, right = ([v.args[0] for v in values], [v.args[1] for v in values])
        gemm = self._outer(left, right, group) or self._outer(right, left, group)
        if gemm is not None:
            return gemm
        a, b = self._batched_operand(left), self._batched_operand(right)
        if a is None or b is None:
            return None
        return _attribute_call(_np_reduce(ast.BinOp(a, ast.Mult(), b)), "reshape", shape)

    def _batched_operand(self, nodes: list[ast.expr]) -> ast.expr | None:
        if not all(isinstance(n, ast.Name) for n in nodes):
            return None
        names = [n.id for n in nodes]
        if not all(np.ndim(self.values.get(n)) == 3 for n in names):
            return None  # a value shared by every sample counts N times: left to the kernel
        stand_in = Group("", tuple(names), (len(names), 1), True, False)
        return self.operand(names, stand_in)

    def _outer(self, by_row: list[ast.expr], by_column: list[ast.expr], group: Group) -> ast.expr | None:
        """Σₙ uᵢ vⱼ for entry (i, j) when u depends on the row alone and v on the column: Uᵀ V."""
        rows, columns = group.shape
        if not all(isinstance(n, ast.Name) for n in by_row + by_column):
            return None
        row_names = [by_row[i * columns].id for i in range(rows)]
        column_names = [by_column[j].id for j in range(columns)]
        for i in range(rows):
            for j in range(columns):
                if by_row[i * columns + j].id != row_names[i] or by_column[i * columns + j].id != column_names[j]:
                    return None
        u, v = self._batched_operand([name(n) for n in row_names]), self._batched_operand(
            [name(n) for n in column_names])
        if u is None or v is None:
            return None
        return ast.BinOp(ast.Attribute(u, "T", ast.Load()), ast.MatMult(), v)


def _np_reduce(node: ast.expr) -> ast.Call:
    return numpy_call("add.reduce", node, ast.Constant(0))


def _terms(node: ast.expr) -> list[ast.expr]:
    """The terms of a left-nested sum ``a + b + c``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _terms(node.left) + [node.right]
    return [node]
