"""Two steps of the rows program written as fewer whole-array operations, from the values' recorded shapes.

Each rewrite reads a value that one line makes and one other line uses, and gives
the same numbers in one NumPy call fewer:

* a value broadcast to the shape of the element-wise operation that reads it (a row
  sum's gradient, ``g − _broadcast(s, rows, columns)``) is left to that operation's
  own broadcasting: no array of the full shape is made;
* a parameter's gradient summed over the samples of per-sample sums over a matrix
  axis (a bias's ``_batch_sum(_axis_sum(g, 0), N)``) is one reduction over both axes;
* on NumPy, a sum over the samples of an (N, k) value (``np.add.reduce(g, 0)[:, None]``) is one BLAS product
  by a vector of N ones made once per call: ``np.add.reduce`` along the first axis of a C-ordered matrix makes
  a pass per row (17 µs for 1,024 × 16, against 2 µs).
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from .emitter import name, numpy_call
from .lines import Line, readers


def whole_array_steps(body: list[Line], outputs: ast.Tuple, kept: set[str], values: dict[str, Any]) -> list[Line]:
    """``body`` with both rewrites made where they apply; ``kept``: the values whose lines keep the program's own
    expressions (shared by the samples, or a stack of matrices), ``values``: each value as recorded."""
    read_by = readers(body, outputs)
    once = {line.target: line.value for line in body if len(read_by.get(line.target, ())) == 1 and line.target in kept
            and isinstance(line.value, ast.Call) and isinstance(line.value.func, ast.Name)}
    dropped: set[str] = set()

    def source(node: ast.expr, function: str) -> ast.Call | None:
        """The call of ``function`` that made the value ``node`` names, if no other line reads it."""
        value = once.get(node.id) if isinstance(node, ast.Name) else None
        return value if value is not None and value.func.id == function else None

    def broadcast_left(node: ast.expr, other: ast.expr) -> ast.expr:
        made = source(node, "_broadcast")
        if made is None or len(made.args) != 3 or not isinstance(other, ast.Name) or other.id not in kept:
            return node
        if np.shape(values.get(other.id)) != np.shape(values[node.id]):  # the reader's shape is the broadcast's
            return node
        dropped.add(node.id)
        return made.args[0]

    def batch_sum(value: ast.Call) -> ast.expr:
        sums = source(value.args[0], "_axis_sum") if len(value.args) == 2 else None
        if sums is None or len(sums.args) != 2 or not isinstance(sums.args[0], ast.Name):
            return value
        axis = sums.args[1].value if isinstance(sums.args[1], ast.Constant) else None
        if axis not in (0, 1) or np.ndim(values.get(sums.args[0].id)) != 3:
            return value
        dropped.add(value.args[0].id)
        axes = ast.Tuple([ast.Constant(0), ast.Constant(1 if axis == 0 else 2)], ast.Load())
        total = numpy_call("add.reduce", sums.args[0], axes, keepdims=ast.Constant(True))
        return ast.Subscript(total, ast.Constant(0), ast.Load())  # (1, columns) or (rows, 1), as _batch_sum's

    result = []
    for line in body:
        value = line.value
        if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            value = ast.BinOp(broadcast_left(value.left, value.right), value.op,
                              broadcast_left(value.right, value.left))
        elif (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "_batch_sum"
              and line.target in kept and np.ndim(values.get(line.target)) == 2):
            value = batch_sum(value)
        result.append(Line(line.target, value, line.comment))
    return [line for line in result if line.target not in dropped]


def sums_over_samples(body: list[Line], rows: set[str]) -> list[Line]:
    """``body`` with each sum over the samples of a ``rows`` value (an (N, k) array, N the batch size) as a product
    by ``_ones``, the vector of N ones made on the first line."""
    result = []
    for line in body:
        value = line.value
        if (isinstance(value, ast.Subscript) and isinstance(value.value, ast.Call)
                and ast.unparse(value.value.func) == "np.add.reduce" and len(value.value.args) == 2
                and not value.value.keywords and ast.unparse(value.value.args[1]) == "0"
                and ast.unparse(value.slice) == "(:, None)" and isinstance(value.value.args[0], ast.Name)
                and value.value.args[0].id in rows):
            value = ast.Subscript(numpy_call("dot", name(_ONES), value.value.args[0]), value.slice, ast.Load())
        result.append(Line(line.target, value, line.comment))
    if all(a.value is b.value for a, b in zip(result, body)):
        return body
    return [Line(_ONES, numpy_call("ones", name("batch_size")), "the samples' sums as products"), *result]


_ONES = "_ones"
