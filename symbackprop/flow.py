"""Gradient flow through the layers (the page's vanishing and exploding gradients).

For every quantity the report gives the product of local Jacobians from the
loss down to it, read off the recorded steps (their ``local`` factors, never
differentiated again): ∂L/∂h1 = W2ᵀ · diag(f′(z2)) · ∂L/∂h2, unrolled to the
loss.  At given values it adds the Frobenius norm of every gradient and flags
the layers where it vanishes or explodes relative to the layer nearest the loss.

:func:`deep_chain` builds the page's example: a chain of layers whose local
factors are all the same number, so the gradient reaching the input is that
number to the power of the depth (0.5¹⁰ ≈ 0.001, 2¹⁰ = 1024).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from . import rules
from . import tensor as T
from .cost import scalar_operations
from .errors import NetworkError
from .network import INPUT, NODE, PARAM, Network

if TYPE_CHECKING:
    from .derivation import Derivation, Step

#: A gradient norm below this fraction of the reference norm counts as vanishing.
VANISHING = 1e-3
#: A gradient norm above this multiple of the reference norm counts as exploding.
EXPLODING = 1e3

OK, VANISHING_STATUS, EXPLODING_STATUS, NO_REFERENCE = "ok", "vanishing", "exploding", "no reference"


# -- layers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One layer of a network: its nodes, its output and its parameters.

    Networks named as the page names them (zk = Wk·h(k−1) + bk, hk = f(zk)) give
    one layer per k, with the input x as layer 0; the output of layer k is hk, or
    zk where the layer has no activation.  Any other network gives one layer per
    node, in definition order.
    """

    index: int
    output: str
    nodes: tuple[str, ...] = ()
    weight: str | None = None
    bias: str | None = None


_LAYER_NAME = re.compile(r"([zhWb])([0-9]+)\Z")


def network_layers(network: Network) -> tuple[Layer, ...]:
    quantities = {q.name: q for q in network.quantities()}
    indices = sorted({int(m.group(2)) for name, q in quantities.items()
                      if (m := _LAYER_NAME.match(name)) and m.group(1) in "zh" and q.kind == NODE})
    if not indices:
        return tuple(Layer(i + 1, q.name, (q.name,)) for i, q in enumerate(network.quantities(NODE)))

    def named(name: str, kind: str) -> str | None:
        return name if name in quantities and quantities[name].kind == kind else None

    layers = []
    if named("x", INPUT):
        layers.append(Layer(0, "x"))
    for k in indices:
        nodes = tuple(n for n in (f"z{k}", f"h{k}") if named(n, NODE))
        layers.append(Layer(k, nodes[-1], nodes, named(f"W{k}", PARAM), named(f"b{k}", PARAM)))
    return tuple(layers)


# -- the chain of local factors ------------------------------------------------------------


def _text(value: Any) -> str:
    """A short, readable form of a local factor: W2ᵀ, relu′(z1), (h2 − y)."""
    if isinstance(value, T.Tensor):
        return _tensor_text(value)
    text = str(value)
    return f"({text})" if isinstance(value, (sp.Add, sp.Mul)) else text


def _tensor_text(node: T.Tensor) -> str:
    if isinstance(node, T.Transpose) and isinstance(node.operand, (T.Ref, T.Adjoint)):
        return f"{_tensor_text(node.operand)}ᵀ"
    if isinstance(node, T.Elementwise):
        return f"{node.function.name.replace(chr(39), '′')}({_tensor_text(node.operand)})"
    if isinstance(node, T.Adjoint):
        return f"∂L/∂{node.name}"
    if isinstance(node, T.LossGradient):
        return f"∂{node.kind}/∂{_tensor_text(getattr(node, node.wrt))}"
    return repr(node)


@dataclass(frozen=True)
class Factor:
    """One local factor on the way from the loss down: the local derivative of a recorded step."""

    step: int
    source: str
    target: str
    local: Any
    product: str
    target_is_scalar: bool

    def apply(self, upstream: str | None) -> str | None:
        """The chain so far (None for 1) with this factor applied, as text."""
        local = None if self.local is None else _text(self.local)
        if self.product == rules.IDENTITY:
            return upstream
        if self.product == rules.TRANSPOSE:
            return f"({upstream or '1'})ᵀ"
        if self.product == rules.RIGHT:
            return f"{upstream or '1'} · {local}"
        if self.product == rules.SUM:
            ones = "1ᵀ" if self.target_is_scalar else "1"
            return f"{ones} · {upstream}" if upstream else ones
        if self.product == rules.HADAMARD:
            local = f"diag({local})"
        elif self.product not in (rules.LEFT, rules.SCALE) or local is None:
            local = f"∂{self.source}/∂{self.target}"
        return f"{local} · {upstream}" if upstream else local


