"""The rows program rewritten for XLA: the steps' states never joined only to be cut apart again.

XLA on the CPU runs each fused operation as a call of its own, a few microseconds each at an
RNN's sizes, and does not move a slice back through the element-wise operations before it.
Three forms of the rows program cost it more than the hand code's:

- The states joined as the columns of one array (``out = np.stack([h₁, …, h_T], axis=2)``),
  read only by an element-wise loss gradient whose columns are then taken one by one: the
  join writes every number with a stride of T, and each step reads it back so.  Each column
  is the same element-wise expression of that step's state and that column of the other
  operands, so the join is never made (the same numbers: element-wise operations commute
  with the slice).
- For a small batch, the inputs of every step stacked as rows
  (``np.concatenate([X[..., 0], …, X[..., T-1]], 0)``): T slices and a join, T + 1 calls
  where one transpose does.
- For a larger batch, any stacking of the steps: the copies cost more than the products
  they merge, so each step's product is its own again (U xₜ per step, Σₜ aₜᵀ bₜ added up
  step by step), as a hand-written loop over the steps computes it.  XLA then compiles the
  same operations as for the textbook hand code, in the same order.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from ..codegen.compiled import record, with_deletions
from ..codegen.inlining import _definition, _elementwise_syntax, _single_return
from ..codegen.lines import Line, function_source, live, names_read

#: Up to this batch the steps' inputs are stacked by one transpose; beyond it no step is stacked (measured on
#: an RNN of 32 units: stacked, 0.95× the hand code at 32 samples and 1.15× at 64; apart, 1.24× and 1.00×).
TRANSPOSED_BATCH = 32

_ELEMENTWISE_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def for_xla(source: str, helpers: str, namespace: dict[str, Any], arguments: list[Any], batch_size: int) -> str:
    """``source`` (a rows program's text) rewritten as above; ``arguments`` are the program's NumPy arrays of a
    few samples, ``batch_size`` the call's, which chooses between stacking the steps and keeping them apart."""
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
    if batch_size <= TRANSPOSED_BATCH:
        rewritten = _inputs_transposed(rewritten, shapes)
    else:
        rewritten = _steps_apart(rewritten)
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


def _inputs_transposed(lines: list[Line], shapes: dict[str, tuple]) -> list[Line]:
    """``np.concatenate([X[..., a:b, c], X[..., a:b, c+1], …], 0)`` as one transpose of ``X[..., a:b, c:c+T]``."""
    defined = {line.target: line.value for line in lines}
    result, changed = [], False
    for line in lines:
        value = line.value
        if (isinstance(value, ast.Call) and ast.unparse(value.func) == "np.concatenate" and len(value.args) == 2
                and _constant(value.args[1]) == 0 and not value.keywords and isinstance(value.args[0], ast.List)):
            columns = [_column_slice(defined.get(e.id) if isinstance(e, ast.Name) else None, shapes)
                       for e in value.args[0].elts]
            if len(columns) > 1 and None not in columns and len({c[:3] for c in columns}) == 1 and \
                    [c[3] for c in columns] == list(range(columns[0][3], columns[0][3] + len(columns))):
                source, lower, upper, first = columns[0]
                block = ast.parse(f"np.transpose({source}[..., {lower}:{upper}, {first}:{first + len(columns)}], "
                                  f"(2, 0, 1)).reshape(-1, {upper - lower})", mode="eval").body
                line, changed = Line(line.target, block, line.comment), True
        result.append(line)
    return result if changed else lines


def _steps_apart(lines: list[Line]) -> list[Line]:
    """The products and sums of the steps stacked as rows written back as each step's own: a larger batch's
    per-step products cost XLA less than the copies that stack them.  A sum over the steps is added up as its
    terms become known, each step's product made while its factors are still in cache, as a hand-written loop
    accumulates a weight's gradient."""
    defined = {line.target: line.value for line in lines}
    position = {line.target: i for i, line in enumerate(lines)}

    def steps(node: ast.expr) -> list[str] | None:
        value = defined.get(node.id) if isinstance(node, ast.Name) else None
        if (isinstance(value, ast.Call) and ast.unparse(value.func) == "np.concatenate" and len(value.args) == 2
                and _constant(value.args[1]) == 0 and isinstance(value.args[0], ast.List)
                and all(isinstance(e, ast.Name) for e in value.args[0].elts)):
            return [e.id for e in value.args[0].elts]
        return None

    later: dict[int, list[Line]] = {}  # after the line of this index (-1: first of all), the sums' lines

    def accumulated(line: Line, terms: list[tuple[str, list[str]]], index: ast.expr | None = None) -> None:
        """``line``'s sum of ``terms`` (each an expression and the names it reads), each added once those names
        are known; ``index`` (a bias's ``[:, None]``) taken of the total."""
        terms = sorted(terms, key=lambda term: max(position.get(n, -1) for n in term[1]))
        total = ""
        for k, (term, reads) in enumerate(terms):
            target = f"_{line.target}_{k}" if k < len(terms) - 1 or index is not None else line.target
            value = f"{total} + {term}" if total else term
            at = max(position.get(n, -1) for n in reads)
            later.setdefault(at, []).append(Line(target, ast.parse(value, mode="eval").body,
                                                 line.comment if target == line.target else ""))
            total = target
        if index is not None:
            later[at].append(Line(line.target, ast.Subscript(ast.Name(total, ast.Load()), index, ast.Load()),
                                  line.comment))

    result: list[Line] = []
    for line in lines:
        value = line.value
        if (isinstance(value, ast.BinOp) and isinstance(value.op, ast.MatMult) and isinstance(value.left, ast.Attribute)
                and value.left.attr == "T" and steps(value.left.value) and steps(value.right)
                and len(steps(value.left.value)) == len(steps(value.right))):
            accumulated(line, [(f"{a}.T @ {b}", [a, b]) for a, b in zip(steps(value.left.value), steps(value.right))])
            continue
        if (isinstance(value, ast.Subscript) and isinstance(value.value, ast.Call)
                and ast.unparse(value.value.func) == "np.add.reduce" and len(value.value.args) == 2
                and steps(value.value.args[0]) and _constant(value.value.args[1]) == 0):
            accumulated(line, [(f"np.add.reduce({a}, 0)", [a]) for a in steps(value.value.args[0])], value.slice)
            continue
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            product, k = defined.get(value.value.id), _step(value.slice)
            if (k is not None and isinstance(product, ast.BinOp) and isinstance(product.op, ast.MatMult)
                    and steps(product.left) and k < len(steps(product.left))):
                line = Line(line.target, ast.BinOp(ast.Name(steps(product.left)[k], ast.Load()), ast.MatMult(),
                                                   _copy(product.right)), line.comment)
        result.append(line)
    if not later and result == lines:
        return lines
    placed = list(later.get(-1, []))
    for index, line in enumerate(lines):
        kept = [k for k in result if k.target == line.target]
        placed += kept + later.get(index, [])
    return placed


def _step(node: ast.expr) -> int | None:
    """k for the slice ``k * batch_size:(k + 1) * batch_size``."""
    def times(bound: ast.expr | None) -> int | None:
        if (isinstance(bound, ast.BinOp) and isinstance(bound.op, ast.Mult) and isinstance(bound.right, ast.Name)
                and bound.right.id == "batch_size" and isinstance(_constant(bound.left), int)):
            return _constant(bound.left)
        return None

    if not (isinstance(node, ast.Slice) and node.step is None):
        return None
    lower, upper = times(node.lower), times(node.upper)
    return lower if lower is not None and upper == lower + 1 else None


def _column_slice(node: ast.expr | None, shapes: dict[str, tuple]) -> tuple[str, int, int, int] | None:
    """(X, a, b, c) for ``X[..., a:b, c]`` of a three-axis X."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and len(shapes.get(node.value.id, ())) == 3 and isinstance(node.slice, ast.Tuple)
            and len(node.slice.elts) == 3):
        return None
    ellipsis, rows, c = node.slice.elts
    if not (_constant(ellipsis) is Ellipsis and isinstance(rows, ast.Slice) and rows.step is None):
        return None
    lower, upper, column = _constant(rows.lower), _constant(rows.upper), _constant(c)
    if not all(isinstance(k, int) for k in (lower, upper, column)):
        return None
    return node.value.id, lower, upper, column


def _copy(node: ast.expr) -> ast.expr:
    return ast.parse(ast.unparse(node), mode="eval").body


def _constant(node: ast.expr | None) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value
    return None
