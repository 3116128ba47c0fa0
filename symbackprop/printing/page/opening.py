"""정의, 왜 필요한가? and 기본 아이디어: the page's opening prose with this network's layers and counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...analysis.layers import Layer, network_layers
from ...derivation import EDGE
from ...network import NODE, PARAM
from ..blocks import Block, Bullets, Display, Heading, Paragraph
from ..names import partial
from ..sections.figures import Figures

if TYPE_CHECKING:
    from . import Page

#: Layers a chain of layers shows before its middle is elided with ⋯.
LAYERS_SHOWN = 4
#: Parameters whose gradients are listed before the rest are elided with …
PARAMETERS_SHOWN = 8


def layers(page: Page) -> list[Layer]:
    """The network's layers above the input (layer 0 is x itself)."""
    return [layer for layer in network_layers(page.w.network) if layer.index >= 1]


def layer_parameters(page: Page, layer: Layer) -> list[str]:
    named = [n for n in (layer.weight, layer.bias) if n is not None]
    if named:
        return named
    network = page.w.network
    found: dict[str, None] = {}
    for node in layer.nodes:
        for dependency in network[node].dependencies:
            if network[dependency].kind == PARAM:
                found.setdefault(dependency)
    return list(found)


def elided(items: list[str], shown: int, gap: str) -> list[str]:
    if len(items) <= shown:
        return items
    half = shown // 2
    return [*items[:half], gap, *items[-half:]]


def parameter_count(page: Page) -> str:
    reports = page.w.reports
    count = reports.cost.parameters if reports.cost is not None else sum(q.size for q in page.w.network.params)
    return Figures(page.w.options.digits, page.w.options.decimals).count(count)


def definition_section(page: Page) -> list[Block]:
    w, say = page.w, page.say
    stack = layers(page)
    chain = [rf"\text{{{say('definition.loss')}}}({w.notation.loss})"]
    for position, layer in enumerate(reversed(stack)):
        label = say("definition.output") if position == 0 and len(stack) > 1 else say("definition.layer", k=layer.index)
        chain.append(rf"\text{{{label}}}({w.name(layer.output)})")
    chain = elided(chain, LAYERS_SHOWN + 1, r"\cdots")
    return [Heading(2, say("definition.heading")), Paragraph(say("definition.text")),
            Display((r" \rightarrow ".join(chain),)), Paragraph(say("definition.goal", p=parameter_count(page)))]


def why_section(page: Page) -> list[Block]:
    w, say = page.w, page.say
    stack = layers(page)
    chain = [rf"\text{{{say('why.input')}}}({w.name(_input(page))})"]
    for layer in stack:
        parameters = ", ".join(w.name(n) for n in layer_parameters(page, layer))
        chain.append(rf"\text{{{say('definition.layer', k=layer.index)}}}({parameters})")
    if stack:
        chain.append(rf"\text{{{say('why.output')}}}({w.name(stack[-1].output)})")
    chain.append(rf"\text{{{say('definition.loss')}}}({w.notation.loss})")
    chain = elided(chain, LAYERS_SHOWN + 2, r"\cdots")
    gradients = elided([partial(w.notation.loss, w.name(q.name)) for q in w.network.params], PARAMETERS_SHOWN,
                       r"\ldots")
    p = parameter_count(page)
    blocks: list[Block] = [
        Heading(2, say("why.heading")),
        Paragraph(say("why.network.one" if len(stack) == 1 else "why.network", layers=len(stack))),
        Display((r" \rightarrow ".join(chain),)), Paragraph(say("why.derivatives")),
        Display((", ".join(gradients),)),
    ]
    first = layer_parameters(page, stack[0]) if stack else []
    if len(stack) > 1 and first:
        through = ", ".join(say("definition.layer", k=layer.index) for layer in stack[1:])
        blocks.append(Paragraph(say("why.problem", first=w.name(first[0]), through=through)))
    blocks += [
        Paragraph(say("why.independent")),
        Bullets((say("why.here", p=p), say("why.ten_thousand"), say("why.hundred_million"))),
        Paragraph(say("why.solution")),
    ]
    return blocks


def idea_section(page: Page) -> list[Block]:
    w, say = page.w, page.say
    stored = elided([f"${w.name(q.name)}$" for q in w.network.quantities(NODE)], PARAMETERS_SHOWN, "…")
    forward = [say("idea.forward.store"), say("idea.forward.need")]
    if stored:
        forward.append(say("idea.forward.here", names=", ".join(stored)))
    steps = sum(1 for step in w.derivation.steps if step.kind == EDGE)
    backward = [say("idea.backward.start"), say("idea.backward.chain"), say("idea.backward.reuse"),
                say("idea.backward.here", n=steps)]
    return [Heading(2, say("idea.heading")), Paragraph(say("idea.text")), Paragraph(say("idea.delivery")),
            Paragraph(say("idea.forward")), Bullets(tuple(forward)),
            Paragraph(say("idea.backward")), Bullets(tuple(backward))]


def _input(page: Page) -> str:
    """The input the first layer reads: x where the network names it so, else its first input."""
    network = page.w.network
    inputs = [q.name for q in network.quantities("input")]
    targets = page.targets
    reads = [name for name in inputs if name not in targets] or inputs
    return reads[0] if reads else network.loss_name
