"""The computational graph of a network, as Graphviz DOT (and SVG/PNG/PDF through ``dot``).

This is the reference page's 계산 그래프: every named quantity is a box, every
operation between them a small circle (× for a matrix product, + , ⊙, ReLU,
the loss …), and an arrow for each use, so fan-out shows as several arrows
leaving one box.  With values, each box also shows its forward value and its
gradient ∂L/∂name, the two numbers the forward and the backward pass leave
there.

Only the network's definitions are read: drawing never differentiates.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from . import tensor as T
from .atomic import write_atomically
from .errors import SymbackpropError
from .network import INPUT, LOSS, NODE, PARAM, Network, Quantity
from .ops import ACTIVATION_OPS, FUNCTION_OPS, LOSS_OPS
from .visit import TreeVisitor

__all__ = ["GRAPH_FORMATS", "GraphvizError", "to_dot", "write_graph"]

#: File suffixes ``write_graph`` understands; all but DOT need the ``dot`` program.
GRAPH_FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".pdf": "pdf"}

INSTALL_GRAPHVIZ = "install Graphviz: apt-get install graphviz (or brew install graphviz)"

_KIND_STYLE = {
    INPUT: 'shape=box, style="rounded,filled", fillcolor="#dbeafe"',
    PARAM: 'shape=box, style="filled", fillcolor="#fef3c7"',
    NODE: 'shape=box, style="rounded"',
    LOSS: 'shape=box, style="rounded,filled,bold", fillcolor="#fee2e2"',
}
_OP_STYLE = 'shape=circle, width=0.4, margin=0.02, fontsize=11, style="filled", fillcolor="#f3f4f6"'
_CONSTANT_STYLE = "shape=plaintext, fontsize=11"

_SUPERSCRIPTS = str.maketrans("0123456789-/", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᐟ")


class GraphvizError(SymbackpropError, OSError):
    """The ``dot`` program is missing or failed."""


def to_dot(network: Network, *, values: Mapping[str, Any] | None = None, title: str | None = None) -> str:
    """The network's computational graph in Graphviz's DOT language.

    ``values`` (inputs and parameters, as for :meth:`Derivation.evaluate`) add
    each quantity's forward value and gradient to its box.
    """
    annotations = _annotations(network, values) if values is not None else {}
    return _DotWriter(network, annotations, title).write()


def write_graph(network: Network, path: str | Path, *, values: Mapping[str, Any] | None = None,
                title: str | None = None, timeout: float = 60.0) -> Path:
    """Write the graph to ``path``: DOT for .dot/.gv, otherwise rendered by Graphviz's ``dot``."""
    path = Path(path)
    kind = GRAPH_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise GraphvizError(f"{path}: unknown graph format; use one of {', '.join(GRAPH_FORMATS)}")
    source = to_dot(network, values=values, title=title)
    if kind == "dot":
        write_atomically(path, source, make_parents=True)
        return path
    render(source, path, kind, timeout=timeout)
    return path


