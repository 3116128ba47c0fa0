"""What a program's names stand for, resolved once, and carried along for a standalone module."""

from __future__ import annotations

import ast
import builtins
import inspect
from collections.abc import Container
from typing import Any

import numpy as np

from ..errors import UnsupportedFunctionError
from ..kernels import KERNELS
from ..ops import NUMPY_KERNELS
from .lines import child_nodes, names_read


def resolve(source: str | ast.Module, namespace: dict[str, Any], bound: Container[str] = ()) -> dict[str, Any]:
    """The objects every free name of ``source`` (its text, or its tree) stands for: ours, then NumPy's
    (``bound`` names the variables the code will be run with, which need nothing).

    A name that neither provides is refused now, when the program is built,
    rather than as a NameError when it runs.  A tree's nodes without a source
    position are given one on the way (what ``compile`` needs), in the same pass.
    """
    tree = ast.parse(source) if isinstance(source, str) else source
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    bound_here, read = _names_placing(tree)
    available = {"np": np, **KERNELS, **NUMPY_KERNELS, **namespace}
    resolved: dict[str, Any] = {}
    for identifier in sorted(read - defined - bound_here):
        if identifier in bound:
            continue
        if identifier in available:
            resolved[identifier] = available[identifier]
        elif hasattr(np, identifier):
            resolved[identifier] = getattr(np, identifier)
        elif not hasattr(builtins, identifier):
            raise UnsupportedFunctionError(
                f"no NumPy implementation of {identifier!r}: the derivation cannot be evaluated numerically"
            )
    return resolved


def _names_placing(tree: ast.AST) -> tuple[set[str], set[str]]:
    """The names ``tree`` binds and reads, each node left with a source position (one pass: a program has
    a line per step of its derivation, and ``ast.fix_missing_locations`` would walk it again)."""
    bound: set[str] = set()
    read: set[str] = set()
    pending = [tree]
    while pending:
        node = pending.pop()
        if "lineno" in node._attributes and getattr(node, "lineno", None) is None:
            node.lineno = node.end_lineno = 1
            node.col_offset = node.end_col_offset = 0
        kind = type(node)
        if kind is ast.Name:
            (bound if isinstance(node.ctx, ast.Store) else read).add(node.id)
            continue
        if kind is ast.arguments:
            bound.update(a.arg for a in node.args)
        pending.extend(child_nodes(node))
    return bound, read


def standalone_module(source: str, resolved: dict[str, Any], docstring: str) -> str:
    """``source`` preceded by what it needs to run on its own: imports and our helpers' code."""
    imports = ["import numpy as np"]
    definitions: list[str] = []
    aliases: list[str] = []
    written: set[str] = {"np"}
    functions: set[str] = set()
    for identifier, obj in resolved.items():
        _carry(identifier, obj, imports, definitions, aliases, written, functions)
    parts = [f'"""{docstring}"""', "\n".join(dict.fromkeys(imports)), *definitions]
    if aliases:
        parts.append("\n".join(aliases))
    parts.append(source.rstrip())
    return "\n\n\n".join(parts) + "\n"


def _carry(identifier: str, obj: Any, imports: list[str], definitions: list[str], aliases: list[str],
           written: set[str], functions: set[str]) -> None:
    """Write what ``identifier`` needs: an import, our function's source (and what it reads), or an alias."""
    if identifier in written:
        return
    written.add(identifier)
    if inspect.ismodule(obj):
        imports.append(f"import {obj.__name__} as {identifier}" if obj.__name__ != identifier
                       else f"import {identifier}")
        return
    numpy_name = getattr(obj, "__name__", None)
    if numpy_name is not None and getattr(np, numpy_name, None) is obj:
        aliases.append(f"{identifier} = np.{numpy_name}")
        return
    if inspect.isfunction(obj) and obj.__module__.startswith("symbackprop") and obj.__name__ != "<lambda>":
        if obj.__name__ not in functions:
            functions.add(obj.__name__)
            for dependency, value in _globals_read(obj).items():
                _carry(dependency, value, imports, definitions, aliases, written, functions)
            definitions.append(inspect.getsource(obj).rstrip())
        if obj.__name__ != identifier:
            aliases.append(f"{identifier} = {obj.__name__}")
        return
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        aliases.append(f"{identifier} = {obj!r}")
        return
    module, qualified = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if module and qualified and "<" not in qualified:
        imports.append(f"from {module} import {qualified} as {identifier}")
        return
    raise UnsupportedFunctionError(f"cannot write {identifier!r} into a standalone module")


def _globals_read(function: Any) -> dict[str, Any]:
    tree = ast.parse(inspect.getsource(function).strip())
    local = {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs}
    local |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    found = {}
    for identifier in sorted(names_read(tree) - local):
        if identifier in function.__globals__ and identifier != function.__name__:
            found[identifier] = function.__globals__[identifier]
    return found
