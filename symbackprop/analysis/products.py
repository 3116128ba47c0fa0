"""Products of local derivatives, read off the recorded steps: as short text, and as ∂L/∂name with
every upstream gradient replaced by its own product (memoized and size-capped)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import sympy as sp

from .. import tensor as T
from ..visit import TreeVisitor
from .counting import scalar_operations

if TYPE_CHECKING:
    from ..derivation import Derivation


class FactorText(TreeVisitor):
    """A short, readable form of a tensor factor: W2ᵀ, relu′(z1), ∂L/∂h2; any other tree by its repr."""

    interpretation = "factor_text"
    generic = "as_written"

    def visit_Transpose(self, node: T.Transpose) -> str:
        if isinstance(node.operand, (T.Ref, T.Adjoint)):
            return f"{self.visit(node.operand)}ᵀ"
        return repr(node)

    def visit_Elementwise(self, node: T.Elementwise) -> str:
        return f"{node.function.name.replace(chr(39), '′')}({self.visit(node.operand)})"

    def visit_Adjoint(self, node: T.Adjoint) -> str:
        return f"∂L/∂{node.name}"

    def visit_LossGradient(self, node: T.LossGradient) -> str:
        return f"∂{node.kind}/∂{self.visit(getattr(node, node.wrt))}"

    def as_written(self, node: T.Tensor) -> str:
        return repr(node)


def serve_with(visitor: type[TreeVisitor], method: str, node_types: tuple[type, ...]) -> None:
    """Let one generic method of ``visitor`` handle these core node types, as ``visit_<Type>``."""
    for node_type in node_types:
        setattr(visitor, f"visit_{node_type.__name__}", getattr(visitor, method))


serve_with(FactorText, "as_written", (T.Add, T.AddAll, T.LossNode, T.MatMul, T.Ones, T.Power, T.Ref, T.Scalar,
                                      T.Scale, T.Sum))


def factor_text(value: Any) -> str:
    """A local factor as text; a scalar sum or product in parentheses, (h2 − y)."""
    if isinstance(value, T.Tensor):
        return FactorText().visit(value)
    text = str(value)
    return f"({text})" if isinstance(value, (sp.Add, sp.Mul)) else text


def tree_size(value: Any, memo: dict | None = None, node_sizes: dict | None = None) -> int:
    """Nodes of a tensor tree plus the operations of the SymPy expressions in it: a size to cap.

    A repeated subtree counts each time it appears; ``node_sizes`` (by node identity) keeps the
    sizes of subtrees already measured, so that trees built one on another are measured once each.
    """
    memo = {} if memo is None else memo
    if isinstance(value, T.Tensor):
        return _tensor_size(value, memo, {} if node_sizes is None else node_sizes)
    if isinstance(value, sp.MatrixBase):
        return sum(tree_size(v, memo) for v in value)
    return scalar_operations(value, memo) + 1


def _tensor_size(root: T.Tensor, memo: dict, sizes: dict[int, tuple[T.Tensor, int]]) -> int:
    stack = [(root, False)]
    while stack:  # children before parents, without recursion (trees can be as deep as the network)
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in node.children if id(child) not in sizes)
            continue
        own = 1
        if isinstance(node, T.Scalar):
            own += scalar_operations(node.expr, memo)
        elif isinstance(node, T.Scale):
            own += scalar_operations(node.factor, memo)
        # the node is kept beside its size, so that its identity is not reused while the table lives
        sizes[id(node)] = (node, own + sum(sizes[id(child)][1] for child in node.children))
    return sizes[id(root)][1]


def _upstream(result: Any) -> set[str]:
    """The quantities whose ∂L/∂name a step's result reads."""
    if not isinstance(result, T.Tensor):
        return {s.of for s in sp.sympify(result).free_symbols if isinstance(s, T.AdjointSymbol)}
    upstream: set[str] = set()
    for node in T.walk(result):
        if isinstance(node, T.Adjoint):
            upstream.add(node.name)
        elif isinstance(node, (T.Scalar, T.Scale)):
            expr = node.expr if isinstance(node, T.Scalar) else node.factor
            upstream |= {s.of for s in expr.free_symbols if isinstance(s, T.AdjointSymbol)}
    return upstream


class _SubstitutionError(Exception):
    """A subtree whose upstream gradient could not be substituted (too large, or a tensor inside a scalar)."""