@dataclass(frozen=True)
class FlowEntry:
    """∂L/∂name: its chain of local factors, its closed product and its norm at the values.

    ``factors`` run from the loss down and are empty where several paths lead
    from the loss to ``name`` (``paths`` counts them); ``expression`` is
    ∂L/∂name with every upstream gradient replaced by its own product (None
    where that would exceed the size limit).  ``relative`` is the norm over the
    norm of ``reference``, its counterpart nearest the loss (see :func:`gradient_flow`).
    """

    name: str
    kind: str
    layer: int | None
    factors: tuple[Factor, ...]
    paths: int
    expression: Any
    norm: float
    reference: str | None
    relative: float
    status: str
    seed: Any = 1

    @property
    def chain(self) -> str:
        """The product as text, e.g. ``∂L/∂h1 = W2ᵀ · diag(relu′(z2)) · (h2 − y)``."""
        if not self.factors:
            if self.paths == 0:
                return f"∂L/∂{self.name} = 0"
            return f"∂L/∂{self.name} = a sum over {self.paths} paths from the loss"
        text: str | None = None if self.seed == 1 else _text(self.seed)
        for factor in self.factors:
            text = factor.apply(text)
        return f"∂L/∂{self.name} = {text or '1'}"


@dataclass(frozen=True)
class LayerFlow:
    """The norms of one layer's gradients and how they compare with the layer nearest the loss."""

    layer: Layer
    output_norm: float
    output_relative: float
    weight_norm: float | None
    weight_relative: float | None
    bias_norm: float | None
    status: str

    @property
    def index(self) -> int:
        return self.layer.index


@dataclass(frozen=True)
class GradientFlow:
    """The gradient flow report of a derivation at some values; see :func:`gradient_flow`."""

    entries: tuple[FlowEntry, ...]
    layers: tuple[LayerFlow, ...]
    vanishing: float
    exploding: float
    batch_size: int | None

    def entry(self, name: str) -> FlowEntry:
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(f"no gradient flow entry for {name!r}")

    def __getitem__(self, name: str) -> FlowEntry:
        return self.entry(name)

    @property
    def vanishing_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entries if e.status == VANISHING_STATUS)

    @property
    def exploding_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entries if e.status == EXPLODING_STATUS)

    @property
    def end_to_end(self) -> float | None:
        """‖∂L/∂(lowest layer's output)‖ over ‖∂L/∂(top layer's output)‖: the whole product of layer Jacobians."""
        return self.layers[0].output_relative if self.layers else None

    def summary(self) -> str:
        top = self.layers[-1] if self.layers else None
        against = f"the top layer's ({top.layer.output}, {top.layer.weight or '—'})" if top else "the top layer's"
        lines = [f"gradient norms (Frobenius), relative to {against}; vanishing < {self.vanishing:g}, "
                 f"exploding > {self.exploding:g}"]
        lines.append(f"  {'layer':>5}  {'output':>8}  {'‖∂L/∂output‖':>13}  {'relative':>10}  "
                     f"{'weight':>7}  {'‖∂L/∂W‖':>11}  {'relative':>10}  status")
        for lf in reversed(self.layers):
            weight = lf.layer.weight or "—"
            wn = "—" if lf.weight_norm is None else f"{lf.weight_norm:.4g}"
            wr = "—" if lf.weight_relative is None else f"{lf.weight_relative:.4g}"
            lines.append(f"  {lf.index:>5}  {lf.layer.output:>8}  {lf.output_norm:>13.4g}  "
                         f"{lf.output_relative:>10.4g}  {weight:>7}  {wn:>11}  {wr:>10}  {lf.status}")
        return "\n".join(lines)

    def chains(self) -> str:
        return "\n".join(e.chain for e in self.entries)

    def __str__(self) -> str:
        return self.summary()


# -- building the report ---------------------------------------------------------------------


def _paths(derivation: Derivation) -> dict[str, int]:
    """How many distinct paths lead from the loss to each name (fan-out multiplies them)."""
    counts: dict[str, int] = {derivation.loss: 1}
    for step in derivation.steps:
        if step.kind == "edge":
            counts[step.target] = counts.get(step.target, 0) + counts.get(step.source, 0)
    return counts


