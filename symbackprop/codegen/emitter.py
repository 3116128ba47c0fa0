"""Tensor trees and scalar expressions to Python ``ast`` expressions of a NumPy program.

Scalar SymPy expressions go through SymPy's NumPy printer, which knows
precedence, and are parsed back into the tree; tensor nodes are dispatched by
:class:`~symbackprop.visit.TreeVisitor`, the one way every interpreter walks a tree.
"""


from __future__ import annotations

import ast
import keyword
from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from .. import tensor as T
from ..ops import LOSS_OPS
from ..visit import TreeVisitor


def var(prefix: str, name: str) -> str:
    """The program's variable for a forward value (``v_``) or a gradient (``g_``)."""
    return f"{prefix}_{name}"


#: The one context every read name shares, as ``ast.parse`` shares it: a program reads a name per operand.
_LOAD = ast.Load()


def name(identifier: str) -> ast.Name:
    return ast.Name(identifier, _LOAD)


def call(function: str, *arguments: ast.expr) -> ast.Call:
    return ast.Call(name(function), list(arguments), [])


def numpy_call(function: str, *arguments: ast.expr, **keywords: ast.expr) -> ast.Call:
    """``np.<function>(*arguments, **keywords)``; ``function`` may be a path, as ``"add.reduce"``."""
    attribute: ast.expr = name("np")
    for part in function.split("."):
        attribute = ast.Attribute(attribute, part, _LOAD)
    return ast.Call(attribute, list(arguments), [ast.keyword(k, v) for k, v in keywords.items()])


def constant(value: Any) -> ast.expr:
    if isinstance(value, (int, float)) and value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def binary(left: ast.expr, operator: ast.operator, right: ast.expr) -> ast.BinOp:
    return ast.BinOp(left, operator, right)


#: Terms one ``a + b + c …`` adds left to right; a longer sum adds such runs the same way.
SUM_RUN = 16


def sum_of(terms: list[ast.expr]) -> ast.expr:
    """``a + b + c …`` nested no deeper than log₁₆ of the terms: Python's own tools recurse along a chain."""
    while len(terms) > 1:
        runs = [terms[start:start + SUM_RUN] for start in range(0, len(terms), SUM_RUN)]
        terms = []
        for run in runs:
            total = run[0]
            for term in run[1:]:
                total = binary(total, ast.Add(), term)
            terms.append(total)
    return terms[0]


class ScalarPrinter(NumPyPrinter):
    """NumPy code for scalar SymPy expressions, with program variables for symbols."""

    def __init__(self, names: Callable[[sp.Symbol], str], *, partial: bool = False) -> None:
        # partial: print what NumPy lacks by its name instead of refusing, to learn which names are missing
        settings = {"allow_unknown_functions": True, "fully_qualified_modules": False}
        super().__init__({**settings, "strict": False} if partial else settings)
        self._names = names

    def _print_Heaviside(self, expr):
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        return f"_step({self._print(expr.args[0])}, {self._print(at_zero)})"

    def _print_Symbol(self, expr):
        return self._names(expr)


def step_at_zero(node: T.Tensor) -> sp.Expr | None:
    """The value at 0 if ``node`` applies the Heaviside step element-wise (ReLU′), else None."""
    if not isinstance(node, T.Elementwise):
        return None
    t = sp.Symbol("t", real=True)
    body = node.function.formula(t)
    if isinstance(body, sp.Heaviside) and body.args[0] == t:
        return body.args[1] if len(body.args) > 1 else sp.S.Half
    return None


