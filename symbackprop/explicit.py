"""Tensor expressions written out element by element as SymPy matrices.

One conversion serves three purposes, chosen by what the leaves stand for:
closed forms in terms of stored intermediates (each forward value a matrix
symbol), closed forms expanded into inputs and parameters, and exact
evaluation (each leaf a matrix of numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from . import tensor as T
from .errors import UnsupportedRankError
from .ieee import applied
from .ops import LOSS_OPS, NUMPY_KERNELS, Activation
from .visit import TreeVisitor

if TYPE_CHECKING:
    from .derivation import Derivation

Lookup = Callable[[str], Any]


def to_explicit(value: Any, forward: Lookup, adjoint: Lookup) -> Any:
    """A SymPy matrix for a Tensor, a SymPy scalar for a scalar expression.

    ``forward(name)`` and ``adjoint(name)`` give the explicit value of a
    quantity and of its gradient (a scalar for scalar quantities).
    """
    if isinstance(value, T.Tensor):
        return _tensor(value, forward, adjoint)
    return _scalar(sp.sympify(value), forward, adjoint)


def _scalar(expr: sp.Expr, forward: Lookup, adjoint: Lookup) -> sp.Expr:
    replacements = {}
    for symbol in expr.free_symbols:
        if isinstance(symbol, T.AdjointSymbol):
            replacements[symbol] = _as_scalar(adjoint(symbol.of))
        elif symbol != T.BATCH_SIZE:
            replacements[symbol] = _as_scalar(forward(symbol.name))
    return expr.xreplace(replacements) if replacements else expr


def _as_scalar(value: Any) -> Any:
    if isinstance(value, sp.MatrixBase):
        return value[0, 0]
    return value


def _as_matrix(value: Any) -> sp.ImmutableMatrix:
    if isinstance(value, sp.MatrixBase):
        return sp.ImmutableMatrix(value)
    return sp.ImmutableMatrix([[value]])


def _broadcast(a: sp.ImmutableMatrix, b: sp.ImmutableMatrix) -> tuple:
    """Both operands repeated to their common shape along their axes of length 1, as NumPy does."""
    shape = (max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1]))
    return _repeated(a, shape), _repeated(b, shape)


def _repeated(a: sp.ImmutableMatrix, shape: tuple[int, int]) -> sp.ImmutableMatrix:
    if a.shape == shape:
        return a
    rows, columns = a.shape
    return sp.ImmutableMatrix(*shape, lambda i, j: a[i if rows > 1 else 0, j if columns > 1 else 0])


_NUMERIC: dict[int, tuple[Activation, Callable[[float], float]]] = {}


def _numeric(activation: Activation) -> Callable[[float], float]:
    """The activation as a NumPy function of one float, for the points SymPy takes off the reals."""
    cached = _NUMERIC.get(id(activation))
    if cached is None:
        t = sp.Symbol("t", real=True)
        # NumPy the module, not "numpy": the name makes SymPy star-import NumPy, which loads f2py and numpy.testing
        function = sp.lambdify(t, activation.formula(t), modules=[NUMPY_KERNELS, np])
        cached = _NUMERIC[id(activation)] = (activation, function)  # the key object is kept alive
    return cached[1]


def _tensor(node: T.Tensor, forward: Lookup, adjoint: Lookup) -> sp.ImmutableMatrix:
    return ElementByElement(forward, adjoint).visit(node)


class ElementByElement(TreeVisitor):
    """A tensor tree as an explicit SymPy matrix, its leaves looked up by name."""

    interpretation = "explicit"

    def __init__(self, forward: Lookup, adjoint: Lookup) -> None:
        self.forward = forward
        self.adjoint = adjoint

    def scalar(self, expr: sp.Expr) -> sp.Expr:
        return _scalar(expr, self.forward, self.adjoint)

    #: Two matrices repeated to their common shape, as NumPy broadcasts them.
    broadcast = staticmethod(_broadcast)
    #: A matrix repeated to ``shape`` along its axes of length 1.
    repeated = staticmethod(_repeated)

    def visit_Ref(self, node: T.Ref) -> sp.ImmutableMatrix:
        return _as_matrix(self.forward(node.name))

    def visit_Adjoint(self, node: T.Adjoint) -> sp.ImmutableMatrix:
        return _as_matrix(self.adjoint(node.name))

    def visit_Scalar(self, node: T.Scalar) -> sp.ImmutableMatrix:
        return _as_matrix(self.scalar(node.expr))

    def visit_MatMul(self, node: T.MatMul) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix(self.visit(node.left) * self.visit(node.right))

    def visit_Add(self, node: T.Add) -> sp.ImmutableMatrix:
        a, b = _broadcast(self.visit(node.left), self.visit(node.right))
        return sp.ImmutableMatrix(a + b)

    def visit_AddAll(self, node: T.AddAll) -> sp.ImmutableMatrix:
        total = self.visit(node.terms[0])
        for term in node.terms[1:]:
            a, b = _broadcast(total, self.visit(term))
            total = sp.ImmutableMatrix(a + b)
        return total

    def visit_Scale(self, node: T.Scale) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix(self.visit(node.operand) * self.scalar(node.factor))

    def visit_Transpose(self, node: T.Transpose) -> sp.ImmutableMatrix:
        return self.visit(node.operand).T

    def visit_Elementwise(self, node: T.Elementwise) -> sp.ImmutableMatrix:
        formula, numeric = node.function.formula, _numeric(node.function)
        return self.visit(node.operand).applyfunc(lambda e: applied(formula, numeric, e))

    def visit_Power(self, node: T.Power) -> sp.ImmutableMatrix:
        exponent = node.exponent
        power = float(exponent)
        return self.visit(node.operand).applyfunc(
            lambda e: applied(lambda b: b ** exponent, lambda b: np.float_power(b, power), e))

    def visit_Sum(self, node: T.Sum) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix([[sum(self.visit(node.operand))]])

    def visit_Ones(self, node: T.Ones) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix.ones(*node.shape)

    def visit_LossNode(self, node: T.LossNode) -> sp.ImmutableMatrix:
        value = LOSS_OPS[node.kind].explicit(self.visit(node.prediction), self.visit(node.target), **dict(node.options))
        return sp.ImmutableMatrix([[value]])

    def visit_LossGradient(self, node: T.LossGradient) -> sp.ImmutableMatrix:
        formula = LOSS_OPS[node.kind].gradient(node.wrt)
        return sp.ImmutableMatrix(formula.explicit(self.visit(node.prediction), self.visit(node.target),
                                                   **dict(node.options)))


def refuse_tensors_of_rank_3(network: Any) -> None:
    """Closed forms are SymPy matrices, element by element: a network holding a tensor of rank 3 or more is
    refused, naming it."""
    high = next((q for q in network.quantities() if q.shape is not None and len(q.shape) > 2), None)
    if high is not None:
        raise UnsupportedRankError(
            f"closed forms and exact evaluation are written element by element as matrices; {high.name!r} has "
            f"shape {high.shape}, a tensor of rank {len(high.shape)}: evaluate this network in floats "
            "(d.evaluate(values), d.lambdify()) instead")


class ClosedForms:
    """Memoized closed forms of every forward value and gradient of a derivation.

    ``leaves`` gives inputs and parameters (and their elements) values, numbers
    for exact evaluation; ``seed`` replaces ∂L/∂L (1/N becomes 1 for one sample).
    """

    def __init__(self, derivation: Derivation, *, expand: bool, leaves: dict[str, Any] | None = None,
                 seed: sp.Expr | None = None) -> None:
        refuse_tensors_of_rank_3(derivation.network)
        self.derivation = derivation
        self.network = derivation.network
        self.expand = expand
        self.seed = derivation.seed if seed is None else seed
        self._forward: dict[str, Any] = dict(leaves or {})
        self._gradient: dict[str, Any] = {}

    def forward(self, name: str) -> Any:
        if name not in self._forward:
            self._prepare(self._forward, name)
        return self._forward[name]

    def _prepare(self, table: dict[str, Any], name: str) -> None:
        """Compute what ``name`` reads before it, upstream first, with an explicit stack: the values a
        closed form reads go as deep as the network, and computing each on demand would recurse as deep."""
        pending = [(table, name)]
        while pending:
            table, name = pending[-1]
            if name in table:
                pending.pop()
                continue
            missing = [(t, n) for t, n in self._reads(table, name) if n not in t]
            if missing:
                pending.extend(missing)
                continue
            pending.pop()
            is_forward = table is self._forward
            table[name] = self._compute_forward(name) if is_forward else self._compute_gradient(name)

    def _reads(self, table: dict[str, Any], name: str) -> list[tuple[dict[str, Any], str]]:
        """The forward values and gradients the closed form of ``name`` looks up (those found by a walk)."""
        quantity = self.network[name]
        if quantity.elements is not None:
            return [(table, e) for row in quantity.elements for e in row]
        if table is self._forward:
            if quantity.definition is None or not self.expand:
                return []
            value = quantity.definition
        else:
            step = None if name == self.derivation.loss else self.derivation.step_for(name)
            if step is None:
                return []
            value = step.result
        if isinstance(value, T.Tensor):
            nodes = list(T.walk(value))
            symbols = T.free_scalars(value)
        else:
            nodes, symbols = [], sp.sympify(value).free_symbols
        reads = [(self._forward, n.name) for n in nodes if isinstance(n, T.Ref)]
        reads += [(self._gradient, n.name) for n in nodes if isinstance(n, T.Adjoint)]
        for symbol in symbols:
            if isinstance(symbol, T.AdjointSymbol):
                reads.append((self._gradient, symbol.of))
            elif self.network.leaf_name(symbol) is not None:
                reads.append((self._forward, self.network.leaf_name(symbol)))
        return reads

    def _compute_forward(self, name: str) -> Any:
        quantity = self.network[name]
        if quantity.elements is not None:
            return sp.ImmutableMatrix([[self.forward(e) for e in row] for row in quantity.elements])
        if quantity.definition is None or not self.expand:
            if quantity.is_scalar:
                return quantity.symbol
            return sp.ImmutableMatrix(sp.MatrixSymbol(name, *quantity.shape).as_explicit())
        value = to_explicit(quantity.definition, self.forward, self.gradient)
        return _as_scalar(value) if quantity.is_scalar else value

    def gradient(self, name: str) -> Any:
        if name not in self._gradient:
            self._prepare(self._gradient, name)
        return self._gradient[name]

    def _compute_gradient(self, name: str) -> Any:
        quantity = self.network[name]
        if quantity.elements is not None:
            return sp.ImmutableMatrix([[self.gradient(e) for e in row] for row in quantity.elements])
        if name == self.derivation.loss:
            return self.seed
        step = self.derivation.step_for(name)
        if step is None:
            return sp.S.Zero if quantity.is_scalar else sp.ImmutableMatrix.zeros(*quantity.shape)
        value = to_explicit(step.result, self.forward, self.gradient)
        return _as_scalar(value) if quantity.is_scalar else _as_matrix(value)
