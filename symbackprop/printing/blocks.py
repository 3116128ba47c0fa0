"""The document as data: headings, paragraphs, displays, lists, code and markers.

Sections are composed once into these blocks; the LaTeX and Markdown writers
only decide how each block looks.  Text uses a tiny Markdown-flavoured markup
that both writers understand: ``**bold**``, ``$math$``, ```code``` and
``[[Concept]]`` links (Obsidian wikilinks in Markdown, plain words in LaTeX).
Math is written once, in the subset of LaTeX that KaTeX also renders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: ``**bold**``, ``$math$``, ```code``` and ``[[link]]`` spans of the markup, in that order of precedence.
MARKUP = re.compile(r"(\$[^$]+\$|\*\*.+?\*\*|`[^`]+`|\[\[[^\]]+\]\])")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Display:
    """Displayed math: rows aligned at ``&`` (one row without ``&`` is a single equation).

    ``columns`` > 1 aligns that many right/left column pairs, spaced by the rows themselves.
    """

    rows: tuple[str, ...]
    columns: int = 1


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    numbered: bool = False


@dataclass(frozen=True)
class Code:
    text: str
    language: str = "python"


@dataclass(frozen=True)
class Table:
    """A table of markup cells; ``align`` is "l", "c" or "r" per column, and ``first_width``
    (a LaTeX length such as ``0.5\\linewidth``) lets a long first column wrap in LaTeX.

    No cell may contain ``|``, which would split a Markdown table cell (write ``\\lVert``).
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: tuple[str, ...]
    first_width: str | None = None


@dataclass(frozen=True)
class Figure:
    """A picture file beside the document (LaTeX ``\\includegraphics``, Markdown ``![]()``)."""

    path: str
    caption: str


@dataclass(frozen=True)
class Marker:
    """An invisible note in the source (a LaTeX or HTML comment): one per derivation step."""

    text: str


@dataclass(frozen=True)
class Separator:
    """The page's horizontal rule between major sections."""


Block = Heading | Paragraph | Display | Bullets | Table | Figure | Code | Marker | Separator


def link_label(link: str) -> str:
    """``Chain rule`` for ``[[Chain rule]]``, the alias for ``[[Chain rule|연쇄 법칙]]``."""
    inner = link[2:-2]
    return inner.split("|", 1)[1] if "|" in inner else inner
