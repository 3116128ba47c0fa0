"""The document as LaTeX: a fragment (sections and align* environments) or a standalone article.

The standalone form needs only what TeX Live's base packages and ``kotex``
provide (amsmath, amssymb, geometry), so it compiles with plain ``pdflatex``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
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
from .breaks import _TERM_BREAKS, _top_level_parts, wrapped  # noqa: F401 - re-exported
from .options import Options
from .widths import ROW_WIDTH, fraction_width, left_side, printed_width

if TYPE_CHECKING:
    from ..derivation import Derivation

_SECTIONS = {1: "section", 2: "subsection", 3: "subsubsection"}
_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
#: Characters of the prose and of the rule registry that pdflatex's text fonts lack.
_UNICODE = {
    "σ": r"\ensuremath{\sigma}", "η": r"\ensuremath{\eta}", "−": r"\ensuremath{-}", "′": r"\ensuremath{'}",
    "·": r"\ensuremath{\cdot}", "⊙": r"\ensuremath{\odot}", "∂": r"\ensuremath{\partial}",
    "ᵀ": r"\ensuremath{^{\top}}", "≤": r"\ensuremath{\le}", "≥": r"\ensuremath{\ge}", "×": r"\ensuremath{\times}",
    "÷": r"\ensuremath{\div}",
    "→": r"\ensuremath{\to}", "←": r"\ensuremath{\leftarrow}", "½": r"\ensuremath{\tfrac{1}{2}}",
    "‖": r"\ensuremath{\|}", "—": "---", "–": "--", "’": "'", "‘": "`", "“": "``", "”": "''", "…": r"\ldots{}",
}
_TRANSLATION = str.maketrans({**_UNICODE, **_ESCAPES})  # an escape wins where both know a character
_SUPERSCRIPTS = {"ⁿ": "n", "⁻": r"\ensuremath{-}", "⁰": "0", "¹": "1", "²": "2", "³": "3", "ᵢ": "i"}
_SUPERSCRIPT_RUN = re.compile("[" + "".join(_SUPERSCRIPTS) + "]+")
_MATRIX = re.compile(r"\\begin\{bmatrix\}.*?\\end\{bmatrix\}", re.S)
_FIT = r"\sbpfitrow"
#: A row wider than the line scaled to it: ``\sbpfitrow{left side}{right side}`` leaves the right side
#: as it is where it fits beside the left side (and its relation), and shrinks it to that room otherwise;
#: the 1em spare covers a left side the estimate of widths took for narrower than another.
_FIT_DEFINITION = (
    r"\providecommand{\sbpfitrow}[2]{\setbox0=\hbox{$\displaystyle #1{}={}$}"
    r"\resizebox{\ifdim\dimexpr\width+\wd0+1em\relax>\linewidth\dimexpr\linewidth-\wd0-1em\relax\else\width\fi}"
    r"{!}{$\displaystyle #2$}}" "\n"
)
CODE_WIDTH = 92


def derivation_to_latex(derivation: Derivation, values: Mapping[str, Any] | None = None, *,
                        reports: Reports | None = None, standalone: bool = False, figure: Path | None = None,
                        **options: Any) -> str:
    """The derivation as LaTeX: a fragment to include, or with ``standalone=True`` a whole article.

    ``reports`` (:func:`symbackprop.analysis.reports.analyse`) are what the page's later
    sections print; this function computes none, and leaves out a section whose report is
    not given (``d.to_latex`` computes the ones its ``sections`` name).  Options: ``lang``
    ("en" or "ko"), ``digits`` (4), ``learning_rate`` (1/100), ``title``, ``code`` (False:
    add the generated NumPy code), ``sections`` (which of the given reports to show),
    ``batch_size`` (32, for the memory section), ``links`` (Markdown only).  ``figure``, a
    path for a PNG of the gradient norm per layer, is for
    :func:`~symbackprop.printing.documents.write`: the plot is drawn there and referenced
    when matplotlib is installed.
    """
    from .compose import Writer

    settings = Options.from_keywords(**options)
    body = render(Writer(derivation, settings, figure=figure, reports=reports or Reports()).compose(values))
    return latex_document(body, lang=settings.lang, paper=settings.paper) if standalone else body


#: Korean for pdflatex.  Hangul in the UHC Myeongjo fonts (uhcmj): kotex's default, Nanum Myeongjo,
#: embeds each of its 256-glyph subfonts with a Subrs array thousands of entries long, so that a page
#: of Korean made a 2.8 MB PDF (150 KB in English).  uhcmj composes each syllable from pieces, so
#: each syllable is marked with its own text (``/ActualText``) for copying and searching; it has no
#: bold, so bold Hangul is stroked as well as filled (``2 Tr``).  English words in Korean text are
#: not hyphenated ("gra-dient"): lines break between Hangul syllables and at spaces instead.  The
#: pdfTeX-only part is skipped where kotex runs under XeTeX or LuaTeX.
KOREAN_PREAMBLE = (
    "\\usepackage{kotex}\n"
    "\\makeatletter\n"
    "\\ifdefined\\dobeforeh@ngulch@r\n"
    "  \\SetHangulFonts{uhcmj}{uhcmj}{uhcmj}\\SetHanjaFonts{uhcmj}{uhcmj}{uhcmj}\n"
    "  \\DeclareFontFamily{LUC}{uhcmj}{\\hyphenchar\\font\\m@ne}\n"
    "  \\DeclareFontShape{LUC}{uhcmj}{m}{n}{<-> LUC * uwmj}{}\n"
    "  \\DeclareFontShape{LUC}{uhcmj}{bx}{n}{<-> ssub * uhcmj/m/n}{}\n"
    "  \\DeclareFontShape{LUC}{uhcmj}{b}{n}{<-> ssub * uhcmj/m/n}{}\n"
    "  \\newcount\\sbp@point\\newcount\\sbp@digit\n"
    "  \\def\\sbp@hex{\\ifcase\\sbp@digit 0\\or1\\or2\\or3\\or4\\or5\\or6\\or7\\or8\\or9\\or A\\or B\\or C\\or D"
    "\\or E\\or F\\fi}\n"
    "  \\def\\sbp@place#1{\\sbp@digit\\sbp@point\\divide\\sbp@digit#1\\edef\\sbp@text{\\sbp@text\\sbp@hex}"
    "\\multiply\\sbp@digit#1\\advance\\sbp@point-\\sbp@digit}\n"
    "  \\def\\sbp@bold{bx}\n"
    "  \\let\\sbp@beforehangul\\dobeforeh@ngulch@r\n"
    "  \\let\\sbp@afterhangul\\do@fterh@ngulch@r\n"
    "  \\def\\dobeforeh@ngulch@r{\\sbp@beforehangul\\leavevmode%\n"
    "    \\sbp@point\\unih@ngulpoint\\def\\sbp@text{}\\sbp@place{4096}\\sbp@place{256}\\sbp@place{16}\\sbp@place{1}%\n"
    "    \\ifnum\\unih@ngulpoint<65536 \\pdfliteral direct{/Span<</ActualText<FEFF\\sbp@text>>>BDC}\\fi%\n"
    "    \\ifx\\f@series\\sbp@bold\\pdfliteral direct{2 Tr 0.35 w}\\fi}\n"
    "  \\def\\do@fterh@ngulch@r{\\ifx\\f@series\\sbp@bold\\pdfliteral direct{0 Tr}\\fi%\n"
    "    \\ifnum\\unih@ngulpoint<65536 \\pdfliteral direct{EMC}\\fi\\sbp@afterhangul}\n"
    "\\fi\n"
    "\\makeatother\n"
    "\\hyphenpenalty=10000\n"
)


def latex_document(body: str, *, lang: str = "en", paper: str = "letter") -> str:
    """A standalone article around a fragment (kotex for Korean), on US Letter or A4 paper."""
    korean = KOREAN_PREAMBLE if lang == "ko" else ""
    size = ",a4paper" if paper == "a4" else ""  # geometry takes the class's paper size
    graphics = "\\usepackage{graphicx}\n" if "\\includegraphics" in body or _FIT in body else ""
    return (
        f"\\documentclass[11pt{size}]{{article}}\n"
        "\\usepackage[margin=2.2cm]{geometry}\n"
        "\\usepackage{amsmath}\n"
        "\\usepackage{amssymb}\n"
        f"{graphics}"
        "\\setcounter{MaxMatrixCols}{64}\n"  # wide weight matrices: amsmath's default is 10 columns
        f"{korean}"
        "\\allowdisplaybreaks\n"  # between equations; a row ending in \\* keeps an equation's rows together
        "\\setlength{\\parindent}{0pt}\n"
        "\\setlength{\\parskip}{0.6em}\n"
        "\\begin{document}\n\n"
        f"{body}"
        "\\end{document}\n"
    )


def render(blocks: Iterable[Block]) -> str:
    return "".join(_block(block) + "\n" for block in blocks)


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"\\{_SECTIONS.get(block.level, 'paragraph')}*{{{text(block.text)}}}\n"
    if isinstance(block, Paragraph):
        return text(block.text) + "\n"
    if isinstance(block, Display):
        return display(block.rows, block.columns)
    if isinstance(block, Bullets):
        environment = "enumerate" if block.numbered else "itemize"
        items = "".join(f"  \\item {text(item)}\n" for item in block.items)
        return f"\\begin{{{environment}}}\n{items}\\end{{{environment}}}\n"
    if isinstance(block, Table):
        return table(block)
    if isinstance(block, Figure):
        return (f"{text(block.caption)}\n\n\\begin{{center}}\n"
                f"\\includegraphics[width=0.75\\linewidth]{{{block.path}}}\n\\end{{center}}\n")
    if isinstance(block, Code):
        code = "\n".join(line for raw in block.text.rstrip("\n").splitlines() for line in wrap_code(raw))
        return f"{{\\small\n\\begin{{verbatim}}\n{code}\n\\end{{verbatim}}\n}}\n"
    if isinstance(block, Marker):
        return f"% {block.text}"
    if isinstance(block, Separator):
        return "\\medskip\\hrule\\medskip\n"
    raise TypeError(f"no LaTeX for block {type(block).__name__}")


def table(block: Table) -> str:
    """A tabular between rules, centred; a wrapping first column where ``first_width`` says so."""
    spec = [f"p{{{block.first_width}}}" if i == 0 and block.first_width else a for i, a in enumerate(block.align)]
    lines = [" & ".join(text(cell) for cell in row) + r" \\" for row in block.rows]
    header = " & ".join(text(cell) for cell in block.header) + r" \\"
    return ("\\begin{center}\n\\begin{tabular}{" + "".join(spec) + "}\n\\hline\n" + header + "\n\\hline\n"
            + "\n".join(lines) + "\n\\hline\n\\end{tabular}\n\\end{center}\n")


def single_row(rows: tuple[str, ...]) -> str | None:
    """A one-row display as a plain equation (its alignment marks dropped), or None for several rows."""
    if len(rows) != 1:
        return None
    row = rows[0].replace(" && ", r" \qquad ").replace("&=", "=").replace(r"&\leftarrow", r"\leftarrow")
    return None if "&" in _MATRIX.sub("", row) else row


def display(rows: tuple[str, ...], columns: int = 1) -> str:
    rows = wrapped(rows) if columns == 1 else rows
    row = single_row(rows) if columns == 1 else None
    if row is not None:
        fitted = _fitted("", row) if printed_width(row) > ROW_WIDTH else row
        return f"{_FIT_DEFINITION if fitted != row else ''}\\[\n{fitted}\n\\]\n"
    begin, end = ("\\begin{align*}", "\\end{align*}") if columns == 1 else (
        f"\\begin{{alignat*}}{{{columns}}}", "\\end{alignat*}")
    if columns == 1 and any(printed_width(row) > ROW_WIDTH for row in rows):
        widest = max((left_side(row) for row in rows), key=fraction_width)
        rows = tuple(_fitted(widest, row) if printed_width(row) > ROW_WIDTH else row for row in rows)
    definition = _FIT_DEFINITION if any(_FIT in row for row in rows) else ""
    return f"{definition}{begin}\n" + joined(rows) + f"\n{end}\n"


def joined(rows: tuple[str, ...]) -> str:
    """Display rows joined with ``\\\\``, or with ``\\\\*`` before a row that continues the equation above
    (it has no left side): an equation's rows are never split across pages."""
    out = list(rows[:1])
    out += [(" \\\\*\n" if row.startswith("&") else " \\\\\n") + row for row in rows[1:]]
    return "".join(out)


