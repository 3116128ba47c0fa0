"""KaTeX for an HTML page: a local copy inlined (script, style sheet and fonts), or a CDN link.

An inlined page works offline and can be mailed as one file; a linked page
shows raw TeX where there is no network.  Which one a page gets is decided by
:func:`resolve_katex`, so that a caller can say which it will be before any
work is done.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from .options import DocumentOptionError

KATEX_VERSION = "0.16.11"
KATEX_CDN = f"https://cdn.jsdelivr.net/npm/katex@{KATEX_VERSION}/dist"
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


def resolve_katex(katex: str | Path) -> Path | None:
    """The dist folder to inline for ``katex`` ("auto", "cdn" or a dist folder), or None for the CDN."""
    if katex == "cdn":
        return None
    if katex == "auto":
        return find_katex()
    dist = Path(katex)
    if not (dist / "katex.min.js").is_file():
        raise DocumentOptionError(f"{katex}: no katex.min.js there; give KaTeX's dist folder "
                                  "(npm install katex puts it in node_modules/katex/dist), 'auto' or 'cdn'")
    return dist


def katex_head(dist: Path | None) -> str:
    """The ``<head>`` elements that load KaTeX: inlined from ``dist``, or linked to the CDN when None."""
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
    """The ``<head>`` elements for ``katex``: "auto" (a local copy if found, else the CDN), "cdn", or a dist folder."""
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
