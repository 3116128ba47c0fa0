"""A batched program rewritten with samples as rows: one GEMM per layer, no per-call bookkeeping.

The generated program keeps a batch of column vectors as an (N, rows, 1) stack,
which is what the derivation writes and what every kernel accepts.  A training
loop calls it with the same layout thousands of times, so the first batched call
runs the program once more, line by line, to learn which values are stacks of
columns and which are shared by every sample, and rewrites each line for the
(N, rows) layout a hand-written backprop uses: ``W @ x`` becomes ``x @ W.T``, the
weight gradient Σₙ gₙ hₙᵀ becomes ``g.T @ h``, a bias joins as ``b.T``, an
element-wise activation runs on the rows unchanged (its kernel's one NumPy
expression written in place of the call).  A line no rule covers leaves the
program as it was: the rewrite is all or nothing, never a guess.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import numpy as np

from .compiled import compile_program, record
from .emitter import call, name, numpy_call
from .inlining import inlined_call
from .lines import Line, names_read
from .peephole import sums_over_samples, whole_array_steps
from .stacked import bias_in_stacked_products, stacked_inputs, stacked_sums, transposed_once

ROWS, SHARED, COLUMNS = "rows", "shared", "columns"

#: Up to this many numbers ReLU′'s gate is one ``np.heaviside`` (NaN kept); beyond, a mask and one NaN guard are faster.
_HEAVISIDE_SIZE = 1024

_MATMUL = {"_mm": True, "_mm_t": False}  # kernel → whether the shared matrix is transposed
_REDUCTIONS = ("_outer_sum", "_mul_sum", "_mm_sum")


def flatten(lines: list[Line]) -> list[Line]:
    """Every call and operation on a line of its own, so that each has a recorded value."""
    flat: list[Line] = []

    def atom(node: ast.expr) -> ast.expr:
        if isinstance(node, (ast.Name, ast.Constant)) or _is_number(node):
            return node
        if isinstance(node, (ast.List, ast.Tuple)):  # an argument's structure (a shape, rows of blocks) stays
            return type(node)([atom(e) for e in node.elts], ast.Load())
        value = children(node)
        target = f"_t{len(flat)}"
        flat.append(Line(target, value))
        return name(target)

    def children(node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Call):
            return ast.Call(node.func, [atom(a) for a in node.args],
                            [ast.keyword(k.arg, atom(k.value)) for k in node.keywords])
        if isinstance(node, ast.BinOp):
            return ast.BinOp(atom(node.left), node.op, atom(node.right))
        if isinstance(node, ast.UnaryOp) and not _is_number(node):
            return ast.UnaryOp(node.op, atom(node.operand))
        return node  # left whole: the rewrite keeps it only where it reads shared values alone

    for line in lines:
        flat.append(Line(line.target, children(line.value), line.comment))
    return flat


def _is_number(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant))


def layout_of(value: Any, batch_size: int) -> str | None:
    """ROWS for an (N, rows, 1) stack, SHARED for a matrix or number every sample shares, COLUMNS for
    any other batched array (kept as the program has it), else None."""
    if isinstance(value, np.ndarray):
        if value.ndim == 3 and value.shape[0] == batch_size and value.shape[2] == 1:
            return ROWS
        return SHARED if value.ndim <= 2 else COLUMNS
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return SHARED
    return None


class RowsRewriter:
    """Rewrites flattened lines for the rows layout, given every variable's recorded value."""

    def __init__(self, values: dict[str, Any], batch_size: int, namespace: dict[str, Any],
                 activations: dict[str, ast.FunctionDef], traced: bool = False) -> None:
        self.values = values
        self.traced = traced  # for jax.jit and torch.compile: no branch on an array's numbers
        self.products = 0  # the matrix products written for the rows (a GEMM per layer or weight)
        self.batch_size = batch_size
        self.namespace = namespace
        self.activations = activations
        self.layouts = {k: layout_of(v, batch_size) for k, v in values.items()}
        self.relu_outputs: dict[str, str] = {}  # x → the variable holding ReLU(x)

    def line(self, line: Line) -> Line | None:
        layout = self.layouts.get(line.target)
        if layout is None:
            return None
        read = {n for n in names_read(line.value) if n in self.layouts and n != "np"}  # not a set of every variable
        if any(self.layouts[n] is None for n in read):
            return None
        if all(self.layouts[n] == SHARED for n in read):
            return line if layout == SHARED else None
        value = None
        if layout == ROWS:
            value = self._rows(line.value)
        elif layout == SHARED:
            value = self._reduced(line.value)
        else:
            value = self._side_by_side(line.value)
        value = value or self._bridged(line.value, layout)
        if (relu_of := relu_input(value)) is not None:
            self.relu_outputs[relu_of] = line.target
        return Line(line.target, value, line.comment)

    def _bridged(self, node: ast.expr, layout: str) -> ast.expr:
        """What no rule covers, computed as the program computes it: rows given back their column axis
        (a view), the result's taken away again."""
        layouts = self.layouts

        class Columns(ast.NodeTransformer):
            def visit_Name(self, leaf: ast.Name) -> ast.expr:
                return _axis(leaf, None) if layouts.get(leaf.id) == ROWS else leaf

        value = Columns().visit(ast.parse(ast.unparse(node), mode="eval").body)
        return _axis(value, 0) if layout == ROWS else value

    # -- values with a rows layout -------------------------------------------------------------

    def _rows(self, node: ast.expr) -> ast.expr | None:
        if isinstance(node, ast.Name):
            return node if self.layouts.get(node.id) == ROWS else None
        if isinstance(node, ast.BinOp):
            left, right = self._operand(node.left), self._operand(node.right)
            if left is None or right is None or isinstance(node.op, ast.MatMult):
                return None
            return ast.BinOp(left, node.op, right)
        if isinstance(node, ast.UnaryOp):
            operand = self._operand(node.operand)
            return None if operand is None else ast.UnaryOp(node.op, operand)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self._rows_call(node, node.func.id)
        if isinstance(node, ast.Call) and self._is_ufunc(node.func):
            return self._elementwise(node)
        return None

    def _rows_call(self, node: ast.Call, function: str) -> ast.expr | None:
        arguments = node.args
        if function in _MATMUL and len(arguments) == 2 and not node.keywords:
            matrix, stack = arguments
            if self._layout(matrix) != SHARED or self._layout(stack) != ROWS or np.ndim(self._value(matrix)) != 2:
                return None
            shared = ast.Attribute(matrix, "T", ast.Load()) if _MATMUL[function] else matrix
            self.products += 1
            return ast.BinOp(stack, ast.MatMult(), shared)  # (N, k) @ (k, rows): one GEMM for the batch
        if function == "_gate":
            return self._gate(node)
        if function in ("_total", "_axis_sum") and self._layout(arguments[0]) == ROWS:
            if function == "_axis_sum" and not (len(arguments) == 2 and _constant(arguments[1]) == 0):
                return None
            return numpy_call("add.reduce", arguments[0], ast.Constant(1), keepdims=ast.Constant(True))
        if function in self.activations or function in self.namespace and self._is_elementwise(function):
            return self._elementwise(node)
        inlined = inlined_call(node, self.activations, self.namespace, elementwise_only=True)
        return None if inlined is node else self._rows(inlined)

    def _gate(self, node: ast.Call) -> ast.expr | None:
        if len(node.args) != 3 or node.keywords:
            return None
        upstream, x, at_zero = (self._operand(a) for a in node.args)
        if upstream is None or x is None or at_zero is None:
            return None
        if _constant(node.args[2]) != 0:
            return call("_gate", upstream, x, at_zero)
        return relu_gate(upstream, x, self.traced, self.relu_outputs.get(getattr(x, "id", None)))

    def _elementwise(self, node: ast.Call) -> ast.expr | None:
        arguments = [self._operand(a) for a in node.args]
        keywords = [ast.keyword(k.arg, self._operand(k.value)) for k in node.keywords]
        if any(a is None for a in arguments) or any(k.value is None for k in keywords):
            return None
        rewritten = ast.Call(node.func, arguments, keywords)
        return inlined_call(rewritten, self.activations, self.namespace)

    def _operand(self, node: ast.expr) -> ast.expr | None:
        """An operand of an element-wise step on rows: rows as they are, a shared value broadcast to them."""
        if _is_number(node):
            return node
        if not isinstance(node, ast.Name):
            return self._rows(node)  # an inlined kernel's inner operation
        layout = self._layout(node)
        if layout == ROWS:
            return node
        if layout != SHARED:
            return None
        shape = np.shape(self._value(node))
        if int(np.prod(shape)) == 1:
            return node
        if len(shape) == 2 and shape[1] == 1:  # a column every sample shares (a bias) joins each row as bᵀ
            return ast.Attribute(node, "T", ast.Load())
        return None

    # -- columns made of rows ---------------------------------------------------------------------

    def _side_by_side(self, node: ast.expr) -> ast.expr | None:
        """Rows values joined as the columns of one matrix (an RNN's states) as one stacking, not each given
        back its column axis and joined."""
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_concat"
                and not node.keywords and len(node.args) > 2 and _constant(node.args[0]) == 1
                and all(self._layout(part) == ROWS for part in node.args[1:])):
            return numpy_call("stack", ast.List(node.args[1:], ast.Load()), axis=ast.Constant(2))
        return None

    # -- shared values summed from rows ------------------------------------------------------------

    def _reduced(self, node: ast.expr) -> ast.expr | None:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            return None
        function, arguments = node.func.id, node.args
        if function == "_batch_sum" and len(arguments) == 2 and self._layout(arguments[0]) == ROWS:
            total = numpy_call("add.reduce", arguments[0], ast.Constant(0))
            column = ast.Tuple([ast.Slice(), ast.Constant(None)], ast.Load())
            return ast.Subscript(total, column, ast.Load())
        if function in _REDUCTIONS and len(arguments) == 3 and all(self._layout(a) == ROWS for a in arguments[:2]):
            left, right = arguments[:2]
            if function != "_outer_sum" and np.shape(self._value(right))[1] != 1:
                return None
            if function == "_mul_sum" and np.shape(self._value(left))[1] != 1:
                return None
            self.products += 1
            return ast.BinOp(ast.Attribute(left, "T", ast.Load()), ast.MatMult(), right)  # Σₙ aₙ bₙᵀ as one GEMM
        return None

    # -- what the names stand for ------------------------------------------------------------------

    def _layout(self, node: ast.expr) -> str | None:
        return self.layouts.get(node.id) if isinstance(node, ast.Name) else None

    def _value(self, node: ast.expr) -> Any:
        return self.values[node.id]

    def _is_ufunc(self, func: ast.expr) -> bool:
        return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np"
                and isinstance(getattr(np, func.attr, None), np.ufunc))

    def _is_elementwise(self, function: str) -> bool:
        from ..ops import NUMPY_KERNELS

        obj = self.namespace.get(function)
        return isinstance(obj, np.ufunc) or (function in NUMPY_KERNELS and obj is NUMPY_KERNELS[function])


