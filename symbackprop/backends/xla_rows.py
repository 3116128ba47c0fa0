"""The rows program rewritten for XLA: the steps' states never joined only to be cut apart again.

XLA on the CPU runs each fused operation as a call of its own, a few microseconds each at an
RNN's sizes, and does not move a slice back through the element-wise operations before it.
The states joined as the columns of one array (``out = np.stack([h₁, …, h_T], axis=2)``),
read only by an element-wise loss gradient whose columns are then taken one by one, cost it
more than the hand code: the join writes every number with a stride of T, and each step reads
it back so.  Each column is the same element-wise expression of that step's state and that
column of the other operands, so the join is never made (the same numbers: element-wise
operations commute with the slice).

Whether the steps are stacked at all is the rows program's choice (``codegen.stacked``): for JAX up to
``TRANSPOSED_BATCH`` samples, where XLA pays a call per step's product; beyond, the copies that stack the
steps cost more than the products they merge, and the steps stay apart as a hand-written loop keeps them.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from ..codegen.compiled import record, with_deletions
from ..codegen.inlining import _definition, _elementwise_syntax, _single_return
from ..codegen.lines import Line, function_source, live, names_read

#: Up to this batch JAX runs the steps stacked (their inputs by one transpose); beyond it no step is stacked
#: (measured on an RNN of 32 units: stacked, 0.95× the hand code at 32 samples and 1.15× at 64; apart, 1.24× and
#: 1.00×).
TRANSPOSED_BATCH = 32

_ELEMENTWISE_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def for_xla(source: str, helpers: str, namespace: dict[str, Any], arguments: list[Any]) -> str:
    """``source`` (a rows program's text) rewritten as above; ``arguments`` are the program's NumPy arrays of a
    few samples."""
    definition = ast.parse(source).body[0]
    statements = definition.body if isinstance(definition, ast.FunctionDef) else []
    if not (statements and isinstance(statements[-1], ast.Return)
            and all(isinstance(s, ast.Delete) or isinstance(s, ast.Assign) and len(s.targets) == 1
                    and isinstance(s.targets[0], ast.Name) for s in statements[:-1])
            and ("np.stack(" in source or "np.concatenate(" in source)):
        return source  # a form of program these rewrites do not read, or nothing for them to rewrite
    parameters = [a.arg for a in definition.args.args]
    comments = {}
    for text in source.splitlines():
        target, _, rest = text.strip().partition(" = ")
        if "  # " in rest:
            comments[target] = rest.rpartition("  # ")[2]
    lines = [Line(s.targets[0].id, s.value, comments.get(s.targets[0].id, "")) for s in statements
             if isinstance(s, ast.Assign)]
    returns = statements[-1].value
    with np.errstate(all="ignore"):
        shapes = {k: np.shape(v) for k, v in record(lines, parameters, namespace, helpers, arguments).items()}
    elementwise = _ElementwiseCalls(namespace, helpers)
    rewritten = _columns_unjoined(lines, returns, shapes, elementwise)
    if rewritten is lines:
        return source
    rewritten = live(rewritten, names_read(returns))
    return with_deletions(function_source(definition.name, parameters, rewritten, returns), rewritten, returns)


class _ElementwiseCalls:
    """Which functions a program calls compute element by element: NumPy's ufuncs, and kernels and activations
    whose body is one element-wise expression of their parameters."""

    def __init__(self, namespace: dict[str, Any], helpers: str) -> None:
        self._namespace = namespace
        self._helpers = {d.name: d for d in ast.parse(helpers).body if isinstance(d, ast.FunctionDef)}

    def __call__(self, function: ast.expr) -> bool:
        if isinstance(function, ast.Attribute):
            return (isinstance(function.value, ast.Name) and function.value.id == "np"
                    and isinstance(getattr(np, function.attr, None), np.ufunc))
        if not isinstance(function, ast.Name):
            return False
        definition = self._helpers.get(function.id)
        if definition is None:
            obj = self._namespace.get(function.id)
            if isinstance(obj, np.ufunc):
                return True
            definition = _definition(obj) if callable(obj) else None
        body = _single_return(definition) if definition is not None else None
        return (body is not None and _elementwise_syntax(body)
                and names_read(body) <= {a.arg for a in definition.args.args} | {"np"})


def _columns_unjoined(lines: list[Line], returns: ast.expr, shapes: dict[str, tuple],
                      elementwise: _ElementwiseCalls) -> list[Line]:
    """Each column taken from an element-wise expression of states joined as columns, computed from that step's
    state and the same column of the expression's other operands; the join and the expression dropped."""
    readers: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        for read in names_read(line.value):
            readers.setdefault(read, []).append(index)
    returned = names_read(returns)
    for line in lines:
        parts = _joined_columns(line.value)
        if parts is None or line.target in returned or len(shapes.get(line.target, ())) != 3:
            continue
        chain = _chain(line.target, lines, readers, returned, shapes, elementwise)
        if chain is not None:
            unjoined = _unjoined(lines, line.target, parts, *chain, shapes)
            return _columns_unjoined(unjoined, returns, shapes, elementwise)
    return lines


def _unjoined(lines: list[Line], joined: str, parts: list[str], within: set[str], columns: set[int],
              shapes: dict[str, tuple]) -> list[Line]:
    """The lines with ``columns``' readings of whole columns of ``joined`` or of a value ``within`` its chain
    written from each step's state, the chain's lines dropped."""
    defined = {line.target: line.value for line in lines}
    shape = shapes[joined]

    def column(node: ast.expr, c: int) -> ast.expr:
        if isinstance(node, ast.Name):
            if node.id == joined:
                return ast.Name(parts[c], ast.Load())
            if node.id in within:
                return column(defined[node.id], c)
            if shapes.get(node.id) == shape:  # another operand of the same shape: its own column
                return _column_of(node, shape[1], c)
            return node
        if isinstance(node, ast.BinOp):
            return ast.BinOp(column(node.left, c), node.op, column(node.right, c))
        if isinstance(node, ast.UnaryOp):
            return ast.UnaryOp(node.op, column(node.operand, c))
        if isinstance(node, ast.Call):
            return ast.Call(node.func, [column(a, c) for a in node.args], [])
        return node

    chained = within | {joined}

    class Columns(ast.NodeTransformer):
        def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
            if isinstance(node.value, ast.Name) and node.value.id in chained:
                c = _whole_column(node, node.value.id, shape)
                if c is not None:
                    return column(node.value, c)
            return self.generic_visit(node)

    replaced = {lines[i].target: Columns().visit(_copy(lines[i].value)) for i in columns}
    return [Line(line.target, replaced.get(line.target, line.value), line.comment) for line in lines
            if line.target not in chained]


def _joined_columns(node: ast.expr) -> list[str] | None:
    """The names ``np.stack([a, b, …], axis=2)`` joins as columns, else None."""
    if (isinstance(node, ast.Call) and ast.unparse(node.func) == "np.stack" and len(node.args) == 1
            and isinstance(node.args[0], ast.List) and all(isinstance(e, ast.Name) for e in node.args[0].elts)
            and [(k.arg, _constant(k.value)) for k in node.keywords] == [("axis", 2)]):
        return [e.id for e in node.args[0].elts]
    return None


def _chain(joined: str, lines: list[Line], readers: dict[str, list[int]], returned: set[str],
           shapes: dict[str, tuple], elementwise: _ElementwiseCalls) -> tuple[set[str], set[int]] | None:
    """The element-wise values computed from ``joined``, and the lines that read only whole columns of them (by
    index); None unless every reader of each is one or the other."""
    shape = shapes[joined]
    within: set[str] = set()
    columns: set[int] = set()
    pending = [joined]
    while pending:
        value = pending.pop()
        if value in returned:
            return None
        for index in readers.get(value, []):
            line = lines[index]
            if _columns_only(line.value, value, shape):
                columns.add(index)
            elif (line.target not in within and shapes.get(line.target) == shape
                  and _elementwise(line.value, shape, shapes, elementwise)):
                within.add(line.target)
                pending.append(line.target)
            elif line.target not in within:
                return None
    columns -= {i for i, line in enumerate(lines) if line.target in within}
    return (within, columns) if columns else None


def _columns_only(node: ast.expr, value: str, shape: tuple) -> bool:
    """True if ``node`` reads ``value`` only as whole columns, ``value[..., 0:rows, c]``."""
    if _whole_column(node, value, shape) is not None:
        return True
    if isinstance(node, ast.Name):
        return node.id != value
    return all(_columns_only(child, value, shape) for child in ast.iter_child_nodes(node)
               if isinstance(child, ast.expr))


def _elementwise(node: ast.expr, shape: tuple, shapes: dict[str, tuple], elementwise: _ElementwiseCalls) -> bool:
    """True if ``node`` is element-wise over operands of ``shape`` or single numbers (of at most two axes, so
    that a column's value keeps its own shape)."""
    if isinstance(node, ast.Name):
        operand = shapes.get(node.id)
        return operand == shape or (operand is not None and len(operand) <= 2 and int(np.prod(operand)) == 1)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float))
    if isinstance(node, ast.BinOp):
        return (isinstance(node.op, _ELEMENTWISE_OPERATORS) and _elementwise(node.left, shape, shapes, elementwise)
                and _elementwise(node.right, shape, shapes, elementwise))
    if isinstance(node, ast.UnaryOp):
        return _elementwise(node.operand, shape, shapes, elementwise)
    if isinstance(node, ast.Call):
        return (not node.keywords and elementwise(node.func)
                and all(_elementwise(a, shape, shapes, elementwise) for a in node.args))
    return False


def _whole_column(node: ast.expr, value: str, shape: tuple) -> int | None:
    """c if ``node`` is ``value[..., 0:rows, c]``, the whole of its column c."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == value
            and isinstance(node.slice, ast.Tuple) and len(node.slice.elts) == 3):
        return None
    ellipsis, rows, c = node.slice.elts
    if (_constant(ellipsis) is Ellipsis and isinstance(rows, ast.Slice) and rows.step is None
            and _constant(rows.lower) == 0 and _constant(rows.upper) == shape[1] and isinstance(_constant(c), int)
            and 0 <= _constant(c) < shape[2]):
        return _constant(c)
    return None


def _column_of(node: ast.Name, rows: int, c: int) -> ast.expr:
    index = ast.Tuple([ast.Constant(Ellipsis), ast.Slice(ast.Constant(0), ast.Constant(rows)), ast.Constant(c)],
                      ast.Load())
    return ast.Subscript(node, index, ast.Load())


def _copy(node: ast.expr) -> ast.expr:
    return ast.parse(ast.unparse(node), mode="eval").body


def _constant(node: ast.expr | None) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value
    return None