def _factors(derivation: Derivation, name: str, edges_into: dict[str, list[Step]]) -> tuple[Factor, ...]:
    network = derivation.network
    chain: list[Factor] = []
    while name != derivation.loss:
        edges = edges_into.get(name, [])
        if len(edges) != 1:
            return ()
        step = edges[0]
        chain.append(Factor(step.index, step.source, step.target, step.local, step.product,
                            network[step.target].is_scalar))
        name = step.source
    return tuple(reversed(chain))


def _tree_size(value: Any, memo: dict | None = None) -> int:
    """Nodes of a tensor tree plus the operations of the SymPy expressions in it: a size to cap."""
    memo = {} if memo is None else memo
    if isinstance(value, T.Tensor):
        total = 0
        for node in T.walk(value):
            total += 1
            if isinstance(node, T.Scalar):
                total += scalar_operations(node.expr, memo)
            elif isinstance(node, T.Scale):
                total += scalar_operations(node.factor, memo)
        return total
    if isinstance(value, sp.MatrixBase):
        return sum(_tree_size(v, memo) for v in value)
    return scalar_operations(value, memo) + 1


class _Products:
    """∂L/∂name with every upstream gradient replaced by its own product, memoized, size-capped."""

    def __init__(self, derivation: Derivation, limit: int) -> None:
        self.derivation = derivation
        self.limit = limit
        self.done: dict[str, Any] = {derivation.loss: derivation.seed}
        self.sizes: dict[str, int] = {}
        self.memo: dict = {}
        self.too_large: set[str] = set()

    def of(self, name: str) -> Any:
        if name in self.done:
            return self.done[name]
        if name in self.too_large:
            return None
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
            elif self._estimate(step.result) > self.limit:  # refuse before building anything large
                value = None
            else:
                value = self._substitute(step.result)
        if value is not None and self.size_of(name, value) > self.limit:
            value = None
        if value is None:
            self.too_large.add(name)
        else:
            self.done[name] = value
        return value

    def size_of(self, name: str, value: Any) -> int:
        if name not in self.sizes:
            self.sizes[name] = _tree_size(value, self.memo)
        return self.sizes[name]

    def _estimate(self, result: Any) -> int:
        """The size of ``result`` with its upstream gradients substituted, from their known sizes."""
        upstream: set[str] = set()
        if isinstance(result, T.Tensor):
            for node in T.walk(result):
                if isinstance(node, T.Adjoint):
                    upstream.add(node.name)
                elif isinstance(node, (T.Scalar, T.Scale)):
                    expr = node.expr if isinstance(node, T.Scalar) else node.factor
                    upstream |= {s.of for s in expr.free_symbols if isinstance(s, T.AdjointSymbol)}
        else:
            upstream = {s.of for s in sp.sympify(result).free_symbols if isinstance(s, T.AdjointSymbol)}
        total = _tree_size(result, self.memo)
        for name in upstream:
            value = self.of(name)
            if value is None:
                return self.limit + 1
            total += self.size_of(name, value)
        return total

    def _substitute(self, value: Any) -> Any:
        if isinstance(value, T.Tensor):
            return self._tensor(value)
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
                    T.Hadamard(T.Scalar(coefficient), upstream)
            replacements[symbol] = upstream
        return expr.xreplace(replacements)

    def _tensor(self, node: T.Tensor) -> Any:
        if isinstance(node, T.Adjoint):
            upstream = self.of(node.name)
            if upstream is None:
                return None
            return upstream if isinstance(upstream, T.Tensor) else T.Scalar(upstream)
        if isinstance(node, T.Scalar):
            inner = self._scalar(node.expr)
            return inner if inner is None or isinstance(inner, T.Tensor) else T.Scalar(inner)
        changes = {}
        for f in dataclasses.fields(node):
            child = getattr(node, f.name)
            if isinstance(child, T.Tensor):
                new = self._tensor(child)
            elif isinstance(child, sp.Expr) and any(isinstance(s, T.AdjointSymbol) for s in child.free_symbols):
                new = self._scalar(child)
                if isinstance(new, T.Tensor):
                    return None
            else:
                continue
            if new is None:
                return None
            changes[f.name] = new
        return dataclasses.replace(node, **changes) if changes else node


def _norm(array: Any) -> float:
    return float(np.linalg.norm(np.asarray(array, dtype=float).ravel()))


def _status(relative: float, vanishing: float, exploding: float) -> str:
    if np.isnan(relative):
        return NO_REFERENCE
    if relative < vanishing:
        return VANISHING_STATUS
    if relative > exploding:
        return EXPLODING_STATUS
    return OK


def _relative(norm: float, reference: float) -> float:
    return norm / reference if reference else float("nan")  # a zero reference compares nothing


