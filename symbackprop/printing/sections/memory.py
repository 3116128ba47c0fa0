"""메모리 사용: the memory report: what the backward pass reads, how many numbers, and checkpointing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abridge import Omitted, abridged
from ..blocks import Block, Bullets, Heading, Paragraph
from ..names import shape_latex
from .figures import Figures

if TYPE_CHECKING:
    from ...analysis.memory import MemoryReport
    from ..compose import Writer

#: Stored values listed one by one in the memory section before the rest are counted.
MEMORY_ITEMS = 8


def memory_section(w: Writer, one: MemoryReport, many: MemoryReport | None = None) -> list[Block]:
    """``one`` counts one sample, ``many`` the document's batch (None: the batch is one sample)."""
    batch = many.batch if many is not None else 1
    many = many if many is not None else one
    figures = Figures(w.options.digits, w.options.decimals)
    readers: dict[str, list[str]] = {name: [] for name in one.stored}
    for reads in one.steps:
        target = w.network[reads.target].group or reads.target
        for name in reads.nodes:
            if name in readers and target not in readers[name]:
                readers[name].append(target)
    items = []
    for name in abridged(list(one.stored), MEMORY_ITEMS):
        if isinstance(name, Omitted):
            items.append(w.say("abridged.more", n=name.count))
            continue
        value = f"${w.name(name)} \\in {shape_latex(w.network[name].shape)}$"
        items.append(w.say("memory.item", value=value, readers=", ".join(f"${w.adjoint(r)}$" for r in readers[name])))
    blocks: list[Block] = [Heading(2, w.say("memory.heading"))]
    count = figures.count
    if items:
        blocks += [Paragraph(w.say("memory.intro")), Bullets(tuple(items))]
        sentences = [w.say("memory.total", n=count(one.activation_numbers), total=count(many.activation_numbers),
                           batch=batch, layers=one.layers)]
    else:
        sentences = [w.say("memory.none")]
    if one.input_numbers or one.parameter_numbers:
        sentences.append(w.say("memory.also", inputs=count(one.input_numbers), params=count(one.parameter_numbers)))
    blocks.append(Paragraph(" ".join(sentences)))
    plan, plain = one.checkpointed, one.plain
    if not items:
        return blocks
    if plan.stored_numbers < plain.stored_numbers:
        every = w.say("memory.every_layer") if plan.every == 1 else w.say("memory.every_layers", k=plan.every)
        kept = ", ".join(f"${w.name(n)}$" for n in plan.stored) or "—"
        blocks.append(Paragraph(w.say(
            "memory.checkpoint", every=every, kept=kept, stored=count(plan.stored_numbers),
            plain=count(plain.stored_numbers), peak=count(plan.peak_numbers), ops=count(plan.recompute_operations),
            ratio=figures.ratio(plan.recompute_ratio))))
    else:
        blocks.append(Paragraph(w.say("memory.no_saving")))
    return blocks
