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
    structure = _Structure()
    for line in lines:
        structure.index(line.value)
    counts: dict[int, int] = {}
    for line in lines:
        for node in ast.walk(line.value):  # a node object used twice counts twice
            key = structure.key_of[id(node)]
            if isinstance(node, _SHAREABLE) and structure.reads_names[key]:
                counts[key] = counts.get(key, 0) + 1
    repeated = {key for key, count in counts.items() if count > 1}
    if not repeated:
        return lines
    shared: dict[int, str] = {}
    result: list[Line] = []

    def rewrite(node: ast.expr) -> ast.expr:
        if isinstance(node, _SHAREABLE):
            key = structure.key_of[id(node)]
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


class _Structure:
    """One number per distinct subtree, children first, so that equal subtrees get equal numbers in linear time."""

    def __init__(self) -> None:
        self.numbers: dict[tuple, int] = {}
        self.key_of: dict[int, int] = {}  # id of a node of the lines (they outlive this pass) → its number
        self.reads_names: dict[int, bool] = {}  # number → whether the subtree reads a variable other than np

    def index(self, tree: ast.AST) -> None:
        pending: list[tuple[ast.AST, bool]] = [(tree, False)]
        while pending:
            node, children_done = pending.pop()
            if id(node) in self.key_of:
                continue
            children = [c for c in ast.iter_child_nodes(node) if id(c) not in self.key_of]
            if children and not children_done:
                pending.append((node, True))
                pending.extend((child, False) for child in children)
                continue
            self._number(node)

    def _number(self, node: ast.AST) -> None:
        signature: list = [type(node).__name__]
        reads = isinstance(node, ast.Name) and node.id != "np"
        for _, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, ast.AST):
                    key = self.key_of[id(item)]
                    signature.append(key)
                    reads = reads or self.reads_names[key]
                else:
                    signature.append(repr(item))
            signature.append("|")
        key = self.numbers.setdefault(tuple(signature), len(self.numbers))
        self.key_of[id(node)] = key
        self.reads_names[key] = reads


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


