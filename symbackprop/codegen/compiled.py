"""A generated program compiled with each intermediate freed after its last use, and a run that keeps every value.

A fast program (the rows rewrite, the grouped scalar level) starts with lines that
bring the arrays of the general program's layout to its own; ``direct`` is the same
program without them, for a caller that hands over arrays already in that layout.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import numpy as np

from .emitter import name
from .lines import Line, function_source, names_read


def compile_program(function: str, arguments: list[str], entry: list[Line], body: list[Line], returns: ast.expr,
                    scope: dict[str, Any], helpers: str, direct_shapes: dict[str, tuple[int, ...]]) -> Callable:
    """The program as a function of the general layout's arrays; ``.direct`` takes ``direct_shapes``'
    arguments as (N, *shape) arrays instead; ``.source`` is its text, ``.helpers`` the text of the functions
    it calls and ``.namespace`` the objects it reads, from which it is a module of its own elsewhere or runs
    on another array library."""
    namespace = dict(scope)  # before the program's own definitions join it
    made = {}
    for suffix, lines in (("", entry + body), ("_direct", body)):
        source = with_deletions(function_source(function + suffix, arguments, lines, returns), lines, returns)
        exec(compile(source + "\n\n" + helpers, f"<symbackprop generated, {function}>", "exec"), scope)  # our trees
        made[suffix] = scope[function + suffix]
        made[suffix].source, made[suffix].helpers, made[suffix].namespace = source, helpers, namespace
    made[""].direct, made[""].direct_shapes = made["_direct"], direct_shapes
    return made[""]


def record(flat: list[Line], arguments: list[str], namespace: dict[str, Any], helpers: str,
           values: list[Any]) -> dict[str, Any]:
    """Every variable's value on these arrays: the program run once, its locals kept."""
    source = function_source("record", arguments, flat, ast.Call(name("locals"), [], []))
    scope = {"np": np, **namespace}
    exec(compile(source + "\n\n" + helpers, "<symbackprop generated, recorded>", "exec"), scope)
    with np.errstate(all="ignore"):
        recorded = scope["record"](*values)
    return dict(recorded)


def with_deletions(source: str, lines: list[Line], returns: ast.expr) -> str:
    """Each intermediate deleted after its last use, as a hand-written loop rebinding its variables frees them:
    the batch's arrays then reuse the memory just freed instead of growing (and trimming) the heap on every call."""
    kept = names_read(returns)
    last: dict[str, int] = {}
    for index, line in enumerate(lines):
        for read in names_read(line.value):
            last[read] = index
    assigned = {line.target for line in lines}
    after: dict[int, list[str]] = {}
    for variable, index in last.items():
        if variable in assigned and variable not in kept:
            after.setdefault(index, []).append(variable)
    text = source.splitlines()
    body, tail = text[1:1 + len(lines)], text[1 + len(lines):]
    result = [text[0]]
    for index, statement in enumerate(body):
        result.append(statement)
        if index in after:
            result.append("    del " + ", ".join(sorted(after[index])))
    return "\n".join(result + tail) + "\n"
