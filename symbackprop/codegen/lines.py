"""The program's lines: one assignment each, shared subexpressions, pruning, printing."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from .emitter import function_definition, name


@dataclass
class Line:
    target: str
    value: ast.expr
    comment: str = ""


def names_read(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def live(lines: list[Line], wanted: set[str]) -> list[Line]:
    """Only the lines the wanted variables depend on (a gradient function skips ∂L/∂x and the like)."""
    needed = set(wanted)
    kept = []
    for line in reversed(lines):
        if line.target in needed:
            kept.append(line)
            needed |= names_read(line.value)
    return kept[::-1]


_SHAREABLE = (ast.Call, ast.BinOp, ast.UnaryOp)


def share_subexpressions(lines: list[Line]) -> list[Line]:
    """Compute every structurally repeated subexpression once, the largest first.

    Each line assigns a new variable (the program is single-assignment), so a
    shared value placed just before its first use reads only what is defined.
    """
    counts: dict[str, int] = {}
    for line in lines:
        for node in ast.walk(line.value):
            if isinstance(node, _SHAREABLE) and not _is_constant(node):
                key = ast.dump(node)
                counts[key] = counts.get(key, 0) + 1
    repeated = {key for key, count in counts.items() if count > 1}
    if not repeated:
        return lines
    shared: dict[str, str] = {}
    result: list[Line] = []

    def rewrite(node: ast.expr) -> ast.expr:
        if isinstance(node, _SHAREABLE):
            key = ast.dump(node)
            if key in repeated:
                if key not in shared:
                    inner = _rewrite_children(node, rewrite)
                    shared[key] = f"_c{len(shared)}"
                    result.append(Line(shared[key], inner, "shared"))
                return name(shared[key])
        return _rewrite_children(node, rewrite)

    for line in lines:
        value = rewrite(line.value)
        result.append(Line(line.target, value, line.comment))
    return result


def _is_constant(node: ast.AST) -> bool:
    return all(not isinstance(n, ast.Name) or n.id == "np" for n in ast.walk(node))


def _rewrite_children(node: ast.expr, rewrite: Callable[[ast.expr], ast.expr]) -> ast.expr:
    if isinstance(node, ast.Call):
        return ast.Call(node.func, [rewrite(a) for a in node.args],
                        [ast.keyword(k.arg, rewrite(k.value)) for k in node.keywords])
    if isinstance(node, ast.BinOp):
        return ast.BinOp(rewrite(node.left), node.op, rewrite(node.right))
    if isinstance(node, ast.UnaryOp):
        return ast.UnaryOp(node.op, rewrite(node.operand))
    if isinstance(node, (ast.List, ast.Tuple)):
        return type(node)([rewrite(e) for e in node.elts], ast.Load())
    if isinstance(node, ast.Subscript):
        return ast.Subscript(rewrite(node.value), node.slice, ast.Load())
    return node  # names and constants; other forms hold no shareable calls in our programs


def function_source(function: str, arguments: list[str], lines: list[Line], returns: ast.expr) -> str:
    """``def function(arguments): ...`` with one commented assignment per line."""
    header = ast.unparse(function_definition(function, arguments, [ast.Pass()])).splitlines()[0]
    body = []
    for line in lines:
        statement = ast.unparse(ast.Assign([ast.Name(line.target, ast.Store())], line.value, lineno=0))
        body.append(f"    {statement}" + (f"  # {line.comment}" if line.comment else ""))
    body.append(f"    return {ast.unparse(returns)}")
    return "\n".join([header, *body]) + "\n"


