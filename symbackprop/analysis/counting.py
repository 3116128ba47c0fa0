"""What backpropagation costs, counted on the user's own network (the page's 역전파의 효율성).

One definition of an *operation* serves every count here and the performance
benchmark: a scalar addition, subtraction, multiplication, division or power,
or one application of a function (``exp``, ``ReLU``, ``Heaviside``, σ, …),
counted element by element.  So

* a sum of n terms costs n − 1 (a term's sign is free: a − b is one subtraction);
* a product of n factors costs n − 1, a constant factor other than ±1 counts as a
  factor, and a lone −x costs one negation; a factor 1/b is a division, b⁻ⁿ a
  power and a division;
* ``f(a)`` costs one plus what its arguments cost;
* a matrix product (m×k)(k×n) costs m·n·k multiplications and m·n·(k − 1)
  additions; an element-wise operation costs one per element (plus what the
  element-wise function costs per element); a transpose, a reference to a stored
  value, or multiplying by ones (a broadcast) is free; a scalar inside a tensor
  expression is computed once.

Counting is by expression *tree*: a subexpression written twice is counted
twice.  That is exactly the difference between the ways of computing gradients
compared here: the reverse sweep names every intermediate gradient and reuses
it (each recorded step is counted once), while the naive way
(:mod:`symbackprop.analysis.naive`) differentiates the fully expanded loss once
per parameter element and shares nothing.  Vector and scalar (one symbol per
weight) derivations count the same scalar operations, so both levels of one
network give the same figures.  Nothing here calls ``sympy.diff``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import tensor as T
from ..network import LOSS, NODE, PARAM, Network
from ..ops import LOSS_OPS
from ..tensor.base import broadcast_lengths
from ..visit import TreeVisitor

if TYPE_CHECKING:
    from ..derivation import Derivation, Step

Memo = dict


# -- one scalar expression ---------------------------------------------------------------


def scalar_operations(expr: Any, memo: Memo | None = None) -> int:
    """Operations of a SymPy scalar expression, counted on its tree (see the module text)."""
    return _scalar(sp.sympify(expr), {} if memo is None else memo)


def _scalar(expr: sp.Basic, memo: Memo) -> int:
    known = memo.get(expr)
    if known is not None:
        return known
    if expr.is_Atom or isinstance(expr, (MatrixElement, sp.Indexed)):
        count = 0
    elif isinstance(expr, sp.Add):
        count = len(expr.args) - 1 + sum(_unsigned(term, memo) for term in expr.args)
    elif isinstance(expr, sp.Mul):
        coefficient, _ = expr.as_coeff_Mul()
        count = _product(expr, memo) + (1 if coefficient == -1 else 0)
    elif isinstance(expr, sp.Pow):
        count = 1 + _scalar(expr.base, memo) + _scalar(expr.exp, memo)
    else:  # a function application, or any other SymPy node: one operation plus its arguments
        count = 1 + sum(_scalar(arg, memo) for arg in expr.args if isinstance(arg, sp.Basic))
    memo[expr] = count
    return count


def _unsigned(term: sp.Basic, memo: Memo) -> int:
    """A term of a sum whose sign the addition absorbs (a + (−b) is one subtraction)."""
    if isinstance(term, sp.Mul):
        coefficient, _ = term.as_coeff_Mul()
        if coefficient.is_negative:
            return _product(term, memo)
    return _scalar(term, memo)


def _product(expr: sp.Mul, memo: Memo) -> int:
    """n − 1 operations for n factors, where ±1 is not a factor and a factor b⁻¹ divides by b.

    With no numerator at all (1/b, 1/(a·b)) one more operation forms the reciprocal.
    """
    count = factors = numerators = 0
    for factor in expr.args:
        if factor.is_Number:
            if abs(factor) != 1:
                factors += 1
                numerators += 1
            continue
        factors += 1
        if isinstance(factor, sp.Pow) and factor.exp.is_Number and factor.exp.is_negative:
            count += _scalar(factor.base, memo) + (0 if factor.exp == -1 else 1)
        else:
            count += _scalar(factor, memo)
            numerators += 1
    return count + max(factors - 1, 0) + (1 if numerators == 0 else 0)


# -- one tensor expression ---------------------------------------------------------------


def _size(shape: T.Shape) -> int:
    return shape[0] * shape[1]


_t = sp.Symbol("t", real=True)

#: A loss is written out in SymPy at most this many entries (plus two) a side; longer sides are extrapolated.
LOSS_WRITTEN_OUT_SIDE = 3


class OperationCounter(TreeVisitor):
    """Operations of a tensor tree, element by element; ``memo`` is shared with the scalar counts."""

    interpretation = "count"

    def __init__(self, memo: Memo | None = None) -> None:
        self.memo = {} if memo is None else memo

    def count(self, node: T.Tensor) -> int:
        key = ("tensor", node)
        known = self.memo.get(key)
        if known is None:
            known = self.memo[key] = self.visit(node)
        return known

    def scalar(self, expr: Any) -> int:
        return _scalar(sp.sympify(expr), self.memo)

    @staticmethod
    def size(shape: T.Shape) -> int:
        """The number of entries: one operation per entry for an element-wise step."""
        return _size(shape)

    def visit_Ref(self, node: T.Ref) -> int:
        return 0  # a stored value is read, not computed

    def visit_Adjoint(self, node: T.Adjoint) -> int:
        return 0

    def visit_Ones(self, node: T.Ones) -> int:
        return 0

    def visit_Scalar(self, node: T.Scalar) -> int:
        return self.scalar(node.expr)

    def visit_MatMul(self, node: T.MatMul) -> int:
        size, inner = _size(node.shape), node.left.shape[-1]  # the last axis: a stack's is not its second
        return size * inner + size * (inner - 1) + self.count(node.left) + self.count(node.right)

    def visit_Add(self, node: T.Add) -> int:
        return _size(node.shape) + self._signless(node.left) + self._signless(node.right)

    def visit_AddAll(self, node: T.AddAll) -> int:
        """As many additions as the two-term sums a + b, (a + b) + c, … would count."""
        count = self._signless(node.terms[0])
        shape = node.terms[0].shape
        for term in node.terms[1:]:
            shape = broadcast_lengths(shape, term.shape)  # the partial sum's shape, at any rank
            count += _size(shape) + self._signless(term)
        return count

    def _signless(self, node: T.Tensor) -> int:
        """An operand of a sum: −b inside a + (−b) is a subtraction, not an extra negation."""
        if isinstance(node, T.Scale) and node.factor.is_Number and node.factor.is_negative:
            negation = 0 if node.factor == -1 else _size(node.operand.shape)
            return negation + self.count(node.operand)
        return self.count(node)

    def visit_Scale(self, node: T.Scale) -> int:
        return _size(node.operand.shape) + self.scalar(node.factor) + self.count(node.operand)

    def visit_Transpose(self, node: T.Transpose) -> int:
        return self.count(node.operand)

    def visit_Elementwise(self, node: T.Elementwise) -> int:
        key = ("function", node.function)  # activations hash by identity
        if key not in self.memo:
            self.memo[key] = self.scalar(node.function.formula(_t))
        return _size(node.shape) * self.memo[key] + self.count(node.operand)

    def visit_Power(self, node: T.Power) -> int:
        return _size(node.shape) + self.scalar(node.exponent) + self.count(node.operand)

    def visit_Sum(self, node: T.Sum) -> int:
        return _size(node.operand.shape) - 1 + self.count(node.operand)

    def visit_LossNode(self, node: T.LossNode) -> int:
        record = LOSS_OPS[node.kind]
        key = ("loss", node.kind, node.prediction.shape, node.target.shape, node.options)
        if key not in self.memo:
            self.memo[key] = self._loss_count(lambda h, y, options: self.scalar(record.explicit(h, y, **options)),
                                              node)
        return self.memo[key] + self.count(node.prediction) + self.count(node.target)

    def visit_LossGradient(self, node: T.LossGradient) -> int:
        gradient = LOSS_OPS[node.kind].gradient(node.wrt)
        key = ("loss_gradient", node.kind, node.wrt, node.prediction.shape, node.target.shape, node.options)
        if key not in self.memo:
            self.memo[key] = self._loss_count(
                lambda h, y, options: sum(self.scalar(e) for e in gradient.explicit(h, y, **options)), node)
        return self.memo[key] + self.count(node.prediction) + self.count(node.target)

    def _loss_count(self, count_at, node: T.LossNode | T.LossGradient) -> int:
        """A loss's count from its element-by-element form, written out at no more than
        ``LOSS_WRITTEN_OUT_SIDE + 2`` entries a side.

        Every loss is a sum of per-entry terms and per-column or per-row normalisers, so its count
        is a polynomial of degree at most 2 in each side; a longer side is extrapolated from three
        lengths instead of building a SymPy sum of every entry (seconds at thousands of entries).
        """
        (rows, columns), target = node.prediction.shape, node.target.shape

        def at(r: int, c: int) -> int:
            key = ("loss_at", node.kind, getattr(node, "wrt", None), r, c, node.options)
            if key not in self.memo:
                target_shape = (r if target[0] == rows else target[0], c if target[1] == columns else target[1])
                options = dict(node.options)
                if "samples" in options:  # the mean runs over the other axis than the normalised one
                    options["samples"] = (r, c)[1 - options["axis"]]
                self.memo[key] = count_at(*_element_matrices((r, c), target_shape), options)
            return self.memo[key]

        return _extrapolated(at, rows, columns)


def _extrapolated(at, rows: int, columns: int) -> int:
    """``at(rows, columns)`` for a count quadratic in each side, from sides of at most ``LOSS_WRITTEN_OUT_SIDE + 2``.

    Quadratic, not linear: counted as a tree, a softmax's normaliser is written out once per entry.
    """
    def along_columns(r: int) -> int:
        return _quadratic(lambda c: at(r, c), columns)

    return _quadratic(along_columns, rows)


def _quadratic(count_at, side: int) -> int:
    """``count_at(side)`` of a polynomial of degree ≤ 2, from three short sides (Newton's forward differences)."""
    first = LOSS_WRITTEN_OUT_SIDE
    if side <= first + 2:
        return count_at(side)
    f0, f1, f2 = (count_at(first + k) for k in range(3))
    steps = side - first
    return f0 + steps * (f1 - f0) + steps * (steps - 1) // 2 * (f2 - 2 * f1 + f0)


def _element_matrices(shape: T.Shape, target_shape: T.Shape | None = None) -> tuple[sp.Matrix, sp.Matrix]:
    """A prediction h and a target y (of h's shape unless given: class indices) with one symbol per element,
    for a loss's explicit formula."""
    return tuple(sp.Matrix(s[0], s[1], lambda i, j, n=n: sp.Symbol(f"{n}_{i}_{j}", real=True))
                 for n, s in (("h", shape), ("y", target_shape or shape)))


def tensor_operations(tree: T.Tensor, memo: Memo | None = None) -> int:
    """Operations of a tensor expression, element by element (see the module text)."""
    return OperationCounter(memo).count(tree)


def operations(value: Any, memo: Memo | None = None) -> int:
    """Operations of a Tensor or SymPy expression (one definition for both)."""
    memo = {} if memo is None else memo
    if isinstance(value, T.Tensor):
        return OperationCounter(memo).count(value)
    return _scalar(sp.sympify(value), memo)


# -- a derivation --------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationCounts:
    """Operations of one forward pass and of the reverse sweep, per sample.

    ``backward`` counts the steps the parameter gradients need (as a training
    step runs them); ``input_gradients`` the steps only ∂L/∂input needs, which
    the derivation records too but training does not use.  ``per_node`` and
    ``per_step`` give the counts behind the totals.
    """

    forward: int
    backward: int
    input_gradients: int
    per_node: tuple[tuple[str, int], ...]
    per_step: tuple[tuple[int, int], ...]

    @property
    def backprop(self) -> int:
        """One forward plus one backward pass: every parameter gradient."""
        return self.forward + self.backward

    @property
    def backward_ratio(self) -> float:
        return self.backward / self.forward if self.forward else float("nan")

    @property
    def backprop_ratio(self) -> float:
        return self.backprop / self.forward if self.forward else float("nan")


def step_operations(step: Step, memo: Memo | None = None) -> int:
    """Operations of one recorded step.

    A fan-out sum adds the partial gradients its edges computed (already counted
    with those edges), so it costs (parts − 1) additions per element.
    """
    memo = {} if memo is None else memo
    if step.kind == "seed":
        return _scalar(sp.sympify(step.result), memo)
    if step.kind == "sum":
        return (len(step.parts) - 1) * math.prod(step.shape or T.SCALAR_SHAPE)  # any rank
    return operations(step.result, memo)


def node_operations(network: Network, memo: Memo | None = None) -> dict[str, int]:
    """Operations of each forward definition, by name, in definition order."""
    memo = {} if memo is None else memo
    return {q.name: operations(q.definition, memo)
            for q in network.graph_order() if q.kind in (NODE, LOSS) and q.definition is not None}


def forward_operations(derivation: Derivation) -> dict[str, int]:
    """:func:`node_operations` of the derivation's network, counted once for every report that reads them."""
    counted = derivation.__dict__.get("_forward_operations")
    if counted is None:
        counted = derivation.__dict__["_forward_operations"] = node_operations(derivation.network)
    return counted


def parameter_step_indices(derivation: Derivation) -> set[int]:
    """Indices of the steps that some parameter gradient depends on."""
    network = derivation.network
    needed = {q.name for q in network.quantities(PARAM, elements=True) if q.elements is None}
    for step in reversed(derivation.steps):  # deeper steps first: their sources are needed too
        if step.kind == "edge" and step.target in needed:
            needed.add(step.source)
    return {s.index for s in derivation.steps if s.target in needed and s.kind != "seed"}


def count_operations(derivation: Derivation) -> OperationCounts:
    """Forward and reverse-sweep operation counts, without differentiating anything."""
    memo: Memo = {}
    per_node = forward_operations(derivation)
    needed = parameter_step_indices(derivation)
    per_step = tuple((s.index, step_operations(s, memo)) for s in derivation.steps)
    backward = sum(count for index, count in per_step if index in needed)
    inputs = sum(count for index, count in per_step if index not in needed)
    return OperationCounts(sum(per_node.values()), backward, inputs, tuple(per_node.items()), per_step)


__all__ = [
    "OperationCounter", "OperationCounts", "count_operations", "node_operations", "operations",
    "parameter_step_indices", "scalar_operations", "step_operations", "tensor_operations",
]