class TreeEmitter(TreeVisitor):
    """Tensor trees and scalar expressions to ``ast`` expressions of a NumPy program.

    ``namespace`` collects the Python objects the code names (kernels, activations, losses).
    """

    interpretation = "code"
    #: What an operation's module builds its code with (see symbackprop.registry.interprets).
    call = staticmethod(call)
    constant = staticmethod(constant)
    step_at_zero = staticmethod(step_at_zero)

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
            return _LargeIntegersAsFloats().visit(constant(int(expr)))
        text = self._printer.doprint(expr)
        parsed = _LargeIntegersAsFloats().visit(ast.parse(text, mode="eval").body)
        return _gated(parsed)  # SymPy's printer parenthesises; parsing keeps that

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
        right = node.right
        if isinstance(right, T.Ones) and len(right.shape) == 2 and right.shape[1] == 1:
            return call("_axis_sum", self.tensor(node.left), constant(1))  # X 1: X's row sums, not a product
        if (isinstance(right, T.Transpose) and isinstance(right.operand, T.Ones) and len(right.shape) == 2
                and right.shape[0] == 1 and node.left.shape[-1] == 1):  # c 1ᵀ: c repeated across
            return call("_broadcast", self.tensor(node.left), constant(node.left.shape[-2]), constant(right.shape[1]))
        if isinstance(node.left, T.Transpose):
            return call("_mm_t", self.tensor(node.left.operand), self.tensor(right))
        return call("_mm", self.tensor(node.left), self.tensor(right))

    def visit_Add(self, node: T.Add) -> ast.expr:
        if isinstance(node.right, T.Scale) and node.right.factor == -1:  # a + (−1)·b, as a − b: the same number
            return binary(self.tensor(node.left), ast.Sub(), self.tensor(node.right.operand))
        return binary(self.tensor(node.left), ast.Add(), self.tensor(node.right))

    def visit_AddAll(self, node: T.AddAll) -> ast.expr:
        return sum_of([self.tensor(term) for term in node.terms])

    def visit_Scale(self, node: T.Scale) -> ast.expr:
        return binary(self.scalar(node.factor), ast.Mult(), self.tensor(node.operand))

    def visit_Transpose(self, node: T.Transpose) -> ast.expr:
        return call("_T", self.tensor(node.operand))

    def visit_Elementwise(self, node: T.Elementwise) -> ast.expr:
        return call(self.activation(node.function), self.tensor(node.operand))

    def visit_Power(self, node: T.Power) -> ast.expr:
        return binary(self.tensor(node.operand), ast.Pow(), self.scalar(node.exponent))

    def visit_Sum(self, node: T.Sum) -> ast.expr:
        if node.operand.rank > 2:
            return call("_total_of", self.tensor(node.operand), constant(node.operand.rank))
        return call("_total", self.tensor(node.operand))

    def visit_Ones(self, node: T.Ones) -> ast.expr:
        shape = ast.Tuple([ast.Constant(d) for d in node.shape], ast.Load())
        return numpy_call("ones", shape)

    def visit_LossNode(self, node: T.LossNode) -> ast.expr:
        function = f"_loss_{node.kind}"
        self.namespace[function] = LOSS_OPS[node.kind].numeric
        return _with_options(call(function, self.tensor(node.prediction), self.tensor(node.target)), node.options)

    def visit_LossGradient(self, node: T.LossGradient) -> ast.expr:
        function = f"_d_{node.kind}_d_{node.wrt}"
        self.namespace[function] = LOSS_OPS[node.kind].gradient(node.wrt).numeric
        return _with_options(call(function, self.tensor(node.prediction), self.tensor(node.target)), node.options)

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


def function_definition(function: str, arguments: list[str], body: list[ast.stmt], *,
                        located: bool = True) -> ast.FunctionDef:
    """``def function(arguments): body``; ``located=False`` leaves the source positions to whoever
    walks the tree next (:func:`~symbackprop.codegen.module.resolve` gives them on its way)."""
    signature = ast.arguments(posonlyargs=[], args=[ast.arg(a) for a in arguments], kwonlyargs=[],
                              kw_defaults=[], defaults=[])
    definition = ast.FunctionDef(function, signature, body, [], None)
    if "type_params" in ast.FunctionDef._fields:  # Python 3.12 and later
        definition.type_params = []
    return ast.fix_missing_locations(definition) if located else definition


def _activation_definition(function: str, body: str) -> ast.FunctionDef:
    return function_definition(function, ["t"], [ast.Return(ast.parse(body, mode="eval").body)])


def _with_options(application: ast.Call, options: tuple[tuple[str, Any], ...]) -> ast.Call:
    """A loss kernel's call with its node's options (an axis, class indices) as keyword arguments."""
    application.keywords = [ast.keyword(key, constant(value)) for key, value in options]
    return application


class _LargeIntegersAsFloats(ast.NodeTransformer):
    """An integer beyond int64 reaches NumPy's functions as a Python object, which they cannot take (sin(10**29))."""

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if type(node.value) is int and abs(node.value) >= 2 ** 63:
            return ast.Constant(float(node.value))
        return node


def _gated(code: ast.expr) -> ast.expr:
    """``g * _step(x, a)`` as ``_gate(g, x, a)``: the same numbers without the step's array."""
    if isinstance(code, ast.BinOp) and isinstance(code.op, ast.Mult):
        for step, other in ((code.right, code.left), (code.left, code.right)):
            if isinstance(step, ast.Call) and isinstance(step.func, ast.Name) and step.func.id == "_step":
                return call("_gate", other, *step.args)
    return code
