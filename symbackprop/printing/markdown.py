"""The document as Markdown, written the way the reference page is: headings, ``$$`` display
math, ``$…$`` inline math and, with ``links=True``, Obsidian ``[[wikilinks]]``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..analysis.reports import Reports
from .blocks import (
    MARKUP,
    Block,
    Bullets,
    Code,
    Display,
    Figure,
    Heading,
    Marker,
    Paragraph,
    Separator,
    Table,
    link_label,
)
from .latex import single_row, wrapped
from .options import Options

if TYPE_CHECKING:
    from ..derivation import Derivation


def derivation_to_markdown(derivation: Derivation, values: Mapping[str, Any] | None = None, *,
                           reports: Reports | None = None, **options: Any) -> str:
    """The derivation as Markdown; ``reports`` and options as for
    :func:`~symbackprop.printing.latex.derivation_to_latex`, plus ``links=True`` for [[wikilinks]]
    to Chain rule, Gradient, Loss Function, Forward Pass and Autograd (always on with ``page="full"``)."""
    from .compose import Writer

    settings = Options.from_keywords(**options)
    # the whole page is a note for a vault: its [[links]] stay links
    links = settings.links or settings.page == "full"
    return render(Writer(derivation, settings, reports=reports or Reports()).compose(values), links=links)


def render(blocks: Iterable[Block], *, links: bool = False) -> str:
    return "\n\n".join(_block(block, links) for block in blocks) + "\n"


def _block(block: Block, links: bool) -> str:
    if isinstance(block, Heading):
        return "#" * block.level + " " + text(block.text, links)
    if isinstance(block, Paragraph):
        return text(block.text, links)
    if isinstance(block, Display):
        return display(block.rows, block.columns)
    if isinstance(block, Bullets):
        return "\n".join(
            f"{f'{i}.' if block.numbered else '-'} {text(item, links)}" for i, item in enumerate(block.items, 1))
    if isinstance(block, Table):
        return table(block, links)
    if isinstance(block, Figure):
        return f"{text(block.caption, links)}\n\n![{text(block.caption, False)}]({block.path})"
    if isinstance(block, Code):
        return f"```{block.language}\n{block.text.rstrip()}\n```"
    if isinstance(block, Marker):
        return f"<!-- {block.text} -->"
    if isinstance(block, Separator):
        return "---"
    raise TypeError(f"no Markdown for block {type(block).__name__}")


_RULES = {"l": ":---", "c": ":---:", "r": "---:"}


def table(block: Table, links: bool) -> str:
    def row(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(text(cell, links) for cell in cells) + " |"

    rule = "| " + " | ".join(_RULES[a] for a in block.align) + " |"
    return "\n".join([row(block.header), rule, *(row(r) for r in block.rows)])


def display(rows: tuple[str, ...], columns: int = 1) -> str:
    rows = wrapped(rows) if columns == 1 else rows  # KaTeX cannot scale a row to the line: break it
    row = single_row(rows) if columns == 1 else None
    if row is not None:
        return f"$$\n{row}\n$$"
    begin, end = ("\\begin{aligned}", "\\end{aligned}") if columns == 1 else (
        f"\\begin{{alignedat}}{{{columns}}}", "\\end{alignedat}")
    return f"$$\n{begin}\n" + " \\\\\n".join(rows) + f"\n{end}\n$$"


def text(markup: str, links: bool) -> str:
    """Prose markup as Markdown: unchanged, except [[links]] become plain words unless asked for."""
    if links:
        return markup
    return "".join(link_label(part) if part.startswith("[[") and part.endswith("]]") else part
                   for part in MARKUP.split(markup))
