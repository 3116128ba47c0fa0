"""Python source from expression trees: every line is built as an ``ast`` tree, then unparsed.

Building the syntax tree, not text, is what keeps precedence right: ``x ** (1/2)``
and ``(s + 1) * x`` come out parenthesised because ``ast.unparse`` knows how
Python reads them.  Scalar SymPy expressions go through SymPy's NumPy printer
(which knows precedence too) and are parsed back into the tree.

Tensor nodes are dispatched by :class:`~symbackprop.visit.TreeVisitor`, the one
way every interpreter walks the tree.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import keyword
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from . import tensor as T
from .errors import UnsupportedFunctionError
from .kernels import KERNELS
from .ops import LOSS_OPS, NUMPY_KERNELS
from .visit import TreeVisitor


def var(prefix: str, name: str) -> str:
    """The program's variable for a forward value (``v_``) or a gradient (``g_``)."""
    return f"{prefix}_{name}"


def name(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Load())


def call(function: str, *arguments: ast.expr) -> ast.Call:
    return ast.Call(name(function), list(arguments), [])


def constant(value: Any) -> ast.expr:
    if isinstance(value, (int, float)) and value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def binary(left: ast.expr, operator: ast.operator, right: ast.expr) -> ast.BinOp:
    return ast.BinOp(left, operator, right)


class ScalarPrinter(NumPyPrinter):
    """NumPy code for scalar SymPy expressions, with program variables for symbols."""

    def __init__(self, names: Callable[[sp.Symbol], str]) -> None:
        super().__init__({"allow_unknown_functions": True, "fully_qualified_modules": False})
        self._names = names

    def _print_Heaviside(self, expr):
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        return f"_step({self._print(expr.args[0])}, {self._print(at_zero)})"

    def _print_Symbol(self, expr):
        return self._names(expr)


class TreeEmitter(TreeVisitor):
    """Tensor trees and scalar expressions to ``ast`` expressions of a NumPy program.

    ``namespace`` collects the Python objects the code names (kernels, activations, losses).
    """

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {}
        self.definitions: list[ast.FunctionDef] = []
        self._activations: dict[int, str] = {}
        self._kept: list[Any] = []  # activations keyed by id must outlive the program
        self._printer = ScalarPrinter(self._symbol_name)

    # -- scalars -------------------------------------------------------------------------

    @staticmethod
    def _symbol_name(symbol: sp.Symbol) -> str:
        if isinstance(symbol, T.AdjointSymbol):
            return var("g", symbol.of)
        if symbol == T.BATCH_SIZE:
            return "batch_size"
        return var("v", symbol.name)

    def scalar(self, expr: Any) -> ast.expr:
        expr = sp.sympify(expr)
        if expr.is_Integer:
            return constant(int(expr))
        text = self._printer.doprint(expr)
        return ast.parse(text, mode="eval").body  # SymPy's printer parenthesises; parsing keeps that

    # -- tensors -------------------------------------------------------------------------

    def tensor(self, node: T.Tensor) -> ast.expr:
        return self.visit(node)

    def value(self, value: Any) -> ast.expr:
        return self.tensor(value) if isinstance(value, T.Tensor) else self.scalar(value)

    def visit_Ref(self, node: T.Ref) -> ast.expr:
        return name(var("v", node.name))

    def visit_Adjoint(self, node: T.Adjoint) -> ast.expr:
        return name(var("g", node.name))

    def visit_Scalar(self, node: T.Scalar) -> ast.expr:
        return self.scalar(node.expr)

    def visit_MatMul(self, node: T.MatMul) -> ast.expr:
        if isinstance(node.left, T.Scalar) or isinstance(node.right, T.Scalar):  # a 1×1 factor only scales
            return binary(self.tensor(node.left), ast.Mult(), self.tensor(node.right))
        if isinstance(node.left, T.Transpose):
            return call("_mm_t", self.tensor(node.left.operand), self.tensor(node.right))
        return call("_mm", self.tensor(node.left), self.tensor(node.right))

    def visit_Add(self, node: T.Add) -> ast.expr:
        return binary(self.tensor(node.left), ast.Add(), self.tensor(node.right))

    def visit_Hadamard(self, node: T.Hadamard) -> ast.expr:
        at_zero = step_at_zero(node.right)
        if at_zero is not None:
            return call("_gate", self.tensor(node.left), self.tensor(node.right.operand), self.scalar(at_zero))
        return binary(self.tensor(node.left), ast.Mult(), self.tensor(node.right))

    def visit_Scale(self, node: T.Scale) -> ast.expr:
        return binary(self.scalar(node.factor), ast.Mult(), self.tensor(node.operand))

    def visit_Transpose(self, node: T.Transpose) -> ast.expr:
        return call("_T", self.tensor(node.operand))

    def visit_Elementwise(self, node: T.Elementwise) -> ast.expr:
        return call(self.activation(node.function), self.tensor(node.operand))

    def visit_Power(self, node: T.Power) -> ast.expr:
        return binary(self.tensor(node.operand), ast.Pow(), self.scalar(node.exponent))

    def visit_Sum(self, node: T.Sum) -> ast.expr:
        return call("_total", self.tensor(node.operand))

    def visit_Ones(self, node: T.Ones) -> ast.expr:
        shape = ast.Tuple([ast.Constant(d) for d in node.shape], ast.Load())
        return ast.Call(ast.Attribute(name("np"), "ones", ast.Load()), [shape], [])

    def visit_LossOp(self, node: T.LossOp) -> ast.expr:
        function = f"_loss_{node.kind}"
        self.namespace[function] = LOSS_OPS[node.kind].numeric
        return call(function, self.tensor(node.prediction), self.tensor(node.target))

    def visit_LossGradient(self, node: T.LossGradient) -> ast.expr:
        function = f"_d_{node.kind}_d_{node.wrt}"
        self.namespace[function] = LOSS_OPS[node.kind].gradient(node.wrt).numeric
        return call(function, self.tensor(node.prediction), self.tensor(node.target))

    # -- activations ---------------------------------------------------------------------

    def activation(self, activation) -> str:
        """The name of a generated one-argument function for an activation (written once)."""
        key = id(activation)
        if key not in self._activations:
            readable = activation.name.replace("'", "_prime")
            function = f"_f{len(self._activations)}_{readable}"
            if not function.isidentifier() or keyword.iskeyword(function):
                function = f"_f{len(self._activations)}"
            t = sp.Symbol("t", real=True)
            body = self._printer_for_argument().doprint(sp.sympify(activation.formula(t)))
            self._activations[key] = function
            self.definitions.append(_activation_definition(function, body))
            self._kept.append(activation)
        return self._activations[key]

    @staticmethod
    def _printer_for_argument() -> ScalarPrinter:
        return ScalarPrinter(lambda symbol: symbol.name)


