"""Indexing in an expression: ``X[0, :]``, ``X[:, 1:3]``, ``X[-1]``, ``x[0:2, :, 1]`` and nothing else.

The subscripted value must be a quantity's name and every index an integer
constant (a sign allowed) or a range of them; names, calls, attributes and
arithmetic inside the brackets are refused, so an index is known before
anything is evaluated.
"""

from __future__ import annotations

import ast

from ..errors import ExpressionError
from .numbers import signed_literal
from .source import Source

__all__ = ["index_constants", "index_key"]

_AN_INDEX = "an index must be an integer constant or a range of them, as in X[0, :] or X[:, 1:3]"


def index_constants(node: ast.Subscript, source: Source) -> list[ast.Constant]:
    """The integer literals of an approved subscript (for the number limits); raises on anything else."""
    if not isinstance(node.value, ast.Name):
        raise ExpressionError(
            f"only a quantity's name can be indexed ({source.snippet(node)} at {source.where(node)})"
        )
    parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if not parts:  # how many a quantity takes (two of a matrix, one per axis at most) its shape checks
        raise ExpressionError(
            f"an index needs at least one integer or range ({source.snippet(node)} at {source.where(node)})"
        )
    found: list[ast.Constant] = []
    for part in parts:
        bounds = [part.lower, part.upper, part.step] if isinstance(part, ast.Slice) else [part]
        for bound in bounds:
            if bound is not None:
                found.append(_integer_literal(bound, source))
    return found


def _integer_literal(node: ast.expr, source: Source) -> ast.Constant:
    literal = signed_literal(node)
    if literal is None or type(literal[1].value) is not int:
        raise ExpressionError(f"{_AN_INDEX} ({source.snippet(node)} at {source.where(node)})")
    return literal[1]


def index_key(node: ast.expr) -> object:
    """The Python key of an approved subscript's slice: integers and slices of integers."""
    if isinstance(node, ast.Tuple):
        return tuple(index_key(element) for element in node.elts)
    if isinstance(node, ast.Slice):
        return slice(*(None if bound is None else index_key(bound) for bound in (node.lower, node.upper, node.step)))
    sign, constant = signed_literal(node)
    return sign * constant.value
