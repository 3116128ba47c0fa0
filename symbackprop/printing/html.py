"""The document as one HTML page whose math KaTeX renders in the browser, or which is written as MathML.

The third writer of the blocks, beside LaTeX and Markdown.  Math goes into the
page as its TeX source between ``$…$`` and ``$$…$$``, HTML-escaped and otherwise
untouched, for KaTeX's auto-render to find; KaTeX itself is inlined or linked
(:mod:`symbackprop.printing.katex`).  Where no KaTeX is installed, the same formulas
are written as MathML (:mod:`symbackprop.printing.mathml`), which browsers render offline.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
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
from .katex import AUTO_RENDER_CALL, MATHML, resolve_katex
from .katex import katex_head as head_loading
from .markdown import display as markdown_display
from .mathml import MATHML_STYLE, with_mathml
from .options import Options

if TYPE_CHECKING:
    from ..derivation import Derivation

_ALIGN = {"l": "left", "c": "center", "r": "right"}
_IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}

PAGE_STYLE = """<style>
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans KR", sans-serif; line-height: 1.55;
       color: #1f2937; margin: 0; }
main { max-width: 54rem; margin: 2rem auto; padding: 0 1.25rem; }
h1, h2, h3 { line-height: 1.25; } h2 { border-bottom: 1px solid #e5e7eb; padding-bottom: .2rem; }
pre { background: #f3f4f6; padding: .75rem; overflow-x: auto; border-radius: 4px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .92em; }
table { border-collapse: collapse; } th, td { border: 1px solid #d1d5db; padding: .25rem .6rem; }
.katex-display { overflow-x: auto; overflow-y: hidden; padding: .2rem 0; }
.wikilink { color: #4338ca; }
figure { margin: 1rem 0; text-align: center; } figure img { max-width: 75%; }
</style>"""
#: Korean breaks between words (eojeol), as the reference page is set, not inside them.
KOREAN_STYLE = "<style>\nbody { word-break: keep-all; overflow-wrap: break-word; }\n</style>"


def derivation_to_html(derivation: Derivation, values: Mapping[str, Any] | None = None, *,
                       reports: Reports | None = None, katex: str | Path = "auto", katex_head: str | None = None,
                       standalone: bool = True, figure: Path | None = None, **options: Any) -> str:
    """The derivation as an HTML page; ``reports`` and options as for
    :func:`~symbackprop.printing.latex.derivation_to_latex`, plus ``links=True`` for [[wikilinks]]
    (as ``<span class="wikilink">``).

    ``katex`` is "auto" (inline a local ``node_modules/katex/dist`` when one is found,
    else write the math as MathML), "mathml", "cdn", or the path of KaTeX's ``dist`` folder
    to inline; ``katex_head`` is what :func:`~symbackprop.printing.katex.katex_head_for`
    returned, when already computed.  ``standalone=False`` gives only the page's body.
    ``figure``, as for LaTeX, is where the plot of the gradient norms is drawn; it is
    embedded in the page.
    """
    from .compose import Writer

    settings = Options.from_keywords(**options)
    source = resolve_katex(katex) if katex_head is None else None  # a bad folder is refused before any work
    mathml = source == MATHML if katex_head is None else katex_head == MATHML_STYLE
    blocks = Writer(derivation, settings, figure=figure, reports=reports or Reports()).compose(values)
    base = figure.parent if figure is not None else None
    body = render(blocks, links=settings.links, base=base)
    if settings.interactive:  # the graph to click and the backward pass to walk
        from .interactive import with_graph

        body = with_graph(body, derivation, values, settings, mathml=mathml)
    if mathml:
        body = with_mathml(body)
    if not standalone:
        return body
    title = next((plain_text(b.text) for b in blocks if isinstance(b, Heading) and b.level == 1), "Backpropagation")
    head = katex_head if katex_head is not None else head_loading(source)
    return html_page(body, title=title, lang=settings.lang, katex_head=head, render_call=not mathml)


def html_page(body: str, *, title: str, lang: str, katex_head: str, render_call: bool = True) -> str:
    """A whole page around a body this writer rendered; ``render_call`` adds the script that has KaTeX
    render its math (a MathML page has none)."""
    korean = f"\n{KOREAN_STYLE}" if lang == "ko" else ""
    call = f"{AUTO_RENDER_CALL}\n" if render_call else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n{PAGE_STYLE}{korean}\n{katex_head}\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n{call}</body>\n</html>\n"
    )


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
