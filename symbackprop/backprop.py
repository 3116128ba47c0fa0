"""The reverse sweep: from the loss back to the inputs, one named quantity at a time.

The network's definition order is topological, so walking it backwards
visits every node after all of its consumers: by then every gradient flowing
into it is known, is added up once (fan-out) and is then reused — by name,
as ∂L/∂node — by everything below it.  That reuse is what makes this
backpropagation rather than differentiating the loss once per parameter.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import replace
from typing import Any

import sympy as sp

from . import rules
from . import tensor as T
from .collector import collector_paused
from .derivation import EDGE, SEED, SUM, Derivation, Step
from .errors import NetworkError
from .network import INPUT, LOSS, NODE, PARAM, Network, Quantity

BATCH_SIZE = T.BATCH_SIZE

_KIND_ORDER = {PARAM: 0, NODE: 1, LOSS: 1, INPUT: 2}


class UnusedParameterWarning(UserWarning):
    """A parameter does not influence the loss; its gradient is zero."""


def backprop(network: Network, *, batch: bool = False) -> Derivation:
    """Derive ∂L/∂name for every parameter, node and input of ``network``.

    With ``batch=True`` the loss is the mean of per-sample losses,
    L = (1/N) Σᵢ Lᵢ: the derivation starts from ∂L/∂Lᵢ = 1/N and every parameter
    gradient is the sum over the batch of the per-sample terms.  Numerically a
    batch is always averaged, whatever this flag says; it only changes what the
    derivation shows.
    """
    if not isinstance(network, Network):
        raise TypeError(f"backprop expects a symbackprop Network, got {type(network).__name__}")
    if network.loss_name is None:
        raise NetworkError("the network has no loss: define one with net.loss(name, expression)")
    seed = 1 / BATCH_SIZE if batch else sp.Integer(1)
    sweep = _Sweep(network, seed)
    with collector_paused():
        sweep.run()
    unreached = tuple(q.name for q in network.quantities(PARAM, elements=True)
                      if q.elements is None and q.name not in sweep.reached)
    for name in unreached:
        warnings.warn(f"parameter {name!r} does not influence the loss {network.loss_name!r}; "
                      "its gradient is zero", UnusedParameterWarning, stacklevel=2)
    return Derivation(network, tuple(sweep.steps), batch=batch, seed=seed, unreached=unreached)


class _Sweep:
    def __init__(self, network: Network, seed: sp.Expr) -> None:
        self.network = network
        self.seed = seed
        self.steps: list[Step] = []
        self.incoming: dict[str, list[Step]] = defaultdict(list)
        self.reached: set[str] = set()
        self._position = {q.name: i for i, q in enumerate(network.quantities(elements=True))}

    def run(self) -> None:
        loss = self.network[self.network.loss_name]
        self._record(kind=SEED, target=loss.name, source=None, result=self.seed,
                     rules=("batch_mean" if self.seed != 1 else "seed",), shape=None)
        self.reached.add(loss.name)
        self._pull_through(loss)
        for quantity in reversed(self.network.graph_order()[:-1]):
            edges = self.incoming.get(quantity.name)
            if not edges:
                continue
            self.reached.add(quantity.name)
            if len(edges) == 1:  # the only edge in is the whole gradient
                only = edges[0]
                self.steps[only.index] = replace(only, complete=True)
                edges[0] = self.steps[only.index]
            else:
                # summed in the order the consumers were defined, as printed: z1's term before z2's
                defined = sorted(edges, key=lambda e: self._position[e.source])
                self._record(kind=SUM, target=quantity.name, source=None,
                             result=_add_all([e.result for e in defined], quantity),
                             rules=("fan_out",), shape=quantity.shape,
                             parts=tuple(e.index for e in edges))
            if quantity.definition is not None:
                self._pull_through(quantity)

    # -- one node: its upstream gradient pulled through its definition -----------------

    def _pull_through(self, quantity: Quantity) -> None:
        is_loss = quantity.kind == LOSS
        definition = quantity.definition
        if isinstance(definition, T.Tensor):
            upstream = T.Scalar(self.seed) if is_loss else T.Adjoint(quantity.name, quantity.matrix_shape)
            output = None if is_loss else T.Ref(quantity.name, quantity.matrix_shape)
            arrivals = _walk(definition, upstream, self.network, output)
        else:
            upstream = self.seed if is_loss else T.AdjointSymbol(quantity.name)
            arrivals = {}
            symbols = [self.network[name].symbol for name in quantity.dependencies]
            steps = rules.scalar_steps(definition, symbols, quantity.name)
            for name, symbol in zip(quantity.dependencies, symbols):
                local, rule = steps[symbol]
                arrivals[name] = [(upstream * local, (rule,), local, rules.Product.SCALE)]
        order = {name: i for i, name in enumerate(quantity.dependencies)}
        for name in sorted(arrivals, key=lambda n: (_KIND_ORDER[self.network[n].kind], order.get(n, 0))):
            self._edge(quantity, self.network[name], arrivals[name])

    def _edge(self, source: Quantity, target: Quantity, arrivals: list) -> None:
        if len(arrivals) == 1:
            result, path, local, product = arrivals[0]
        else:  # the target occurs more than once in one definition: its paths add up
            result = _add_all([a[0] for a in arrivals], target)
            path = tuple(dict.fromkeys(r for a in arrivals for r in a[1]))
            local, product = None, rules.Product.OTHER
        result = _fit(result, target)
        step = self._record(kind=EDGE, target=target.name, source=source.name, result=result,
                            rules=path, local=local, product=product, shape=target.shape,
                            complete=False)
        self.incoming[target.name].append(step)

    def _record(self, **fields: Any) -> Step:
        fields.setdefault("complete", True)
        step = Step(index=len(self.steps), **fields)
        self.steps.append(step)
        return step


def _walk(definition: T.Tensor, upstream: T.Tensor, network: Network,
          output: T.Tensor | None = None) -> dict[str, list]:
    """Pull ``upstream`` through a tensor expression down to its named leaves.

    ``output`` is the named value the whole expression defines, for rules written with it.

    Returns, per leaf name, the arriving gradients with the rules met on the
    way and the local factor (kept only when the path has one non-trivial step).
    """
    arrivals: dict[str, list] = defaultdict(list)

    def visit(node: T.Tensor, gradient: T.Tensor, path: tuple, factor: tuple) -> None:
        if isinstance(node, T.Ref):
            arrivals[node.name].append((gradient, path, *_single_factor(factor)))
            return
        if isinstance(node, T.Scalar):
            symbols = sorted(node.expr.free_symbols, key=str)
            steps = rules.scalar_steps(node.expr, symbols, "")
            for symbol in symbols:
                name = network.name_of(symbol)
                local, rule = steps[symbol]
                step_factor = factor + (((local, rules.Product.SCALE),) if local != 1 else ())
                arrivals[name].append((T.scale(local, gradient), path + ((rule,) if local != 1 else ()),
                                       *_single_factor(step_factor)))
            return
        for pull in rules.pulls(node, gradient, output if node is definition else None):
            nontrivial = pull.product != rules.Product.IDENTITY
            visit(pull.operand, pull.gradient, path + (pull.rule,),
                  factor + (((pull.local, pull.product),) if nontrivial else ()))

    visit(definition, upstream, (), ())
    return arrivals


def _single_factor(factors: tuple) -> tuple[Any, str]:
    if not factors:
        return None, rules.Product.IDENTITY
    if len(factors) == 1:
        return factors[0]
    return None, rules.Product.OTHER


def _fit(result: Any, target: Quantity) -> Any:
    """Give a scalar target a SymPy result where the tensor form is just a scalar."""
    if isinstance(result, T.Tensor) and target.is_scalar:
        scalar = T.as_scalar_expr(result)
        if scalar is not None:
            return scalar
        if not result.is_scalar:
            return T.total(result)
    return result


def _add_all(results: list, target: Quantity) -> Any:
    if all(not isinstance(r, T.Tensor) for r in results):
        return sp.Add(*results)
    return T.add_all([T.as_tensor(r) for r in results])