def render(source: str, path: Path, kind: str, *, timeout: float = 60.0) -> None:
    """Run ``dot -T<kind>`` on DOT text; the output file appears only when it succeeded."""
    program = shutil.which("dot")
    if program is None:
        raise GraphvizError(f"cannot write {path.name}: the 'dot' program was not found; {INSTALL_GRAPHVIZ} "
                            "or write .dot instead")
    with tempfile.TemporaryDirectory() as work:
        rendered = Path(work) / f"graph.{kind}"
        try:
            result = subprocess.run([program, f"-T{kind}", "-o", str(rendered)], input=source.encode("utf-8"),
                                    capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise GraphvizError(f"dot did not finish within {timeout:g} s") from None
        if result.returncode != 0 or not rendered.exists():
            detail = " ".join(result.stderr.decode("utf-8", "replace").split()) or f"exit status {result.returncode}"
            raise GraphvizError(f"dot failed: {detail}")
        write_atomically(path, rendered.read_bytes(), make_parents=True)


# -- building the DOT text -------------------------------------------------------------------


@dataclass
class _DotWriter(TreeVisitor):

    interpretation = "dot"
    network: Network
    annotations: dict[str, list[str]]
    title: str | None
    lines: list[str] = field(default_factory=list)
    ops: int = 0

    def write(self) -> str:
        self.lines = [
            "digraph computational_graph {",
            "  rankdir=LR;",  # left to right, as the page draws x ──×──> … ──> L
            '  graph [fontname="Helvetica"];',
            '  node [fontname="Helvetica", fontsize=12];',
            '  edge [color="#374151"];',
        ]
        if self.title:
            self.lines.append(f'  labelloc=t; label="{_escape(self.title)}";')
        shown = [q for q in self.network.quantities(elements=True) if q.elements is None]
        groups: dict[str, list[Quantity]] = {}
        for q in shown:
            if q.group is not None:
                groups.setdefault(q.group, []).append(q)
        for q in shown:
            if q.group is None:
                self.lines.append(f"  {_node_id(q.name)} [label=\"{self._label(q)}\", {_KIND_STYLE[q.kind]}];")
        for group, members in groups.items():
            # Elements of one declared vector or matrix are drawn together, under its name.
            self.lines.append(f"  subgraph cluster_{group} {{")
            self.lines.append(f'    label="{_escape(group)}"; style="dashed"; color="#9ca3af";')
            for q in members:
                self.lines.append(f"    {_node_id(q.name)} [label=\"{self._label(q)}\", {_KIND_STYLE[q.kind]}];")
            self.lines.append("  }")
        for q in shown:
            if q.definition is not None:
                self._connect(self._expression(q.definition), _node_id(q.name))
        self.lines.append("}")
        return "\n".join(self.lines) + "\n"

    def _label(self, q: Quantity) -> str:
        shape = "" if q.shape is None else f" ({q.shape[0]}×{q.shape[1]})"
        parts = [q.name + shape, *self.annotations.get(q.name, [])]
        return "\\n".join(_escape(p) for p in parts)

    def _op(self, label: str, style: str = _OP_STYLE) -> str:
        self.ops += 1
        identifier = f"op{self.ops}"
        self.lines.append(f'  {identifier} [label="{_escape(label)}", {style}];')
        return identifier

    def _connect(self, source: str, target: str, label: str | None = None) -> None:
        attributes = f' [label="{_escape(label)}", fontsize=10]' if label else ""
        self.lines.append(f"  {source} -> {target}{attributes};")

    # Each expression node returns the DOT id of what it produces.

    def _expression(self, value: Any) -> str:
        if isinstance(value, T.Tensor):
            return self._tensor(value)
        return self._scalar(sp.sympify(value))

    def _tensor(self, node: T.Tensor) -> str:
        return self.visit(node)

    def visit_Ref(self, node: T.Ref) -> str:
        return self._quantity(node.name)

    def _quantity(self, name: str) -> str:
        """The id of the box a quantity's use starts from."""
        return _node_id(name)

    def visit_Scalar(self, node: T.Scalar) -> str:
        return self._scalar(node.expr)

    def visit_Scale(self, node: T.Scale) -> str:
        if node.factor == -1:
            return self.apply("−", [node.operand])
        op = self._op(f"×{_number_text(node.factor)}" if node.factor.is_number else "×")
        if not node.factor.is_number:
            self._connect(self._scalar(node.factor), op)
        self._connect(self._tensor(node.operand), op)
        return op

    def visit_MatMul(self, node: T.MatMul) -> str:
        return self.apply("×", [node.left, node.right], ordered=True)

    def visit_Add(self, node: T.Add) -> str:
        return self.apply("+", [node.left, node.right])

    def visit_AddAll(self, node: T.AddAll) -> str:
        return self.apply("+", list(node.terms))

    def visit_Transpose(self, node: T.Transpose) -> str:
        return self.apply("ᵀ", [node.operand])

    def visit_Elementwise(self, node: T.Elementwise) -> str:
        name = node.function.name
        op = ACTIVATION_OPS.get(name)
        return self.apply(op.dot if op is not None else name, [node.operand])

    def visit_Power(self, node: T.Power) -> str:
        return self.apply(_power_label(node.exponent), [node.operand])

    def visit_Sum(self, node: T.Sum) -> str:
        return self.apply("Σ", [node.operand])

    def visit_LossNode(self, node: T.LossNode) -> str:
        return self.apply(LOSS_OPS[node.kind].dot, [node.prediction, node.target], ordered=True)

    def gradient_side(self, node: T.Tensor) -> str:
        """A gradient-side node (∂L/∂z, 1, a loss's gradient) does not occur in a forward definition."""
        return self.apply(type(node).__name__, list(node.children))

    visit_Adjoint = visit_Ones = visit_LossGradient = gradient_side  # noqa: N815 - named after the node types

    def apply(self, label: str, operands: list[Any], *, ordered: bool = False) -> str:
        op = self._op(label)
        for position, operand in enumerate(operands, start=1):
            # Operand order matters for a matrix product and a loss (prediction, target).
            self._connect(self._expression(operand), op, str(position) if ordered else None)
        return op

    def _scalar(self, expr: sp.Expr) -> str:
        if isinstance(expr, sp.Symbol):
            return self._quantity(self.network.name_of(expr))
        if expr.is_number:
            return self._op(_number_text(expr), _CONSTANT_STYLE)
        if isinstance(expr, sp.Add):
            return self.apply("+", list(expr.args))
        if isinstance(expr, sp.Mul):
            coefficient, rest = expr.as_coeff_mul()
            factors = list(rest)
            if coefficient == -1:
                return self.apply("−", [sp.Mul(*factors)])
            # A constant factor goes into the operation's label: ×½ rather than a "0.5" node.
            label = "×" if coefficient == 1 else f"×{_number_text(coefficient)}"
            return self.apply(label, factors)
        if isinstance(expr, sp.Pow):
            base, exponent = expr.args
            if exponent.is_number:
                return self.apply(_power_label(exponent), [base])
            return self.apply("^", [base, exponent], ordered=True)
        if isinstance(expr, sp.Function):
            name = type(expr).__name__
            op = FUNCTION_OPS.get(name)
            return self.apply(op.dot if op is not None else name, [a for a in expr.args if not a.is_number])
        return self.apply(type(expr).__name__, list(expr.args))


def _node_id(name: str) -> str:
    # Names are identifiers (checked by the network), so this is a valid DOT id.
    return f"q_{name}"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _power_label(exponent: sp.Expr) -> str:
    if exponent == -1:
        return "1/·"
    if exponent == sp.Rational(1, 2):
        return "√"
    return "·" + str(exponent).translate(_SUPERSCRIPTS)


def _number_text(number: sp.Expr) -> str:
    if number == sp.Rational(1, 2):
        return "½"
    if isinstance(number, sp.Rational):
        return str(number)
    return f"{float(number):.4g}"


# -- values and gradients in the boxes ---------------------------------------------------------


#: The derivation each network's boxes were annotated from (a network is complete once its loss is defined).
_DERIVED: weakref.WeakKeyDictionary[Network, Any] = weakref.WeakKeyDictionary()


def _derivation_of(network: Network) -> Any:
    """The network's derivation, made once: drawing it at other values reuses the derivation and its program."""
    from .backprop import backprop

    derivation = _DERIVED.get(network)
    if derivation is None:
        derivation = _DERIVED[network] = backprop(network)
    return derivation


def _annotations(network: Network, values: Mapping[str, Any]) -> dict[str, list[str]]:
    derivation = _derivation_of(network)
    evaluation = derivation.evaluate(dict(values))
    batched = evaluation.batch_size is not None
    notes: dict[str, list[str]] = {}
    for q in network.quantities(elements=True):
        if q.elements is not None:
            continue
        owner, index = (q.group, q.index) if q.group is not None else (q.name, None)
        owner_kind = network[owner].kind
        lines = []
        # In a batch, per-sample values do not fit in a box; parameters and the mean loss do.
        if not batched or owner_kind in (PARAM, LOSS):
            lines.append("= " + _format(_pick(evaluation.forward[owner], index)))
        if q.kind != LOSS and (not batched or owner_kind == PARAM):
            lines.append(f"∂L/∂{q.name} = " + _format(_pick(evaluation.grad[owner], index)))
        notes[q.name] = lines
    return notes


def _number(value: float) -> str:
    return f"{value:.4g}"


def _pick(array: Any, index: tuple[int, int] | None) -> Any:
    array = np.asarray(array, dtype=float)
    return array if index is None else array.reshape(array.shape[-2:])[index]


def _format(array: Any) -> str:
    array = np.asarray(array, dtype=float)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]  # a column vector prints as the page writes it, [1.2, 1.2]
    text = np.array2string(array, separator=", ", threshold=8, edgeitems=2, max_line_width=10_000,
                           formatter={"float_kind": _number})
    return " ".join(text.split())
