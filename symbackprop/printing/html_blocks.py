"""The blocks of a document as HTML fragments: math kept as TeX between ``$…$`` for KaTeX, prose escaped.

:mod:`symbackprop.printing.html` wraps them into a page; the interactive section
renders its panels with them too.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from html import escape
from pathlib import Path

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
from .markdown import display as markdown_display

_ALIGN = {"l": "left", "c": "center", "r": "right"}
_IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def render(blocks: Iterable[Block], *, links: bool = False, base: Path | None = None) -> str:
    """The blocks as HTML elements, one after another; ``base`` is the folder figures are found in."""
    return "\n".join(_block(block, links, base) for block in blocks)


def _block(block: Block, links: bool, base: Path | None) -> str:
    if isinstance(block, Heading):
        level = min(max(block.level, 1), 6)
        return f"<h{level}>{text(block.text, links)}</h{level}>"
    if isinstance(block, Paragraph):
        return f"<p>{text(block.text, links)}</p>"
    if isinstance(block, Display):
        return f'<div class="math">{escape(markdown_display(block.rows, block.columns), quote=False)}</div>'
    if isinstance(block, Bullets):
        tag = "ol" if block.numbered else "ul"
        items = "\n".join(f"<li>{text(item, links)}</li>" for item in block.items)
        return f"<{tag}>\n{items}\n</{tag}>"
    if isinstance(block, Table):
        return table(block, links)
    if isinstance(block, Figure):
        return f"<p>{text(block.caption, links)}</p>\n<figure>{image(block.path, block.caption, base)}</figure>"
    if isinstance(block, Code):
        language = f' class="language-{escape(block.language)}"' if block.language else ""
        return f"<pre><code{language}>{escape(block.text.rstrip())}</code></pre>"
    if isinstance(block, Marker):
        # "--" may not appear inside an HTML comment.
        return f"<!-- {escape(block.text).replace('--', '- -')} -->"
    if isinstance(block, Separator):
        return "<hr>"
    raise TypeError(f"no HTML for block {type(block).__name__}")


def table(block: Table, links: bool) -> str:
    """A table whose every cell carries its column's alignment (browsers ignore it on ``<col>``)."""
    styles = [f' style="text-align: {_ALIGN[a]}"' for a in block.align]

    def row(cells: tuple[str, ...], tag: str) -> str:
        return "<tr>" + "".join(f"<{tag}{style}>{text(cell, links)}</{tag}>" for cell, style in zip(cells, styles)) \
            + "</tr>"

    body = "\n".join(row(r, "td") for r in block.rows)
    return f"<table>\n<thead>{row(block.header, 'th')}</thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def image(path: str, caption: str, base: Path | None) -> str:
    """An image, embedded when the file is at hand so that the page stays one file."""
    source = path
    local = (base or Path.cwd()) / path
    kind = _IMAGE_TYPES.get(local.suffix.lower())
    if kind and "://" not in path and local.is_file():
        source = f"data:{kind};base64,{base64.b64encode(local.read_bytes()).decode('ascii')}"
    return f'<img alt="{escape(plain_text(caption))}" src="{escape(source)}">'


def text(markup: str, links: bool) -> str:
    """Prose markup as HTML: text escaped, math kept for KaTeX, **bold**, `code`, [[links]]."""
    out = []
    for part in MARKUP.split(markup):
        if not part:
            continue
        if part.startswith("$") and part.endswith("$") and len(part) > 1:
            out.append(escape(part, quote=False))
        elif part.startswith("**") and part.endswith("**") and len(part) > 4:
            out.append(f"<strong>{text(part[2:-2], links)}</strong>")
        elif part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{escape(part[1:-1])}</code>")  # auto-render skips <code>: a $ there stays text
        elif part.startswith("[[") and part.endswith("]]"):
            label = _prose(link_label(part))
            out.append(f'<span class="wikilink">{label}</span>' if links else label)
        else:
            out.append(_prose(part))
    return "".join(out)


def _prose(words: str) -> str:
    """Escaped text in which a stray ``$`` or ``\\`` cannot start a formula: auto-render pairs
    delimiters only within one text node, and a span ends the node."""
    escaped = escape(words, quote=False)
    return escaped.replace("$", "<span>$</span>").replace("\\", "<span>\\</span>")


def plain_text(markup: str) -> str:
    """The markup's words without its marks, for a page title or an image's alt text."""
    out = []
    for part in MARKUP.split(markup):
        if part.startswith("$") and part.endswith("$") and len(part) > 1:
            out.append(part[1:-1])
        elif part.startswith("**") and part.endswith("**") and len(part) > 4:
            out.append(plain_text(part[2:-2]))
        elif part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(part[1:-1])
        elif part.startswith("[[") and part.endswith("]]"):
            out.append(link_label(part))
        else:
            out.append(part)
    return "".join(out)
