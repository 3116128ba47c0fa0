"""The whole reference page (``page="full"``): every section of the page, in its order, each built
from the document's own network.

정의, 왜 필요한가?, 기본 아이디어 (:mod:`.opening`); 수학적 표현, 구체적 예시 and Chain Rule의 적용
(the derivation's own sections, from :mod:`symbackprop.printing.compose`); 계산 그래프
(:mod:`.graph_section`); 배치 처리에서의 역전파 (:mod:`.batch`); 역전파의 효율성 and 주의사항과 문제점
(:mod:`.caveats`, around the reports of :mod:`symbackprop.printing.sections`); PyTorch에서의 구현
(:mod:`.pytorch`); 역전파의 역사적 의의, 핵심 요약 and 관련 개념 (:mod:`.closing`).  The page's prose
is in :mod:`.page_prose`.  Like every printer this reads steps, values and reports only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import structure as S
from ..blocks import Block, Heading, Separator
from ..code import code_section
from ..example import Example
from ..sections.chain import chain_section
from ..sections.conventions import conventions_section
from ..sections.network import network_section
from .batch import batch_section
from .caveats import caveats, efficiency
from .closing import history_section, related_section, summary_section
from .graph_section import graph_section
from .opening import definition_section, idea_section, why_section
from .page_prose import page_say
from .pytorch import pytorch_section

if TYPE_CHECKING:
    from ..compose import Writer


@dataclass
class Page:
    """The document's writer and the page's sentences in its language."""

    w: Writer

    def __post_init__(self) -> None:
        self.targets = S.loss_targets(self.w.network)

    def say(self, key: str, **fields: Any) -> str:
        return page_say(self.w.lang, key, **fields)


def full_page(w: Writer, values: Mapping[str, Any] | None) -> list[Block]:
    page = Page(w)
    title = w.options.title if w.options.title is not None else page.say("title")
    # the derivation's conventions (layout, ReLU′(0)) close 수학적 표현: the page has no section of its own for them
    formulation = [*network_section(w), *w.forward_section(), *w.backward_section(),
                   *conventions_section(w)[1:]]
    sections: list[list[Block]] = [
        definition_section(page), why_section(page), idea_section(page), formulation,
    ]
    if values is not None:
        sections.append(Example(w, w.worked(values)).section())
    sections += [chain_section(w), graph_section(page), batch_section(page), efficiency(page), caveats(page)]
    torch = pytorch_section(page, values)
    if w.options.code:
        generated = code_section(w)
        torch += [Heading(3, generated[0].text), *generated[1:]] if generated else []
    sections += [torch, history_section(page), summary_section(page), related_section(page)]
    blocks: list[Block] = [Heading(1, title)]
    for number, section in enumerate(sections):
        if number:
            blocks.append(Separator())
        blocks += section
    return blocks
