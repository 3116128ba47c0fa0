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
it (each recorded step is counted once), while the naive way differentiates the
fully expanded loss once per parameter element with ``sympy.diff`` and shares
nothing.  Because vector and scalar (one symbol per weight) derivations count
the same scalar operations, both levels of one network give the same figures.

The forward and reverse-sweep counts (:func:`count_operations`) never call
``sympy.diff`` and are cheap; the naive count is capped (see :func:`naive_operations`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from . import tensor as T
from .functions import LOSSES
from .network import INPUT, LOSS, NODE, PARAM, Network
from .rules import LOSS_GRADIENTS

if TYPE_CHECKING:
    from .derivation import Derivation, Step

Memo = dict


# -- counting one expression -----------------------------------------------------------


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


def tensor_operations(tree: T.Tensor, memo: Memo | None = None) -> int:
    """Operations of a tensor expression, element by element (see the module text)."""
    return _tensor(tree, {} if memo is None else memo)


def _size(shape: T.Shape) -> int:
    return shape[0] * shape[1]


def _tensor(node: T.Tensor, memo: Memo) -> int:
    key = ("tensor", node)
    known = memo.get(key)
    if known is not None:
        return known
    size = _size(node.shape)
    if isinstance(node, (T.Ref, T.Adjoint, T.Ones)):
        count = 0
    elif isinstance(node, T.Scalar):
        count = _scalar(node.expr, memo)
    elif isinstance(node, T.MatMul):
        inner = node.left.shape[1]
        count = size * inner + size * (inner - 1) + _tensor(node.left, memo) + _tensor(node.right, memo)
    elif isinstance(node, T.Add):
        count = size + _signless(node.left, memo) + _signless(node.right, memo)
    elif isinstance(node, T.Hadamard):
        if _is_ones(node.left) or _is_ones(node.right):
            count = _tensor(node.left, memo) + _tensor(node.right, memo)  # a broadcast, no arithmetic
        else:
            count = size + _tensor(node.left, memo) + _tensor(node.right, memo)
    elif isinstance(node, T.Scale):
        count = _size(node.operand.shape) + _scalar(node.factor, memo) + _tensor(node.operand, memo)
    elif isinstance(node, T.Transpose):
        count = _tensor(node.operand, memo)
    elif isinstance(node, T.Elementwise):
        count = size * _function_operations(node.function, memo) + _tensor(node.operand, memo)
    elif isinstance(node, T.Power):
        count = size + _scalar(node.exponent, memo) + _tensor(node.operand, memo)
    elif isinstance(node, T.Sum):
        count = _size(node.operand.shape) - 1 + _tensor(node.operand, memo)
    elif isinstance(node, T.LossOp):
        count = (_loss_operations(node.kind, node.prediction.shape, memo)
                 + _tensor(node.prediction, memo) + _tensor(node.target, memo))
    elif isinstance(node, T.LossGradient):
        count = (_loss_gradient_operations(node.kind, node.wrt, node.prediction.shape, memo)
                 + _tensor(node.prediction, memo) + _tensor(node.target, memo))
    else:
        raise TypeError(f"cannot count the operations of {type(node).__name__}")
    memo[key] = count
    return count


def _signless(node: T.Tensor, memo: Memo) -> int:
    """An operand of a sum: −b inside a + (−b) is a subtraction, not an extra negation."""
    if isinstance(node, T.Scale) and node.factor.is_Number and node.factor.is_negative:
        if node.factor == -1:
            return _tensor(node.operand, memo)
        return _size(node.operand.shape) + _tensor(node.operand, memo)
    return _tensor(node, memo)


_t = sp.Symbol("t", real=True)


def _is_ones(node: T.Tensor) -> bool:
    if isinstance(node, T.Ones):
        return True
    if isinstance(node, T.Scalar):
        return node.expr == 1
    return isinstance(node, T.Elementwise) and node.function.formula(_t) == 1


def _function_operations(function: Any, memo: Memo) -> int:
    key = ("function", function)  # activations hash by identity
    if key not in memo:
        memo[key] = _scalar(sp.sympify(function.formula(_t)), memo)
    return memo[key]


def _element_symbols(name: str, shape: T.Shape) -> sp.Matrix:
    return sp.Matrix(shape[0], shape[1], lambda i, j: sp.Symbol(f"{name}_{i}_{j}", real=True))


def _loss_operations(kind: str, shape: T.Shape, memo: Memo) -> int:
    key = ("loss", kind, shape)
    if key not in memo:
        value = LOSSES[kind].explicit(_element_symbols("h", shape), _element_symbols("y", shape))
        memo[key] = _scalar(sp.sympify(value), memo)
    return memo[key]


def _loss_gradient_operations(kind: str, wrt: str, shape: T.Shape, memo: Memo) -> int:
    key = ("loss_gradient", kind, wrt, shape)
    if key not in memo:
        value = LOSS_GRADIENTS[(kind, wrt)].explicit(_element_symbols("h", shape), _element_symbols("y", shape))
        memo[key] = sum(_scalar(sp.sympify(element), memo) for element in value)
    return memo[key]


def operations(value: Any, memo: Memo | None = None) -> int:
    """Operations of a Tensor or SymPy expression (one definition for both)."""
    memo = {} if memo is None else memo
    if isinstance(value, T.Tensor):
        return _tensor(value, memo)
    return _scalar(sp.sympify(value), memo)


# -- counting a derivation ---------------------------------------------------------------


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
        rows, columns = step.shape or T.SCALAR_SHAPE
        return (len(step.parts) - 1) * rows * columns
    return operations(step.result, memo)


def node_operations(network: Network, memo: Memo | None = None) -> dict[str, int]:
    """Operations of each forward definition, by name, in definition order."""
    memo = {} if memo is None else memo
    return {q.name: operations(q.definition, memo)
            for q in network.graph_order() if q.kind in (NODE, LOSS) and q.definition is not None}


def parameter_steps(derivation: Derivation) -> set[int]:
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
    per_node = node_operations(derivation.network, memo)
    needed = parameter_steps(derivation)
    per_step = tuple((s.index, step_operations(s, memo)) for s in derivation.steps)
    backward = sum(count for index, count in per_step if index in needed)
    inputs = sum(count for index, count in per_step if index not in needed)
    return OperationCounts(sum(per_node.values()), backward, inputs, tuple(per_node.items()), per_step)


# -- the naive way: every ∂L/∂θ on its own ------------------------------------------------


@dataclass(frozen=True)
class ParameterGroupCost:
    """The naive count for one parameter (all its elements)."""

    name: str
    elements: int
    derived: int
    operations: int | None

    @property
    def estimated(self) -> bool:
        return self.derived < self.elements


@dataclass(frozen=True)
class NaiveCost:
    """``sympy.diff`` of the fully expanded loss, once per parameter element, nothing shared.

    ``method`` is ``"exact"`` (every element derived), ``"sampled"`` (some
    elements of each parameter derived, each parameter's total extrapolated as
    mean × elements: the elements of one weight matrix have derivatives of the
    same form) or ``"skipped"`` (too large to attempt: ``operations`` is None);
    ``note`` says why.  ``loss_operations`` is the expanded loss's own count.
    """

    operations: int | None
    parameters: int
    derived: int
    method: str
    seconds: float
    loss_operations: int | None
    groups: tuple[ParameterGroupCost, ...]
    note: str

    @property
    def estimated(self) -> bool:
        return self.method != "exact"


def _parameter_elements(derivation: Derivation) -> tuple[list[tuple[str, list[sp.Basic]]], dict]:
    """Per parameter, the SymPy objects standing for its elements in the expanded loss,
    and a replacement of matrix elements by plain symbols (which SymPy differentiates faster)."""
    network = derivation.network
    replacements: dict = {}
    for q in network.quantities(INPUT, PARAM):
        if q.elements is None and not q.is_scalar:
            matrix = derivation.forward_expression(q.name)
            for i in range(matrix.rows):
                for j in range(matrix.cols):
                    replacements[matrix[i, j]] = sp.Dummy(f"{q.name}_{i + 1}_{j + 1}", real=True)
    groups = []
    for q in network.params:
        if q.elements is not None:
            symbols = [network[e].symbol for row in q.elements for e in row]
        elif q.is_scalar:
            symbols = [q.symbol]
        else:
            matrix = derivation.forward_expression(q.name)
            symbols = [replacements[matrix[i, j]] for i in range(matrix.rows) for j in range(matrix.cols)]
        groups.append((q.name, symbols))
    return groups, replacements


def naive_operations(derivation: Derivation, *, cap: int = 64, sample: int = 2, seconds: float = 10.0,
                     loss_cap: int = 20_000, build_cap: int = 50_000,
                     forward: int | None = None) -> NaiveCost:
    """Operation count of deriving each ∂L/∂θ on its own from the whole expanded loss.

    At most ``cap`` parameter elements are derived one by one; beyond that,
    ``sample`` elements of each parameter are derived and the rest extrapolated.
    Elements are taken round-robin over the parameters, so when the time budget
    ``seconds`` runs out every parameter already has a sample and the count is
    extrapolated from what was derived.  The loss is not expanded when the
    forward pass has more than ``build_cap`` operations, nor differentiated when
    the expanded loss has more than ``loss_cap``: then the method is "skipped".
    """
    started = time.perf_counter()
    network = derivation.network
    parameters = sum(q.size for q in network.params)
    forward = count_operations(derivation).forward if forward is None else forward

    def skipped(note: str, loss_ops: int | None = None) -> NaiveCost:
        return NaiveCost(None, parameters, 0, "skipped", time.perf_counter() - started, loss_ops, (), note)

    if forward > build_cap:
        return skipped(f"not attempted: the forward pass has {forward:,} operations (cap {build_cap:,}), "
                       "so the expanded loss is too large to differentiate per parameter")
    loss = sp.sympify(derivation.forward_expression(derivation.loss))
    # counted on SymPy's shared form, before anything walks the (possibly exponential) tree
    loss_ops = scalar_operations(loss)
    if loss_ops > loss_cap:
        return skipped(f"not attempted: the expanded loss alone has {loss_ops:,} operations (cap {loss_cap:,}); "
                       "differentiating it once per parameter element would not finish in reasonable time",
                       loss_ops)
    groups, replacements = _parameter_elements(derivation)
    if replacements:
        loss = loss.xreplace(replacements)
    exhaustive = parameters <= cap
    quota = {name: len(symbols) if exhaustive else min(sample, len(symbols)) for name, symbols in groups}
    derived: dict[str, list[int]] = {name: [] for name, _ in groups}
    out_of_time = False
    for position in range(max(quota.values(), default=0)):
        for name, symbols in groups:
            if position >= quota[name]:
                continue
            if position > 0 and time.perf_counter() - started > seconds:
                out_of_time = True
                break
            derived[name].append(scalar_operations(sp.diff(loss, symbols[position])))
        if out_of_time:
            break
    group_costs = []
    for name, symbols in groups:
        counts = derived[name]
        total = sum(counts) if len(counts) == len(symbols) else round(sum(counts) / len(counts) * len(symbols))
        group_costs.append(ParameterGroupCost(name, len(symbols), len(counts), total))
    done = sum(len(c) for c in derived.values())
    method = "exact" if done == parameters else "sampled"
    if method == "exact":
        note = f"every one of the {parameters} parameter elements derived with sympy.diff"
    else:
        why = (f"the time budget of {seconds:g} s ran out" if out_of_time
               else f"{parameters} elements exceed the cap of {cap}")
        note = (f"estimated: {done} of {parameters} parameter elements derived with sympy.diff ({why}); "
                "each parameter's count extrapolated as its mean per element × its elements")
    return NaiveCost(sum(g.operations for g in group_costs), parameters, done, method,
                     time.perf_counter() - started, loss_ops, tuple(group_costs), note)


# -- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CostReport:
    """The page's efficiency claim, measured: forward, reverse sweep and the naive way."""

    counts: OperationCounts
    naive: NaiveCost | None
    parameters: int

    @property
    def forward(self) -> int:
        return self.counts.forward

    @property
    def backward(self) -> int:
        return self.counts.backward

    @property
    def backprop(self) -> int:
        return self.counts.backprop

    @property
    def backward_ratio(self) -> float:
        return self.counts.backward_ratio

    @property
    def backprop_ratio(self) -> float:
        """(forward + backward) / forward: the page says ≈ 2."""
        return self.counts.backprop_ratio

    @property
    def naive_ratio(self) -> float | None:
        """Naive operations / forward operations (None when the naive count was skipped)."""
        if self.naive is None or self.naive.operations is None or not self.forward:
            return None
        return self.naive.operations / self.forward

    @property
    def page_naive_ratio(self) -> int:
        """The page's model of the naive way: one forward pass per parameter, p × forward."""
        return self.parameters

    @property
    def speedup(self) -> float | None:
        """Naive operations / backpropagation operations."""
        if self.naive is None or self.naive.operations is None or not self.backprop:
            return None
        return self.naive.operations / self.backprop

    def rows(self) -> list[tuple[str, str, str]]:
        """(what, operations, × forward) rows, as the summary prints them."""
        forward = self.forward or 1
        rows = [
            ("forward pass", f"{self.forward:,}", "1"),
            (f"reverse sweep ({self.parameters:,} parameter gradients)", f"{self.backward:,}",
             f"{self.backward / forward:.3g}"),
            ("backpropagation: forward + backward (page: ≈ 2×)", f"{self.backprop:,}",
             f"{self.backprop / forward:.3g}"),
            ("  (gradients of the inputs, not needed for training)", f"{self.counts.input_gradients:,}",
             f"{self.counts.input_gradients / forward:.3g}"),
            (f"page's model of the naive way: p = {self.parameters:,} forward passes",
             f"{self.parameters * self.forward:,}", f"{self.parameters:,}"),
        ]
        if self.naive is not None:
            if self.naive.operations is None:
                rows.append(("naive: sympy.diff of the expanded loss per parameter", "—", "—"))
            else:
                mark = "≈ " if self.naive.estimated else ""
                rows.append(("naive: sympy.diff of the expanded loss per parameter",
                             f"{mark}{self.naive.operations:,}", f"{mark}{self.naive_ratio:.3g}"))
        return rows

    def summary(self) -> str:
        rows = self.rows()
        width = max(len(r[0]) for r in rows)
        lines = ["operations (scalar +, −, ×, ÷, powers and function applications, element by element)"]
        lines += [f"  {what:<{width}}  {ops:>14}  {ratio:>8} × forward" for what, ops, ratio in rows]
        if self.naive is not None:
            lines.append(f"  naive count: {self.naive.note} ({self.naive.seconds:.2f} s)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def cost(derivation: Derivation, *, naive: bool = True, naive_cap: int = 64, naive_sample: int = 2,
         naive_seconds: float = 10.0, naive_loss_cap: int = 20_000, naive_build_cap: int = 50_000) -> CostReport:
    """Operation counts for the forward pass, the reverse sweep and the naive way, with ratios.

    ``naive=False`` leaves out the naive count (which calls ``sympy.diff``); the
    other options cap it, see :func:`naive_operations`.
    """
    counts = count_operations(derivation)
    parameters = sum(q.size for q in derivation.network.params)
    naive_cost = None
    if naive:
        naive_cost = naive_operations(derivation, cap=naive_cap, sample=naive_sample, seconds=naive_seconds,
                                      loss_cap=naive_loss_cap, build_cap=naive_build_cap, forward=counts.forward)
    return CostReport(counts, naive_cost, parameters)


__all__ = [
    "CostReport", "NaiveCost", "OperationCounts", "ParameterGroupCost", "cost", "count_operations",
    "naive_operations", "node_operations", "operations", "parameter_steps", "scalar_operations",
    "step_operations", "tensor_operations",
]

