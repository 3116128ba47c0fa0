"""How an HTML page's math is rendered: KaTeX inlined (script, style sheet and fonts), MathML, or a CDN link.

An inlined page works offline and can be mailed as one file; so can a MathML page, which the browser
renders by itself, and which a page gets where no KaTeX is installed; a page that links KaTeX from a
CDN (only when asked for) shows raw TeX where there is no network.  Which one a page gets is decided by
:func:`resolve_katex`, so that a caller can say which it will be before any work is done.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from .mathml import MATHML_STYLE
from .options import DocumentOptionError

KATEX_VERSION = "0.16.11"
KATEX_CDN = f"https://cdn.jsdelivr.net/npm/katex@{KATEX_VERSION}/dist"
#: ``katex="mathml"``: the page's math as MathML, with no KaTeX; also what "auto" gives where KaTeX is not found.
MATHML = "mathml"
#: The source checkout this package sits in, whose node_modules a page may take KaTeX from.
_CHECKOUT = Path(__file__).resolve().parent.parent.parent

#: The delimiters the printers write ($$ and $), and LaTeX's \[ \] and \( \), for auto-render.
AUTO_RENDER_CALL = """<script>
document.addEventListener("DOMContentLoaded", function () {
  if (typeof renderMathInElement !== "function") { return; }
  renderMathInElement(document.body, {
    delimiters: [
      {left: "$$", right: "$$", display: true},
      {left: "\\\\[", right: "\\\\]", display: true},
      {left: "$", right: "$", display: false},
      {left: "\\\\(", right: "\\\\)", display: false}
    ],
    throwOnError: false
  });
});
</script>"""


def find_katex(start: Path | None = None) -> Path | None:
    """KaTeX's dist folder under node_modules in ``start`` (default: the current folder) or above it,
    or else beside a source checkout of symbackprop."""
    for folder in ((start or Path.cwd()).resolve(), _CHECKOUT):
        for candidate in (folder, *folder.parents):
            dist = candidate / "node_modules" / "katex" / "dist"
            if (dist / "katex.min.js").is_file():
                return dist
    return None


def resolve_katex(katex: str | Path) -> Path | str | None:
    """The dist folder to inline for ``katex`` ("auto", "cdn", "mathml" or a dist folder), :data:`MATHML`
    for MathML (also "auto" where no KaTeX is found), or None for the CDN."""
    if katex == "cdn":
        return None
    if katex == "auto":
        return find_katex() or MATHML
    if katex == MATHML:
        return MATHML
    dist = Path(katex)
    if not (dist / "katex.min.js").is_file():
        raise DocumentOptionError(f"{katex}: no katex.min.js there; give KaTeX's dist folder "
                                  "(npm install katex puts it in node_modules/katex/dist), 'auto', 'mathml' or 'cdn'")
    return dist


def katex_head(dist: Path | str | None) -> str:
    """The ``<head>`` elements that load KaTeX: inlined from ``dist``, or linked to the CDN when None;
    for :data:`MATHML`, only the style of the MathML formulas."""
    if dist == MATHML:
        return MATHML_STYLE
    if dist is None:
        return (f'<link rel="stylesheet" href="{KATEX_CDN}/katex.min.css">\n'
                f'<script defer src="{KATEX_CDN}/katex.min.js"></script>\n'
                f'<script defer src="{KATEX_CDN}/contrib/auto-render.min.js"></script>')
    css = inline_fonts((dist / "katex.min.css").read_text(encoding="utf-8"), dist)
    scripts = [(dist / "katex.min.js").read_text(encoding="utf-8"),
               (dist / "contrib" / "auto-render.min.js").read_text(encoding="utf-8")]
    # "</script" inside inlined code would end the element early.
    scripts = [s.replace("</script", "<\\/script") for s in scripts]
    return f"<style>{css}</style>\n" + "\n".join(f"<script>{s}</script>" for s in scripts)


def katex_head_for(katex: str | Path) -> str:
    """The ``<head>`` elements for ``katex``: "auto" (a local copy if found, else MathML), "mathml", "cdn", or a
    dist folder."""
    return katex_head(resolve_katex(katex))


_FONT_SOURCE = re.compile(
    r"src:url\((fonts/[^)]+?)\.woff2\) format\(\"woff2\"\)(?:,url\([^)]*\) format\(\"[^\"]*\"\))*"
)


def inline_fonts(css: str, dist: Path) -> str:
    """KaTeX's CSS with each font as a woff2 data URI (every browser in use reads woff2)."""

    def embed(match: re.Match[str]) -> str:
        font = dist / f"{match.group(1)}.woff2"
        data = base64.b64encode(font.read_bytes()).decode("ascii")
        return f'src:url(data:font/woff2;base64,{data}) format("woff2")'

    return _FONT_SOURCE.sub(embed, css)
