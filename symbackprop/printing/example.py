"""The worked example (구체적 예시): the derivation's steps with numbers, then one update step.

Every forward value and gradient is ``Derivation.evaluate``'s; a local factor
shown on its own (ReLU′ at z = 1.78 is 1) is the step's own local expression at
those values.  For a batch, each node lists its samples and each parameter its
mean gradient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from .. import tensor as T
from ..derivation import SUM, Step
from ..network import INPUT, LOSS, PARAM
from . import structure as S
from .abridge import GAP_ROW, Omitted
from .blocks import Block, Bullets, Display, Heading, Paragraph
from .names import partial
from .numbers import WorkedValues, elided_indices, transposed
from .precedence import Precedence, Printed
from .scalars import ScalarPrinter, Shown
from .tensors import TensorPrinter
from .widths import ROW_WIDTH, printed_width

if TYPE_CHECKING:
    from .compose import Writer


#: Batches of at most this many samples show each sample's term of a parameter's mean gradient.
SAMPLE_TERMS = 4


class Example:
    """4. The worked example: the same steps with numbers, then one gradient-descent update."""

    def __init__(self, writer: Writer, values: WorkedValues) -> None:
        self.w = writer
        self.values = values
        self.format = values.format
        shown: dict[sp.Symbol, Shown] = {}
        if not values.batched:
            for quantity in writer.network.quantities(elements=True):
                if quantity.symbol is not None:
                    shown[quantity.symbol] = self.format.shown(values.forward(quantity.name))
                    shown[T.AdjointSymbol(quantity.name)] = self.format.shown(values.gradient(quantity.name))
            shown[T.BATCH_SIZE] = Shown(str(values.batch_size or 1))
        self.shown = shown
        self.numeric = TensorPrinter(writer.notation, leaf=self.leaf, shown=shown)

    # -- numbers in place of names ---------------------------------------------------------------

    def leaf(self, node: T.Tensor) -> Printed | None:
        if isinstance(node, T.Ref):
            return self.number(self.values.forward(node.name))
        if isinstance(node, T.Adjoint):
            return self.number(self.values.gradient(node.name))
        if isinstance(node, T.Transpose) and isinstance(node.operand, (T.Ref, T.Adjoint)):
            operand = node.operand
            value = (self.values.forward if isinstance(operand, T.Ref) else self.values.gradient)(operand.name)
            return self.number(transposed(value))
        return None

    def number(self, value: Any) -> Printed:
        negative = self.format.negative_scalar(value)
        return Printed(self.format.matrix(value), Precedence.NEGATIVE if negative else Precedence.ATOM)

    def factor(self, value: Any, first: bool) -> str:
        """A number in a product: a negative scalar is parenthesised unless it comes first."""
        text = self.format.matrix(value)
        return rf"\left({text}\right)" if self.format.negative_scalar(value) and not first else text

    def substituted(self, value: Any) -> str:
        if isinstance(value, T.Tensor):
            return self.numeric.doprint(value)
        return ScalarPrinter(self.w.notation, self.shown, numeric=True).doprint(sp.sympify(value))

    def samples(self, name: str, gradient: bool = False) -> str:
        """A value, or for a batch its samples in order (at most four shown)."""
        value = self.values.gradient(name) if gradient else self.values.forward(name)
        if not self.values.is_batched(name, gradient):
            return self.format.matrix(value)
        shown = [self.format.matrix(value[k]) for k in range(min(4, value.shape[0]))]
        more = r",\; \ldots" if value.shape[0] > 4 else ""
        return r"\left(" + r",\; ".join(shown) + more + r"\right)"

    # -- the section ------------------------------------------------------------------------------

    def section(self) -> list[Block]:
        w = self.w
        loss = w.network[w.network.loss_name]
        given = self.given()
        forward = self.forward_rows()
        backward = self.backward_blocks()
        update = self.update_rows()
        notes = []
        if self.values.batched:
            notes.append(w.say("example.batch", n=self.values.batch_size))
        if self.values.exact and not self.format.rounded:
            notes.append(w.say("example.exact"))
        elif self.format.rounded:
            if w.options.decimals is not None:
                notes.append(w.say("example.rounded_places", decimals=w.options.decimals))
            else:
                notes.append(w.say("example.rounded", digits=w.options.digits))
        eta = self.format.number(self.values.learning_rate)
        return [
            Heading(2, w.say("example.heading")),
            Paragraph(w.say("example.loss")),
            Display((f"{w.lhs(loss)} = {w.expr(loss.definition)}",)),
            Heading(3, w.say("forward.heading")),
            Paragraph(w.say("example.values")),
            Bullets(tuple(given)),
            *(Paragraph(note) for note in notes),
            Paragraph(f"**{w.say('example.computation')}**"),
            Display(tuple(forward)),
            *w.gap_note(w.abridged(w.defined())),
            Heading(3, w.say("backward.heading")),
            Paragraph(w.say("example.backward")),
            *backward,
            # a network without parameters has nothing to update (and an empty display is not valid LaTeX)
            *([Paragraph(w.say("example.update", eta=eta)), Display(tuple(update))] if update else []),
        ]

    def given(self) -> list[str]:
        w = self.w
        network = w.network
        targets = self.targets()
        items = []
        for quantity in network.quantities(INPUT, PARAM):
            if quantity.kind == PARAM:
                role = w.say("value.parameter")
            else:
                role = w.say("value.target" if quantity.name in targets else "value.input")
            shape = "" if quantity.shape is None else ", $" + r" \times ".join(str(d) for d in quantity.shape) + "$"
            items.append(f"${w.name(quantity.name)} = {self.samples(quantity.name)}$ ({role}{shape})")
        return items

    def targets(self) -> set[str]:
        """Inputs the loss compares the prediction with (the page's 정답)."""
        return S.loss_targets(self.w.network)

    def forward_rows(self) -> list[str]:
        w = self.w
        rows = []
        for quantity in w.abridged(w.defined()):
            if isinstance(quantity, Omitted):
                rows.append(GAP_ROW)
                continue
            lhs = w.lhs(quantity)
            if quantity.kind == LOSS and self.values.batched:
                lhs = w.notation.loss  # the evaluation reports the batch mean
            value = self.samples(quantity.name)
            if self.values.batched:
                rows.append(f"{lhs} &= {value}")
                continue
            symbolic = w.named(quantity.definition)
            numbers = self.substituted(quantity.definition)
            rows += _chain_of_equalities(lhs, [symbolic, numbers, value])
        return rows

    def backward_blocks(self) -> list[Block]:
        blocks: list[Block] = []
        for layer in self.w.abridged(self.w.step_layers):
            if isinstance(layer, Omitted):
                blocks += self.w.gap_note([layer], "layers")
                continue
            rows: list[str] = []
            shown = self.w.abridged(layer.steps)
            for step in shown:
                if isinstance(step, Omitted):
                    rows.append(GAP_ROW)
                else:
                    rows += self.batch_rows(step) if self.values.batched else self.step_rows(step)
            if rows:
                blocks += [Paragraph(f"**{self.w.layer_heading(layer)}**"), Display(tuple(rows)),
                           *self.w.gap_note(shown)]
        return blocks

    def batch_rows(self, step: Step) -> list[str]:
        if not step.complete:
            return []
        w, name = self.w, step.target
        terms = self.values.sample_gradients(name)
        if not terms or len(terms) > SAMPLE_TERMS:
            return [f"{w.adjoint(name)} &= {self.samples(name, gradient=True)}"]
        # the page's batch section: ∂L/∂θ = (1/N) Σᵢ ∂Lᵢ/∂θ, each sample's term written out
        mean = rf"\frac{{1}}{{N}} \sum_{{i=1}}^{{N}} {partial(w.notation.sample_loss, w.name(name))}"
        shown = " + ".join(self.factor(t, first=k == 0) for k, t in enumerate(terms))
        numbers = rf"\frac{{1}}{{{len(terms)}}} \left({shown}\right)"
        return _chain_of_equalities(w.adjoint(name), [mean, numbers, self.format.matrix(self.values.gradient(name))])

    def step_rows(self, step: Step) -> list[str]:
        w = self.w
        target, source = step.target, step.source
        value = self.format.matrix(self.values.step_value(step))
        if step.kind == SUM:
            parts = w.parts(step)
            # a long sum by its first four and last two terms, as a long matrix is shown
            terms = [r"\cdots" if i is None else self.factor(self.values.step_value(parts[i]), first=i == 0)
                     for i in elided_indices(len(parts))]
            row = f"{w.adjoint(target)} &= {' + '.join(terms)} = {value}"
            return [row] if printed_width(row) <= ROW_WIDTH else _sum_rows(w.adjoint(target), terms, value)
        lhs = w.adjoint(target) if step.complete else w.contribution(step)
        if source == w.derivation.loss:
            return _chain_of_equalities(lhs, [w.named(step.result), self.substituted(step.result), value])
        upstream = self.values.gradient(source)
        product = step.product
        if step.local is None or product not in ("hadamard", "scale", "right", "left"):
            if product == "identity":
                return [f"{lhs} &= {w.adjoint(source)} = {value}"]
            return _chain_of_equalities(lhs, [self.substituted(step.result), value])
        local_value = self.values.local_value(step)
        rows = []
        if product in ("hadamard", "scale"):
            local_text = self.substituted(step.local)
            local_number = self.format.matrix(local_value)
            if local_text != local_number:
                rows.append(f"{w.local(source, target)} &= {local_text} = {local_number}")
            product_text = f"{self.factor(upstream, True)} {w.operator(step)} {self.factor(local_value, False)}"
        else:
            upstream = _as_multiplied(upstream, local_value, product)
            first, second = (upstream, local_value) if product == "right" else (local_value, upstream)
            product_text = f"{self.factor(first, True)} {self.factor(second, False)}"
            if printed_width(product_text) > ROW_WIDTH - printed_width(lhs):
                # two matrices too wide side by side: the second continues the product on a row of its own
                return [*rows, f"{lhs} &= {self.factor(first, True)}", rf"&\quad {self.factor(second, False)}",
                        f"&= {value}"]
        rows.append(f"{lhs} &= {product_text} = {value}")
        return rows

    def update_rows(self) -> list[str]:
        w = self.w
        eta = self.format.number(self.values.learning_rate)
        rows = []
        for name in S.parameter_groups(w.derivation):
            value = self.values.forward(name)
            gradient = self.values.gradient(name)
            symbolic = rf"{w.name(name)} - \eta \, {w.adjoint(name)}"
            numbers = rf"{self.format.matrix(value)} - {eta} \cdot {self.factor(gradient, False)}"
            new = self.format.matrix(self.values.updated(name))
            rows += _chain_of_equalities(w.name(name), [symbolic, numbers, new], relation=r"\leftarrow")
        return rows


def _as_multiplied(upstream: Any, local_value: Any, product: str) -> Any:
    """The upstream gradient as the matrix product reads it: a gradient of rank 3 or more (∂L/∂emb of an
    embedding, a stack times a matrix) enters the product laid out as a matrix, row-major, as the rule's
    reshape lays it out, so that the row shows the numbers that are multiplied."""
    array = np.asarray(upstream)
    if array.ndim <= 2 or np.ndim(local_value) != 2:
        return upstream
    inner = np.shape(local_value)[0 if product == "right" else 1]
    return array.reshape((-1, inner) if product == "right" else (inner, -1))


def _chain_of_equalities(lhs: str, sides: list[str], relation: str = "=") -> list[str]:
    """``lhs = a = b = c`` without repeats; one row per side once matrices make it wide."""
    distinct: list[str] = []
    for side in sides:
        if side not in distinct:
            distinct.append(side)
    if sum(side.count(r"\begin{bmatrix}") for side in distinct) <= 2 and sum(map(len, distinct)) < 160:
        return [f"{lhs} &{relation} " + " = ".join(distinct)]
    return [f"{lhs} &{relation} {distinct[0]}", *(f"&= {side}" for side in distinct[1:])]


def _sum_rows(lhs: str, terms: list[str], total: str) -> list[str]:
    """A wide sum: its terms on rows that fit, as many to a row as fit, then its value on a row of its own."""
    rows: list[list[str]] = [[]]
    for term in terms:
        if rows[-1] and printed_width(" + ".join([*rows[-1], term])) > ROW_WIDTH:
            rows.append([])
        rows[-1].append(term)
    lines = [f"{lhs} &= {' + '.join(rows[0])}"]
    lines += [rf"&\quad + {' + '.join(row)}" for row in rows[1:]]
    return [*lines, f"&= {total}"]
