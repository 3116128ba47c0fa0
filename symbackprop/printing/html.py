"""The document as one HTML page whose math KaTeX renders in the browser, or which is written as MathML.

The third writer of the blocks, beside LaTeX and Markdown.  Math goes into the
page as its TeX source between ``$…$`` and ``$$…$$``, HTML-escaped and otherwise
untouched, for KaTeX's auto-render to find; KaTeX itself is inlined or linked
(:mod:`symbackprop.printing.katex`).  Where no KaTeX is installed, the same formulas
are written as MathML (:mod:`symbackprop.printing.mathml`), which browsers render offline.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.reports import Reports
from .blocks import (
    Heading,
)
from .html_blocks import plain_text, render
from .interactive import with_graph
from .katex import AUTO_RENDER_CALL, MATHML, resolve_katex
from .katex import katex_head as head_loading
from .mathml import MATHML_STYLE, with_mathml
from .options import Options

if TYPE_CHECKING:
    from ..derivation import Derivation

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