def _references(network: Network, layers: tuple[Layer, ...], order: list[str]) -> dict[str, str]:
    """What each gradient norm is compared with: its counterpart nearest the loss.

    Layer outputs (the input x included) are compared with the top layer's
    output, zk with the top z, Wk with the top W, bk with the top b; anything
    else with the node (or, for a parameter, the parameter) the sweep reaches first.
    """
    first_node = next((n for n in order if network[n].kind == NODE), None)
    first_param = next((n for n in order if network[n].kind == PARAM), None)
    outputs = {layer.output for layer in layers}
    top_output = next((n for n in order if n in outputs), first_node)
    first_by_prefix: dict[str, str] = {}
    for name in order:
        match = _LAYER_NAME.match(name)
        if match and name not in outputs:
            first_by_prefix.setdefault(match.group(1), name)
    references = {}
    for name in order:
        match = _LAYER_NAME.match(name)
        if name in outputs:
            references[name] = top_output
        elif match and match.group(1) in first_by_prefix:
            references[name] = first_by_prefix[match.group(1)]
        else:
            references[name] = first_param if network[name].kind == PARAM else first_node
    return {n: r for n, r in references.items() if r is not None}


def _group(network: Network, name: str) -> str:
    return network[name].group or name


def gradient_flow(derivation: Derivation, values: Mapping[str, Any], *, vanishing: float = VANISHING,
                  exploding: float = EXPLODING, max_expression_size: int = 2000) -> GradientFlow:
    """Per quantity and per layer: the product of local Jacobians and the gradient norms at ``values``.

    Norms are Frobenius norms of the arrays :meth:`Derivation.evaluate` returns
    (for a batch: of all per-sample gradients of the mean loss together).  A
    node's or input's norm is compared with the node nearest the loss (the
    network's output), zk with the top z, Wk with the top W (and so on for
    networks named as the page names them), any other parameter with the
    parameter nearest the loss; a ratio below ``vanishing`` or above
    ``exploding`` flags it.
    """
    network = derivation.network
    evaluation = derivation.evaluate(values)
    paths = _paths(derivation)
    products = _Products(derivation, max_expression_size)
    layers = network_layers(network)
    layer_of = {name: layer.index for layer in layers for name in (*layer.nodes, layer.weight, layer.bias) if name}
    layer_of.update({layer.output: layer.index for layer in layers})

    order: list[str] = []  # the order in which the sweep reaches each (grouped) name
    for step in derivation.steps:
        name = _group(network, step.target)
        if name != derivation.loss and name not in order:
            order.append(name)
    order += [q.name for q in network.quantities(NODE, PARAM, INPUT) if q.name not in order]
    references = _references(network, layers, order)
    edges_into: dict[str, list[Step]] = {}
    for step in derivation.edges:
        edges_into.setdefault(step.target, []).append(step)
    norms = {n: _norm(evaluation.grad[n]) for n in order}

    entries = []
    for name in order:
        quantity = network[name]
        if quantity.elements is not None:
            count = sum(paths.get(e, 0) for row in quantity.elements for e in row)
            factors: tuple[Factor, ...] = ()
        else:
            count = paths.get(name, 0)
            factors = _factors(derivation, name, edges_into) if count == 1 else ()
        reference = references.get(name)
        relative = _relative(norms[name], norms[reference]) if reference else float("nan")
        entries.append(FlowEntry(name, quantity.kind, layer_of.get(name), factors, count, products.of(name),
                                 norms[name], reference, relative, _status(relative, vanishing, exploding),
                                 derivation.seed))

    by_name = {e.name: e for e in entries}
    layer_flows = []
    for layer in layers:
        output = by_name.get(layer.output)
        if output is None:
            continue
        weight = by_name.get(layer.weight) if layer.weight else None
        bias = by_name.get(layer.bias) if layer.bias else None
        statuses = {output.status} | ({weight.status} if weight else set())
        status = next((s for s in (VANISHING_STATUS, EXPLODING_STATUS, NO_REFERENCE) if s in statuses), OK)
        layer_flows.append(LayerFlow(layer, output.norm, output.relative,
                                     weight.norm if weight else None, weight.relative if weight else None,
                                     bias.norm if bias else None, status))
    return GradientFlow(tuple(entries), tuple(layer_flows), vanishing, exploding, evaluation.batch_size)


# -- the page's deep chain -------------------------------------------------------------------


@dataclass(frozen=True)
class DeepChain:
    """A deep network whose every layer multiplies the gradient by the same factor.

    ``factor`` is that local factor, weight × f′(z) at the chosen values, so the
    gradient reaching the input is ``factor ** depth`` times the gradient at the output.
    """

    derivation: Derivation
    values: dict[str, Any]
    depth: int
    activation: str
    weight: float
    factor: float

    def flow(self, **options: Any) -> GradientFlow:
        return gradient_flow(self.derivation, self.values, **options)


