"""A kernel's or an activation's call written as its one NumPy expression, and which expressions are element-wise.

The rows rewrite (:mod:`.rows`) puts a kernel's body in place of its call where the
body is a single ``return`` of NumPy over its parameters: the same numbers without
a Python frame per layer.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable

import numpy as np

from .lines import names_read

_ELEMENTWISE_NODES = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Name, ast.Constant, ast.Load, ast.operator,
                      ast.unaryop, ast.cmpop)


def _elementwise_syntax(body: ast.expr) -> bool:
    """True if ``body`` is arithmetic, comparisons and NumPy ufuncs of its names: element-wise on any layout."""
    for node in ast.walk(body):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "np" and isinstance(getattr(np, node.func.attr, None), np.ufunc)
                    and not node.keywords):
                return False
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            return False
        elif isinstance(node, ast.Attribute):
            if not (isinstance(node.value, ast.Name) and node.value.id == "np"):
                return False
        elif not isinstance(node, _ELEMENTWISE_NODES):
            return False
    return True


def _definition(function: Callable) -> ast.FunctionDef | None:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None
    definition = tree.body[0] if tree.body else None
    return definition if isinstance(definition, ast.FunctionDef) else None


def _single_return(definition: ast.FunctionDef) -> ast.expr | None:
    body = [s for s in definition.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
        return body[0].value
    return None


def _substituted(body: ast.expr, definition: ast.FunctionDef, arguments: list[ast.expr],
                 keywords: list[ast.keyword]) -> ast.expr | None:
    """``body`` with each parameter replaced by its argument (or its constant default)."""
    spec = definition.args
    if spec.vararg or spec.kwarg or spec.kwonlyargs or spec.posonlyargs or len(arguments) > len(spec.args):
        return None
    parameters = [a.arg for a in spec.args]
    bound = dict(zip(parameters, arguments))
    for keyword in keywords:
        if keyword.arg not in parameters or keyword.arg in bound:
            return None
        bound[keyword.arg] = keyword.value
    for parameter, default in zip(parameters[len(parameters) - len(spec.defaults):], spec.defaults):
        if parameter not in bound:
            if not isinstance(default, ast.Constant):
                return None
            bound[parameter] = default
    if set(bound) != set(parameters):
        return None

    class Substitute(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            return bound.get(node.id, node)

    return Substitute().visit(ast.parse(ast.unparse(body), mode="eval").body)


def inlined_call(node: ast.Call, activations: dict[str, ast.FunctionDef], namespace: dict[str, object],
                 elementwise_only: bool = False) -> ast.expr:
    """An activation's or a kernel's call as its one expression, when its body is one ``return``
    (``elementwise_only``: of a kernel whose expression is element-wise by its syntax alone); else the call."""
    function = node.func.id if isinstance(node.func, ast.Name) else None
    if function in activations and not elementwise_only:
        body = _single_return(activations[function])
        if body is not None and not node.keywords:
            inlined = _substituted(body, activations[function], node.args, [])
            if isinstance(inlined, ast.Call):
                return inlined_call(inlined, activations, namespace)
            return node if inlined is None else inlined
    obj = namespace.get(function) if function else None
    if inspect.isfunction(obj) and obj.__globals__.get("np") is np:
        definition = _definition(obj)
        body = _single_return(definition) if definition is not None else None
        if (body is not None and names_read(body) <= {a.arg for a in definition.args.args} | {"np"}
                and (not elementwise_only or _elementwise_syntax(body))):
            inlined = _substituted(body, definition, node.args, node.keywords)
            if inlined is not None:
                return inlined
    return node
