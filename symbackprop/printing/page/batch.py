"""배치 처리에서의 역전파: this network's batch formulas, printed from a batch derivation.

The batch derivation (``backprop(network, batch=True)``) is computed before printing, with
the other reports (:attr:`Reports.batch <symbackprop.analysis.reports.Reports>`); without
it the section still gives the mean loss and the mean of each parameter's gradients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...derivation import Derivation
from ...network import INPUT, LOSS, NODE
from .. import structure as S
from ..blocks import Block, Display, Heading, Paragraph
from ..names import partial

if TYPE_CHECKING:
    from . import Page


def batch_section(page: Page) -> list[Block]:
    w, say = page.w, page.say
    batch = w.derivation if w.derivation.batch else w.reports.batch
    loss = w.notation.loss
    blocks: list[Block] = [Heading(2, say("batch.heading")), Paragraph(say("batch.intro"))]
    writer = type(w)(batch, w.options) if batch is not None else None
    sample = (writer or w).notation.sample_loss
    if writer is not None:
        forward = next(b for b in writer.forward_section() if isinstance(b, Display))
        blocks += [Paragraph(say("batch.forward")), forward]
    else:
        blocks += [Paragraph(say("batch.forward")),
                   Display((rf"{loss} = \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} {sample}",))]
    shapes = [rf"${w.name(q.name)} \in \mathbb{{R}}^{{{_stacked(q.shape)}}}$"
              for q in w.network.quantities(INPUT, NODE)]
    blocks.append(Paragraph(say("batch.shapes", shapes=", ".join(shapes))))
    rows = []
    parameters = S.reached_parameters(batch) if batch is not None else [q.name for q in w.network.params]
    if writer is not None:
        rows.append(writer.seed_text().replace("=", "&=", 1))
        for step in batch.steps:
            if step.source == batch.loss and step.complete and batch.network[step.target].kind not in (INPUT, LOSS):
                rows.append(f"{writer.adjoint(step.target)} &= {writer.expr(step.result)}")
    for name in parameters:
        mean = rf"{w.adjoint(name)} &= \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} {partial(sample, w.name(name))}"
        term = _result(batch, name)
        rows.append(mean + (rf" = \sum_{{i=1}}^{{N}} {_grouped(writer.expr(term))}" if term is not None else ""))
    blocks += [Paragraph(say("batch.backward")), Display(tuple(rows))]
    if writer is not None:
        blocks.append(Paragraph(say("batch.terms", seed=writer.seed_text())))
    blocks.append(Paragraph(say("batch.torch")))
    return blocks


def _stacked(shape: tuple[int, ...] | None) -> str:
    """The shape of N samples on a first axis: N for a scalar, N × n for a column of n (as PyTorch
    stores a target of one number, N × 1), N × r × c for a matrix, N × a × b × c for a tensor of rank 3."""
    if shape is None:
        return "N"
    if len(shape) == 2 and shape[1] == 1:
        return rf"N \times {shape[0]}"
    return r" \times ".join(["N", *(str(length) for length in shape)])


def _result(batch: Derivation | None, name: str):
    """The recorded result of a parameter's whole gradient: one sample's term of the batch sum."""
    if batch is None:
        return None
    steps = [s for s in batch.steps if s.target == name and s.complete]
    return steps[-1].result if steps else None


def _grouped(text: str) -> str:
    return rf"\left({text}\right)" if " + " in text or " - " in text else text
