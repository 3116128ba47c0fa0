"""A parameter's gradient summed over the steps that share it, as one product of the steps stacked.

A weight that several steps share (an RNN's W at every time step) gets, in the rows
program, one product per step, ``g_zₜᵀ @ hₜ₋₁``, and a fan-out sum of them.  The same
number is one product of the steps' rows stacked: Σₜ aₜᵀ bₜ = [a₁; …; a_T]ᵀ [b₁; …; b_T],
and a bias's Σₜ Σₙ aₜ is one sum over the stacked rows.  An eager array library pays per
operation, so T products and T − 1 additions become two stackings and one product
(the stacking of the aₜ shared by every parameter that reads the same steps).
"""

from __future__ import annotations

import ast

from .emitter import name
from .lines import Line, names_read


def _terms(node: ast.expr, defined: dict[str, ast.expr], reads: dict[str, int], within: list[str]) -> list[str]:
    """The names a fan-out sum adds, through the partial sums (each read once) it was cut into; the partial
    sums' own names join ``within``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _terms(node.left, defined, reads, within) + _terms(node.right, defined, reads, within)
    if isinstance(node, ast.Name):
        value = defined.get(node.id)
        if reads.get(node.id) == 1 and isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
            within.append(node.id)
            return _terms(value, defined, reads, within)
        return [node.id]
    return ["?"]  # not a name: no fan-out sum of products


def _product(node: ast.expr, stacks: set[str]) -> tuple[str, tuple[str, ...]] | None:
    """``a.T @ b`` of two rows values as ("product", (a, b)); ``np.add.reduce(a, 0)[:, None]`` as ("sum", (a,))."""
    def rows(node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in stacks

    if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult) and isinstance(node.left, ast.Attribute)
            and node.left.attr == "T" and rows(node.left.value) and rows(node.right)):
        return "product", (node.left.value.id, node.right.id)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call):
        call = node.value
        if (ast.unparse(call.func) == "np.add.reduce" and len(call.args) == 2 and rows(call.args[0])
                and ast.unparse(call.args[1]) == "0" and ast.unparse(node.slice) == "(:, None)"):
            return "sum", (call.args[0].id,)
    return None


def _stacking(names: list[str]) -> ast.expr:
    return ast.Call(ast.Attribute(name("np"), "concatenate", ast.Load()),
                    [ast.List([name(n) for n in names], ast.Load()), ast.Constant(0)], [])


def stacked_sums(body: list[Line], returns: ast.expr, stacks: set[str]) -> list[Line]:
    """``body`` with each fan-out sum of per-step products (or bias sums) of the ``stacks`` (the values with
    samples as rows) as one product of the steps stacked."""
    defined = {line.target: line.value for line in body}
    reads: dict[str, int] = {}
    for value in [*(line.value for line in body), returns]:
        for read in names_read(value):
            reads[read] = reads.get(read, 0) + 1
    replaced: dict[str, ast.expr] = {}
    dropped: set[str] = set()
    for line in reversed(body):  # the whole sum first, not the partial sums it was cut into
        if line.target in dropped or not (isinstance(line.value, ast.BinOp) and isinstance(line.value.op, ast.Add)):
            continue
        partial_sums: list[str] = []
        terms = _terms(line.value, defined, reads, partial_sums)
        if len(terms) < 2 or any(reads.get(t) != 1 or t not in defined for t in terms):
            continue
        products = [_product(defined[t], stacks) for t in terms]
        if any(p is None for p in products) or len({p[0] for p in products}) != 1:
            continue
        columns = list(zip(*(p[1] for p in products)))
        if products[0][0] == "product":
            left = ast.Attribute(_stacking(list(columns[0])), "T", ast.Load())
            replaced[line.target] = ast.BinOp(left, ast.MatMult(), _stacking(list(columns[1])))
        else:
            total = ast.Call(ast.Attribute(ast.Attribute(name("np"), "add", ast.Load()), "reduce", ast.Load()),
                             [_stacking(list(columns[0])), ast.Constant(0)], [])
            replaced[line.target] = ast.Subscript(total, ast.Tuple([ast.Slice(), ast.Constant(None)], ast.Load()),
                                                  ast.Load())
        dropped.update(terms, partial_sums)
    if not replaced:
        return body
    return _shared_stackings([Line(line.target, replaced.get(line.target, line.value), line.comment)
                              for line in body if line.target not in dropped])


def _shared_stackings(body: list[Line]) -> list[Line]:
    """Each stacking of the same steps made once, on a line of its own before its first reader."""
    made: dict[str, str] = {}
    result: list[Line] = []

    class Shared(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.expr:
            if ast.unparse(node.func) != "np.concatenate":
                return self.generic_visit(node)
            key = ast.unparse(node)
            if key not in made:
                made[key] = f"_stacked{len(made)}"
                result.append(Line(made[key], node, "the steps stacked"))
            return name(made[key])

    for line in body:
        value = Shared().visit(line.value)
        result.append(Line(line.target, value, line.comment))
    return result