def _axis(node: ast.expr, index: int | None) -> ast.Subscript:
    """``node[:, :, None]`` (rows as a stack of columns) or ``node[:, :, 0]`` (the columns' axis taken away)."""
    if index == 0 and isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple):
        *leading, last = node.slice.elts
        if (len(leading) == 2 and _constant(leading[0]) is Ellipsis and isinstance(last, ast.Slice)
                and last.step is None and isinstance(_constant(last.lower), int)
                and _constant(last.upper) == _constant(last.lower) + 1):
            # X[..., a:b, c:c+1][:, :, 0] is X[..., a:b, c]: one view instead of two (each costs an eager library)
            return ast.Subscript(node.value, ast.Tuple([*leading, last.lower], ast.Load()), ast.Load())
    return ast.Subscript(node, ast.Tuple([ast.Slice(), ast.Slice(), ast.Constant(index)], ast.Load()), ast.Load())


def relu_input(value: ast.expr) -> str | None:
    """x, where ``value`` is ReLU's inlined ``np.maximum(x, 0.0)``."""
    if (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "maximum"
            and isinstance(value.func.value, ast.Name) and value.func.value.id == "np" and len(value.args) == 2
            and isinstance(value.args[0], ast.Name) and _constant(value.args[1]) == 0 and not value.keywords):
        return value.args[0].id
    return None


