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


def readers(lines: list[Line], returns: ast.AST) -> dict[str, list[Line | None]]:
    """Each name and the lines that read it, in order (None for the returned value): how often it is read, and
    by what."""
    found: dict[str, list[Line | None]] = {}
    for line in lines:
        for read in names_read(line.value):
            found.setdefault(read, []).append(line)
    for read in names_read(returns):
        found.setdefault(read, []).append(None)
    return found


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
    counts: dict[int, int] = {}
    for line in lines:
        structure.index(line.value, counts)
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
    """One number per distinct subtree, children first, so that equal subtrees get equal numbers in linear time.

    The forms our programs are made of are taken apart by hand: ``ast.iter_fields`` and
    ``ast.iter_child_nodes`` are generators, and this pass sees every node of a program with a line
    per step of its derivation.
    """

    def __init__(self) -> None:
        self.numbers: dict[tuple, int] = {}
        self.key_of: dict[int, int] = {}  # id of a node of the lines (they outlive this pass) → its number
        self.reads_names: dict[int, bool] = {}  # number → whether the subtree reads a variable other than np

    def index(self, tree: ast.AST, counts: dict[int, int]) -> None:
        """Number ``tree``'s subtrees and count, in ``counts``, each shareable one that reads a variable
        (a node object used twice counts twice, as it is computed twice)."""
        key_of, reads_names = self.key_of, self.reads_names
        pending: list[tuple[ast.AST, bool]] = [(tree, False)]
        while pending:
            node, children_done = pending.pop()
            known = key_of.get(id(node))
            if known is None and not children_done:
                children = child_nodes(node)
                if children:
                    pending.append((node, True))
                    pending.extend((child, False) for child in children)
                    continue
            if known is None:
                known = self._number(node)
            elif not children_done:
                self._count_again(node, counts)
                continue
            if isinstance(node, _SHAREABLE) and reads_names[known]:
                counts[known] = counts.get(known, 0) + 1

    def _count_again(self, tree: ast.AST, counts: dict[int, int]) -> None:
        """Count the subtrees of a node object met once more (numbered already)."""
        pending = [tree]
        while pending:
            node = pending.pop()
            key = self.key_of[id(node)]
            if isinstance(node, _SHAREABLE) and self.reads_names[key]:
                counts[key] = counts.get(key, 0) + 1
            pending.extend(child_nodes(node))

    def _number(self, node: ast.AST) -> int:
        key_of = self.key_of
        kind = type(node)
        if kind is ast.Name:
            signature: tuple = ("Name", node.id)
            reads = node.id != "np"
        elif kind is ast.Constant:
            signature, reads = ("Constant", type(node.value), repr(node.value)), False
        else:
            children = child_nodes(node)
            keys = tuple(key_of[id(child)] for child in children)
            signature = (kind, _attributes(node), keys)
            reads = any(self.reads_names[key] for key in keys)
        key = self.numbers.setdefault(signature, len(self.numbers))
        key_of[id(node)] = key
        self.reads_names[key] = reads
        return key


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """The subtrees of ``node`` in field order (operators, which are singletons, are read as attributes)."""
    kind = type(node)
    if kind is ast.BinOp:
        return [node.left, node.right]
    if kind is ast.Call:
        return [node.func, *node.args, *node.keywords]
    if kind is ast.Name or kind is ast.Constant:
        return []
    if kind is ast.Attribute:
        return [node.value]
    if kind is ast.UnaryOp:
        return [node.operand]
    if kind is ast.keyword:
        return [node.value]
    if kind is ast.Subscript:
        return [node.value, node.slice]
    if kind is ast.Tuple or kind is ast.List:
        return list(node.elts)
    if kind is ast.Assign:
        return [*node.targets, node.value]
    if kind is ast.Slice:
        return [part for part in (node.lower, node.upper, node.step) if part is not None]
    return [child for child in ast.iter_child_nodes(node) if not isinstance(child, _OPERATORS)]


_OPERATORS = (ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.expr_context)


def _attributes(node: ast.AST) -> tuple:
    """What tells ``node`` apart from another of its type with the same subtrees (in order)."""
    kind = type(node)
    if kind is ast.BinOp or kind is ast.UnaryOp:
        return (type(node.op),)
    if kind is ast.Attribute:
        return (node.attr,)
    if kind is ast.keyword:
        return (node.arg,)
    if kind is ast.Call or kind is ast.Subscript or kind is ast.Tuple or kind is ast.List:
        return ()  # a call's keywords are subtrees of their own type, so its arguments cannot be mistaken for them
    # Any other form: each field's kind, so that a missing part (a[:n] against a[n:]) or a list's length shows.
    return tuple(
        len(value) if isinstance(value, list)
        else "-" if value is None
        else type(value) if isinstance(value, _OPERATORS)
        else "+" if isinstance(value, ast.AST)
        else repr(value)
        for _, value in ast.iter_fields(node)
    )


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