def _fitted(widest_left: str, row: str) -> str:
    """A row whose right side is scaled down to what the line leaves beside the widest left side."""
    left = left_side(row)
    if not left and not row.startswith("&"):
        return f"{_FIT}{{}}{{{row}}}"
    mark = len(left)
    relation = re.match(r"&(=|\\leftarrow)?\s*", row[mark:])
    start = mark + relation.end()
    return f"{row[:start]}{_FIT}{{{widest_left}}}{{{row[start:]}}}"


def text(markup: str) -> str:
    """Prose markup as LaTeX text: math kept, **bold** as \\textbf, [[links]] as plain words."""
    out = []
    for part in MARKUP.split(markup):
        if not part:
            continue
        if part.startswith("$") and part.endswith("$") and len(part) > 1:
            out.append(part)
        elif part.startswith("**") and part.endswith("**"):
            out.append(rf"\textbf{{{text(part[2:-2])}}}")
        elif part.startswith("`") and part.endswith("`"):
            out.append(rf"\texttt{{{_plain_text(part[1:-1])}}}")
        elif part.startswith("[[") and part.endswith("]]"):
            out.append(_plain_text(link_label(part)))
        else:
            out.append(_plain_text(part))
    return "".join(out)


def _plain_text(value: str) -> str:
    escaped = value.translate(_TRANSLATION)
    return _SUPERSCRIPT_RUN.sub(lambda m: r"\textsuperscript{" + "".join(_SUPERSCRIPTS[c] for c in m.group()) + "}",
                                escaped)