def relu_gate(upstream: ast.expr, x: ast.expr, traced: bool, output: str | None = None) -> ast.expr:
    """g ⊙ ReLU′(x) (ReLU′(0) = 0), NaN in x kept, as fast as NumPy writes it for the call's size (``output``: the
    variable holding ReLU(x), whose sign is the gate: 1, 0, or NaN where x is NaN, in one pass)."""
    if output is not None and not traced:
        return ast.BinOp(upstream, ast.Mult(), numpy_call("sign", name(output)))
    # heaviside(x, 0) is 1, 0 or NaN: one pass, the fastest up to _HEAVISIDE_SIZE numbers and the form a trace takes
    step = ast.BinOp(upstream, ast.Mult(), numpy_call("heaviside", x, ast.Constant(0.0)))
    if traced:
        return step
    # g * (x > 0) unless x's sum is NaN (a NaN in x, or +inf meeting -inf): then the kernel, which keeps NaN
    total = ast.NamedExpr(ast.Name("_sum", ast.Store()), numpy_call("add.reduce", x, ast.Constant(None)))
    masked = ast.BinOp(upstream, ast.Mult(), ast.Compare(x, [ast.Gt()], [ast.Constant(0)]))
    guarded = ast.IfExp(ast.Compare(total, [ast.Eq()], [name("_sum")]), masked,
                        call("_gate", upstream, x, ast.Constant(0)))
    # chosen by the call's size, not the learning samples': a program learnt on two samples runs every batch
    small = ast.Compare(ast.Attribute(x, "size", ast.Load()), [ast.LtE()], [ast.Constant(_HEAVISIDE_SIZE)])
    return ast.IfExp(small, step, guarded)