def function_definition(function: str, arguments: list[str], body: list[ast.stmt]) -> ast.FunctionDef:
    signature = ast.arguments(posonlyargs=[], args=[ast.arg(a) for a in arguments], kwonlyargs=[],
                              kw_defaults=[], defaults=[])
    definition = ast.FunctionDef(function, signature, body, [], None)
    if "type_params" in ast.FunctionDef._fields:  # Python 3.12 and later
        definition.type_params = []
    return ast.fix_missing_locations(definition)


def _activation_definition(function: str, body: str) -> ast.FunctionDef:
    return function_definition(function, ["t"], [ast.Return(ast.parse(body, mode="eval").body)])


def step_at_zero(node: T.Tensor) -> sp.Expr | None:
    """The value at 0 if ``node`` applies the Heaviside step element-wise (ReLU′), else None."""
    if not isinstance(node, T.Elementwise):
        return None
    t = sp.Symbol("t", real=True)
    body = node.function.formula(t)
    if isinstance(body, sp.Heaviside) and body.args[0] == t:
        return body.args[1] if len(body.args) > 1 else sp.S.Half
    return None


# -- lines: sharing, pruning, printing -------------------------------------------------------


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


# -- names the code reads: resolved once, and carried along for a standalone module ---------


def resolve(source: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """The objects every free name of ``source`` stands for: ours, then NumPy's.

    A name that neither provides is refused now, when the program is built,
    rather than as a NameError when it runs.
    """
    tree = ast.parse(source)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    bound = {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args}
    bound |= {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets
              if isinstance(t, ast.Name)}
    available = {"np": np, **KERNELS, **NUMPY_KERNELS, **namespace}
    resolved: dict[str, Any] = {}
    for identifier in sorted(names_read(tree) - defined - bound):
        if identifier in available:
            resolved[identifier] = available[identifier]
        elif hasattr(np, identifier):
            resolved[identifier] = getattr(np, identifier)
        elif not hasattr(builtins, identifier):
            raise UnsupportedFunctionError(
                f"no NumPy implementation of {identifier!r}: the derivation cannot be evaluated numerically"
            )
    return resolved


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