def wrap_code(line: str, width: int = CODE_WIDTH) -> list[str]:
    """A long line of generated code broken after commas and before ``+``, continued with a hanging
    indent (and a backslash where no bracket is open), its comment on a line of its own above it
    when the code leaves it no room: the lines stay valid Python."""
    if len(line) <= width:
        return [line]
    code, mark, comment = line.partition("  # ")
    indent = " " * (len(line) - len(line.lstrip()))
    lines = _broken_code(code, indent + " " * 8, width)
    if mark:
        if len(lines[-1]) + len(mark) + len(comment) <= width:
            lines[-1] += mark + comment
        else:
            lines.insert(0, f"{indent}# {comment}")
    return lines


def _broken_code(code: str, indent: str, width: int) -> list[str]:
    pieces = re.split(r"(, | \+ )", code)
    lines, current = [], pieces[0]
    for separator, piece in zip(pieces[1::2], pieces[2::2]):
        room = width - (0 if separator == ", " else 2)  # a backslash may end the line
        if len(current) + len(separator) + len(piece) > room and current.strip():
            open_brackets = sum(current.count(c) for c in "([{") - sum(current.count(c) for c in ")]}")
            if separator == ", ":
                lines.append(current + ",")
                current = indent + piece
            else:
                lines.append(current + ("" if open_brackets > 0 else " \\"))
                current = indent + "+ " + piece
        else:
            current += separator + piece
    lines.append(current)
    return lines