def _constant(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def rows_program(lines: list[Line], arguments: list[str], returns: ast.Tuple, namespace: dict[str, Any],
                 activations: dict[str, ast.FunctionDef], values: list[Any], batch_size: int,
                 traced: bool = False, stacked: bool = False) -> Callable | None:
    """The program for the rows layout of this batch's arrays, or None if a line has no rule (``traced``: for
    JAX and torch, without branches on the numbers; ``stacked``: with the steps that share a weight stacked)."""
    flat = flatten(lines)
    helpers = "\n\n\n".join(ast.unparse(d) for d in activations.values())
    recorded = record(flat, arguments, namespace, helpers, values)
    rewriter = RowsRewriter(recorded, batch_size, namespace, activations, traced)
    entry = [Line(a, _axis(name(a), 0)) for a in arguments if rewriter.layouts.get(a) == ROWS]
    body = []
    for line in flat:
        rewritten = rewriter.line(line)
        if rewritten is None:
            return None
        body.append(rewritten)
    outputs = _outputs(returns, rewriter.layouts)
    if outputs is None:
        return None
    kept = {k for k, layout in rewriter.layouts.items() if layout in (SHARED, COLUMNS)}
    body = whole_array_steps(body, outputs, kept, rewriter.values)
    if stacked:
        stacks = {k for k, v in rewriter.layouts.items() if v == ROWS}
        three_axes = {a for a in arguments if rewriter.layouts.get(a) == COLUMNS and np.ndim(rewriter.values[a]) == 3}
        body = bias_in_stacked_products(stacked_inputs(body, arguments, stacks), outputs, arguments)
        body = stacked_sums(body, outputs, stacks, three_axes)
    if stacked or traced:
        body = transposed_once(body, [a for a in arguments if rewriter.layouts.get(a) == SHARED])
    if not traced:
        body = sums_over_samples(body, {k for k, layout in rewriter.layouts.items() if layout == ROWS})
    trailing = {a: np.shape(rewriter.values[a])[1:2] for a in arguments if rewriter.layouts.get(a) == ROWS}
    function = compile_program("derivation_rows", arguments, entry, body, outputs, {"np": np, **namespace},
                               helpers, trailing)
    function.products = rewriter.products
    return function


def _outputs(returns: ast.Tuple, layouts: dict[str, str | None]) -> ast.Tuple | None:
    """The returned dictionaries, a rows value given back its column axis."""
    dictionaries = []
    for dictionary in returns.elts:
        values = []
        for value in dictionary.values:
            layout = layouts.get(value.id) if isinstance(value, ast.Name) else None
            if layout is None:
                return None
            if layout == ROWS:
                value = _axis(value, None)
            values.append(value)
        dictionaries.append(ast.Dict(list(dictionary.keys), values))
    return ast.Tuple(dictionaries, ast.Load())
