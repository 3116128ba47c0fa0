"""역전파의 효율성 and 주의사항과 문제점 (Gradient 소실, 폭발, 메모리 사용): the page's prose around the
reports this network's sections print (:mod:`symbackprop.printing.sections`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..blocks import Block, Bullets, Code, Display, Heading, Paragraph
from ..sections.efficiency import efficiency_section
from ..sections.flow import flow_section
from ..sections.memory import memory_section
from .opening import parameter_count

if TYPE_CHECKING:
    from . import Page

CLIPPING = "# Gradient Clipping\ntorch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)"


def _body(blocks: list[Block]) -> list[Block]:
    """A section's blocks after its heading."""
    return blocks[1:] if blocks and isinstance(blocks[0], Heading) else blocks


def _demoted(blocks: list[Block], level: int, text: str) -> list[Block]:
    """A section under a heading of the given level and text (its own heading replaced)."""
    return [Heading(level, text), *_body(blocks)] if blocks else []


def efficiency(page: Page) -> list[Block]:
    say = page.say
    p = parameter_count(page)
    blocks: list[Block] = [
        Heading(2, say("efficiency.heading")), Paragraph(say("efficiency.intro")),
        Paragraph(say("efficiency.naive")),
        Bullets((say("efficiency.naive.count", p=p), say("efficiency.naive.forward"), say("efficiency.naive.total"))),
        Paragraph(say("efficiency.backprop")),
        Bullets((say("efficiency.backprop.forward"), say("efficiency.backprop.backward"),
                 say("efficiency.backprop.total"))),
    ]
    report = page.w.reports.cost
    if report is not None and "efficiency" in page.w.options.sections:
        measured = _body(efficiency_section(page.w, report))
        if measured and isinstance(measured[0], Paragraph):  # its intro repeats the page's first sentence
            measured = [Paragraph(say("efficiency.measured")), *measured[1:]]
        blocks += measured
    blocks += [Paragraph(say("efficiency.example")),
               Bullets((say("efficiency.example.naive"), say("efficiency.example.backprop"))),
               Paragraph(say("efficiency.outro"))]
    return blocks


def caveats(page: Page) -> list[Block]:
    say, w = page.say, page.w
    reports, sections = w.reports, w.options.sections
    loss = w.notation.loss
    product = (rf"\frac{{\partial {loss}}}{{\partial w_1}} = \frac{{\partial {loss}}}{{\partial h_n}} \times "
               r"\frac{\partial h_n}{\partial h_{n-1}} \times \cdots \times \frac{\partial h_2}{\partial h_1} "
               r"\times \frac{\partial h_1}{\partial w_1}")
    blocks: list[Block] = [
        Heading(2, say("caveats.heading")),
        Heading(3, say("vanishing.heading")), Paragraph(say("vanishing.text")), Display((product,)),
        Paragraph(say("vanishing.small")), Display((r"0.5^{10} \approx 0.001",)), Paragraph(say("vanishing.effect")),
        Paragraph(say("fixes")),
        Bullets(tuple(say(f"vanishing.fix.{k}") for k in ("relu", "norm", "residual", "init"))),
        Heading(3, say("exploding.heading")), Paragraph(say("exploding.text")), Display((r"2^{10} = 1024",)),
        Paragraph(say("exploding.effect")), Paragraph(say("fixes")), Code(CLIPPING),
        Paragraph(say("exploding.more")),
    ]
    if reports.flow is not None and "flow" in sections:
        blocks += _demoted(flow_section(w, reports.flow, w.figure), 3, say("flow.heading"))
    blocks += [Heading(3, say("memory.heading")), Paragraph(say("memory.text")), Paragraph(say("memory.formula")),
               Display((r"\text{Memory} \propto \text{layers} \times \text{batch size} \times \text{hidden size}",))]
    if reports.memory is not None and "memory" in sections:
        blocks += _body(memory_section(w, reports.memory, reports.batch_memory))
    else:
        blocks.append(Paragraph(say("memory.checkpoint")))
    return blocks

