"""역전파의 역사적 의의, 핵심 요약 and 관련 개념: the page's closing prose, with its [[links]]."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..blocks import Block, Bullets, Heading, Paragraph
from .opening import parameter_count

if TYPE_CHECKING:
    from . import Page


def history_section(page: Page) -> list[Block]:
    say = page.say
    return [
        Heading(2, say("history.heading")), Paragraph(say("history.text")),
        Paragraph(say("history.before")),
        Bullets(tuple(say(f"history.before.{k}") for k in ("depth", "each", "cost"))),
        Paragraph(say("history.after")),
        Bullets(tuple(say(f"history.after.{k}") for k in ("depth", "efficient", "base"))),
        Paragraph(say("history.outro")),
    ]


def summary_section(page: Page) -> list[Block]:
    say = page.say
    points = [say("summary.all", p=parameter_count(page))]
    points += [say(f"summary.{k}") for k in ("chain", "store", "graph", "problems", "autograd")]
    return [Heading(2, say("summary.heading")), Bullets(tuple(points))]


def related_section(page: Page) -> list[Block]:
    say = page.say
    groups = (("before", ("ml", "gradient", "forward")), ("core", ("chain", "deep")),
              ("next", ("autograd", "optimization")))
    blocks: list[Block] = [Heading(2, say("related.heading"))]
    for title, keys in groups:
        blocks += [Paragraph(say(f"related.{title}")), Bullets(tuple(say(f"related.{k}") for k in keys))]
    return blocks