def deep_chain(depth: int = 10, activation: str = "sigmoid", weight: float = 2.0, *, width: int = 1,
               x: float | None = None) -> DeepChain:
    """A chain of ``depth`` layers, each Wk = weight·I (width × width), with the page's names.

    The biases put the layers where the activation is steepest for sigmoid and
    tanh (every zk = 0, so f′(zk) is σ′(0) = ¼ or tanh′(0) = 1) and leave ReLU-like
    activations on their linear side (bias 0 and a positive input, f′ = 1).  So
    the local factor of every layer is weight · f′(0) or weight: sigmoid with
    weight 2 gives 0.5 per layer (0.5¹⁰ ≈ 0.001 over ten layers) and ReLU with
    weight 2 gives 2 (2¹⁰ = 1024).  The loss is ½‖h − y‖² with y = h − 1, so ∂L/∂h = 1 at the top.
    """
    from .backprop import backprop
    from .functions import ACTIVATIONS
    from .models import mlp

    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise NetworkError(f"depth must be a positive integer, got {depth!r}")
    if isinstance(activation, str) and activation not in ACTIVATIONS:
        raise NetworkError(f"unknown activation {activation!r}; known: {', '.join(sorted(ACTIVATIONS))}")
    function = ACTIVATIONS[activation] if isinstance(activation, str) else activation
    centred = function.name in ("sigmoid", "tanh")
    t = sp.Symbol("t", real=True)
    network = mlp([width] * (depth + 1), activation=function, output_activation=function, loss="half_squared_error")
    derivation = backprop(network)
    h = (0.5 if x is None else x) if centred else (1.0 if x is None else x)
    values: dict[str, Any] = {"x": _column(h, width), "y": _column(0.0, width)}
    slopes = []
    for k in range(1, depth + 1):
        bias = -weight * h if centred else 0.0
        z = weight * h + bias
        values[f"W{k}"] = weight * np.eye(width) if width > 1 else weight
        values[f"b{k}"] = _column(bias, width)
        h = float(function.formula(sp.Float(z)))
        slopes.append(float(function.derivative.formula(t).subs(t, sp.Float(z))))
    values["y"] = _column(h - 1.0, width)  # so that ∂L/∂h_depth = 1
    factor = weight * slopes[0]
    return DeepChain(derivation, values, depth, function.name, weight, factor)


def _column(value: float, width: int) -> Any:
    return [value] * width if width > 1 else value


# -- plotting (matplotlib is optional) -------------------------------------------------------


def plot_gradient_flow(report: GradientFlow, path: Any, *, title: str | None = None) -> None:
    """Write a PNG (or any format matplotlib knows from the suffix) of the norm per layer.

    Raises ModuleNotFoundError with the install command when matplotlib is missing.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ModuleNotFoundError(
            "plot_gradient_flow needs matplotlib: pip install 'symbackprop[plot]' (or pip install matplotlib)"
        ) from error
    layers = list(report.layers)
    figure = Figure(figsize=(6.4, 4.0))
    axes = figure.subplots()
    indices = [lf.index for lf in layers]
    axes.plot(indices, [lf.output_norm for lf in layers], "o-", label="‖∂L/∂output‖ per layer")
    weighted = [lf for lf in layers if lf.weight_norm is not None]
    if weighted:
        axes.plot([lf.index for lf in weighted], [lf.weight_norm for lf in weighted], "s--", label="‖∂L/∂W‖")
    reference = next((lf.output_norm for lf in reversed(layers) if lf.output_norm > 0), None)
    if reference:
        axes.axhline(reference * report.vanishing, color="tab:blue", linestyle=":", linewidth=1,
                     label=f"vanishing ({report.vanishing:g} × top)")
        axes.axhline(reference * report.exploding, color="tab:red", linestyle=":", linewidth=1,
                     label=f"exploding ({report.exploding:g} × top)")
    if all(lf.output_norm > 0 for lf in layers):
        axes.set_yscale("log")
    axes.set_xlabel("layer (0 = input)")
    axes.set_ylabel("gradient norm (Frobenius)")
    axes.set_title(title or "gradient norm per layer")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)


__all__ = [
    "EXPLODING", "VANISHING", "DeepChain", "Factor", "FlowEntry", "GradientFlow", "Layer", "LayerFlow",
    "deep_chain", "gradient_flow", "network_layers", "plot_gradient_flow",
]