class UpstreamProducts(TreeVisitor):
    """∂L/∂name with every upstream gradient replaced by its own product, memoized, size-capped.

    :meth:`of` gives None where the product would exceed ``limit`` or cannot be
    written as one tree.
    """

    interpretation = "upstream"
    generic = "rebuilt"

    def __init__(self, derivation: Derivation, limit: int) -> None:
        self.derivation = derivation
        self.limit = limit
        self.done: dict[str, Any] = {derivation.loss: derivation.seed}
        self.sizes: dict[str, int] = {}
        self.memo: dict = {}
        self.node_sizes: dict = {}
        self.too_large: set[str] = set()
        self.upstream: dict[str, set[str]] = {}  # by step target: read twice, walked once

    def of(self, name: str) -> Any:
        # every upstream product first, from an explicit stack: a chain of them is as long as the network
        pending = [name]
        while pending:
            current = pending[-1]
            if current in self.done or current in self.too_large:
                pending.pop()
                continue
            missing = [u for u in self._needs(current) if u not in self.done and u not in self.too_large]
            if missing:
                pending.extend(missing)
            else:
                pending.pop()
                self._compute(current)
        return self.done.get(name)

    def _needs(self, name: str) -> set[str]:
        """The products ``name``'s own is built from: its elements', or its step's upstream gradients'."""
        quantity = self.derivation.network[name]
        if quantity.elements is not None:
            return {e for row in quantity.elements for e in row}
        if name not in self.upstream:
            step = self.derivation.step_for(name)
            self.upstream[name] = set() if step is None else _upstream(step.result)
        return self.upstream[name]

    def _compute(self, name: str) -> None:
        quantity = self.derivation.network[name]
        if quantity.elements is not None:
            parts = [[self.of(e) for e in row] for row in quantity.elements]
            if any(p is None or isinstance(p, T.Tensor) for row in parts for p in row):
                value = None
            else:
                value = sp.ImmutableMatrix(parts)
        else:
            step = self.derivation.step_for(name)
            if step is None:
                value = sp.S.Zero
            elif self._estimate(step.result, self._needs(name)) > self.limit:  # refused before building anything
                value = None
            else:
                value = self._substitute(step.result)
        if value is not None and self.size_of(name, value) > self.limit:
            value = None
        if value is None:
            self.too_large.add(name)
        else:
            self.done[name] = value

    def size_of(self, name: str, value: Any) -> int:
        if name not in self.sizes:
            self.sizes[name] = tree_size(value, self.memo, self.node_sizes)
        return self.sizes[name]

    def _estimate(self, result: Any, upstream: set[str]) -> int:
        """The size of ``result`` with its ``upstream`` gradients substituted, from their known sizes (past the
        limit at once where one of them is: on a long chain, all but the few nearest the loss)."""
        values = [(name, self.of(name)) for name in upstream]
        if any(value is None for _, value in values):
            return self.limit + 1
        return tree_size(result, self.memo, self.node_sizes) + sum(self.size_of(n, v) for n, v in values)

    def _substitute(self, value: Any) -> Any:
        if isinstance(value, T.Tensor):
            try:
                return self.visit(value)
            except _SubstitutionError:
                return None
        return self._scalar(sp.sympify(value))

    def _scalar(self, expr: sp.Expr) -> Any:
        adjoints = [s for s in expr.free_symbols if isinstance(s, T.AdjointSymbol)]
        replacements = {}
        for symbol in adjoints:
            upstream = self.of(symbol.of)
            if upstream is None:
                return None
            if isinstance(upstream, T.Tensor):
                coefficient, rest = expr.as_independent(symbol, as_Add=False)
                if rest != symbol:
                    return None
                return T.scale(coefficient, upstream) if not coefficient.free_symbols else \
                    T.scaled_by(coefficient, upstream)
            replacements[symbol] = upstream
        return expr.xreplace(replacements)

    # -- the tree, rebuilt with the upstream products in place of ∂L/∂name -------------------

    def visit_Adjoint(self, node: T.Adjoint) -> T.Tensor:
        upstream = self.of(node.name)
        if upstream is None:
            raise _SubstitutionError
        return upstream if isinstance(upstream, T.Tensor) else T.Scalar(upstream)

    def visit_Scalar(self, node: T.Scalar) -> T.Tensor:
        inner = self._scalar(node.expr)
        if inner is None:
            raise _SubstitutionError
        return inner if isinstance(inner, T.Tensor) else T.Scalar(inner)

    def rebuilt(self, node: T.Tensor) -> T.Tensor:
        """Any other node: its tensor children and the scalars that hold ∂L/∂name, substituted."""
        changes = {}
        for f in dataclasses.fields(node):
            child = getattr(node, f.name)
            if isinstance(child, T.Tensor):
                changes[f.name] = self.visit(child)
            elif isinstance(child, sp.Expr) and any(isinstance(s, T.AdjointSymbol) for s in child.free_symbols):
                new = self._scalar(child)
                if new is None or isinstance(new, T.Tensor):
                    raise _SubstitutionError
                changes[f.name] = new
        return dataclasses.replace(node, **changes) if changes else node

    def visit_AddAll(self, node: T.AddAll) -> T.Tensor:
        return T.AddAll(tuple(self.visit(term) for term in node.terms))



serve_with(UpstreamProducts, "rebuilt", (T.Add, T.Elementwise, T.LossGradient, T.LossNode, T.MatMul, T.Ones, T.Power,
                                         T.Ref, T.Scale, T.Sum, T.Transpose))


__all__ = ["FactorText", "UpstreamProducts", "factor_text", "tree_size"]
