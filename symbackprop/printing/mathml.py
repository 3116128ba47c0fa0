"""An HTML page's math as MathML, which browsers render by themselves: a page that reads offline without KaTeX.

The HTML writer leaves its math as TeX between ``$…$`` and ``$$…$$`` in text, for KaTeX's auto-render.
Where no KaTeX is at hand, :func:`with_mathml` finds the same formulas the way auto-render does (a pair
of delimiters within one text node; nothing inside ``<code>``, ``<pre>``, ``<script>`` or ``<style>``) and
writes each as MathML with latex2mathml.  Aligned rows (``\\begin{aligned}``) become a table whose
columns align right, left, right, left…, as TeX aligns them.
"""

from __future__ import annotations

import functools
import html
import re

from latex2mathml.converter import convert

MATHML_STYLE = """<style>
math[display="block"] { display: block; overflow-x: auto; overflow-y: hidden; padding: .2rem 0; }
math { font-family: "STIX Two Math", "Latin Modern Math", "Cambria Math", math; }
</style>"""

#: Elements whose text is not searched for math, as auto-render skips them.
_VERBATIM = re.compile(r"(<(script|style|pre|code)\b[^>]*>.*?</\2>)", re.S | re.I)
_TAG = re.compile(r"(<[^>]*>)")
_FORMULA = re.compile(r"\$\$(.+?)\$\$|\$([^$]+?)\$", re.S)
_ALIGNED = re.compile(r"\A\s*\\begin\{aligned\}(.*)\\end\{aligned\}\s*\Z|"
                      r"\A\s*\\begin\{alignedat\}\{\d+\}(.*)\\end\{alignedat\}\s*\Z", re.S)
_TEXT_CONTENT = re.compile(r"(<mtext[^>]*>)(.*?)(</mtext>)", re.S)
_LONE_AMPERSAND = re.compile(r"&(?!#x?[0-9A-Fa-f]+;|[A-Za-z]+;)")
#: What opens, closes or separates: an environment, a brace, an ampersand, a row break (escaped ones too).
_STRUCTURE = re.compile(r"\\begin|\\end|\\\\|\\[{}&]|[{}&]")
_MATH_ELEMENT = re.compile(r"\A<math[^>]*>(.*)</math>\Z", re.S)
#: Where a formula may be cut into terms: operators between items, and what opens or closes a group.
_TERM_STRUCTURE = re.compile(r"\\left\b|\\right\b|\\begin\b|\\end\b|\\[{}]|[{}]| (?:=|\+|-|\\cdot) ")
_OPERATORS = frozenset(("=", "+", "-", "\\cdot"))
#: What makes an item read beyond itself, so that a formula holding it is converted whole.
_NOT_CUT = re.compile(r"\\(?:over|choose|atop|brace|brack|above|displaystyle|textstyle|scriptstyle|"
                      r"scriptscriptstyle|color|limits|nolimits|substack|newcommand|def)\b|'|&|\\\\")
_ROW = re.compile(r'\A<math xmlns="http://www.w3.org/1998/Math/MathML" display="\w+"><mrow>(.*)</mrow></math>\Z', re.S)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
#: Numbers stand in for a formula's numbers by position, four digits and more (a shape has no other numbers).
_FIRST_STAND_IN = 1000
_STAND_IN = re.compile(r"<mn>(\d{4,})</mn>")
#: Where TeX reads a single digit (x^23 is x², then 3; \frac12 is ½), so that a number cannot stand for another.
_ONE_DIGIT_READ = re.compile(r"[\^_]\s*\d|\\(?!(?:cdot|times|div|pm|mp|quad|qquad|leq?|geq?|neq|approx|to|in|"
                             r"ldots|cdots|dots|left|right|mid)\b)[A-Za-z]+\s*\d")
#: Shorter formulas are converted whole: cutting them saves nothing.
_SHORTEST_CUT = 40
#: \operatorname{ReLU} comes out as an operator, which browsers space as one (ReLU ( z )); it is a name.
_NAMED_OPERATOR = re.compile(r"<mo>([A-Za-z][A-Za-z0-9]+)</mo>")
#: Cells of aligned rows: right, then left, with no space between them; later pairs start 2em further on.
_CELL_STYLES = ("text-align: right; padding: .1em 0", "text-align: left; padding: .1em 0",
                "text-align: right; padding: .1em 0 .1em 2em", "text-align: left; padding: .1em 0")


def with_mathml(page: str) -> str:
    """``page`` (HTML from the HTML writer) with every formula written as MathML."""
    parts = _VERBATIM.split(page)
    out = []
    index = 0
    while index < len(parts):
        out.append("".join(_in_text(piece) for piece in _TAG.split(parts[index])))
        if index + 1 < len(parts):
            out.append(parts[index + 1])  # a verbatim element, kept as it is
        index += 3  # the split also returns the element's name
    return "".join(out)


def formula(tex: str, *, display: bool) -> str:
    """One formula as a ``<math>`` element."""
    aligned = _ALIGNED.match(tex) if display else None
    if aligned is not None:
        return _table(aligned.group(1) if aligned.group(1) is not None else aligned.group(2))
    return _converted(tex.strip(), "block" if display else "inline")


def _in_text(piece: str) -> str:
    if piece.startswith("<"):
        return piece  # a tag

    def replace(match: re.Match[str]) -> str:
        display = match.group(1) is not None
        return formula(html.unescape(match.group(1) if display else match.group(2)), display=display)

    return _FORMULA.sub(replace, piece)


def _table(body: str) -> str:
    """Aligned rows as a MathML table: cells at each top-level ``&``, rows at each top-level ``\\\\``."""
    rows = [[cell.strip() for cell in _split_top_level(row, "&")] for row in _split_top_level(body, "\\\\")]
    rows = [row for row in rows if any(row)]
    width = max(len(row) for row in rows)
    # Browsers implement MathML Core, which aligns table cells by CSS, not by columnalign.
    styles = [_CELL_STYLES[i % 2 if i < 2 else i % 2 + 2] for i in range(width)]
    table_rows = "".join(
        "<mtr>" + "".join(f'<mtd style="{style}">{_inner(cell)}</mtd>'
                          for cell, style in zip(row + [""] * (width - len(row)), styles)) + "</mtr>"
        for row in rows)
    return (f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">'
            f'<mtable displaystyle="true">{table_rows}</mtable></math>')


def _split_top_level(text: str, separator: str) -> list[str]:
    """``text`` cut at each ``separator`` outside braces and ``\\begin…\\end`` (a matrix keeps its own).

    Only the characters that open, close or separate are visited (a regular expression finds them), not
    every character of a row of numbers."""
    parts, depth, start, skipped_to = [], 0, 0, 0
    for match in _STRUCTURE.finditer(text):
        token, at = match.group(), match.start()
        if at < skipped_to:
            continue
        if token in ("\\begin", "{"):
            depth += 1
        elif token in ("\\end", "}"):
            depth -= 1
        elif depth == 0 and token == separator:
            parts.append(text[start:at])
            start = match.end()
            if separator == "\\\\" and text.startswith("[", start):  # \\[6pt]: the extra space is dropped
                start = skipped_to = text.index("]", start) + 1
        # anything else found is an escaped brace or ampersand, or a row break inside a cell: no structure
    parts.append(text[start:])
    return parts


def _inner(tex: str) -> str:
    """The MathML inside the ``<math>`` element of ``tex`` (nothing for an empty cell)."""
    if not tex:
        return ""
    match = _MATH_ELEMENT.match(_converted(tex, "inline"))
    return match.group(1) if match else ""


def _converted(tex: str, display: str) -> str:
    """``tex`` as a ``<math>`` element: a formula of several terms term by term, each term converted once a page.

    latex2mathml writes a formula as one row of its top-level items, each converted on its own, so the row
    of a formula cut between items (at a top-level ``=``, ``+``, ``-`` or ``\\cdot``) is the rows of its
    pieces joined: ∂L/∂z₁ · x₁, repeated in hundreds of steps, is read once.
    """
    pieces = _terms(tex)
    if pieces is None:
        return _whole(tex, display)
    rows = [_ROW.match(_whole(piece, display)) for piece in pieces]  # \sum's limits depend on the display
    if not all(rows):
        return _whole(tex, display)
    return (f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="{display}"><mrow>'
            + "".join(row.group(1) for row in rows) + "</mrow></math>")


def _terms(tex: str) -> list[str] | None:
    """``tex`` cut before and after each operator between its top-level items, or None where it is one term
    or holds what reads beyond one item (an infix fraction, a style switch, a prime, rows)."""
    if len(tex) < _SHORTEST_CUT or _NOT_CUT.search(tex):
        return None
    pieces, depth, start = [], 0, 0
    for match in _TERM_STRUCTURE.finditer(tex):
        token = match.group()
        if token in ("{", "\\left", "\\begin"):
            depth += 1
        elif token in ("}", "\\right", "\\end"):
            depth -= 1
        elif depth == 0 and token.strip() in _OPERATORS:
            pieces += [tex[start:match.start()], token.strip()]
            start = match.end()
    pieces.append(tex[start:])
    pieces = [piece.strip() for piece in pieces if piece.strip()]
    return pieces if len(pieces) > 2 and depth == 0 else None


@functools.lru_cache(maxsize=16384)  # a page repeats its symbols: ∂L/∂W₁ in the prose, the steps and the example
def _whole(tex: str, display: str) -> str:
    """``tex`` converted as one formula, from the conversion of its shape where its numbers allow.

    latex2mathml writes each number as one ``<mn>``, whatever its digits, so W₃₁,₁ x₁ is the conversion of
    its shape, each number replaced by a stand-in for its position (W₁₀₀₀,₁₀₀₁ x₁₀₀₂), with the numbers put back:
    the thousand entries of a layer's steps share one conversion.  A number the shape does not give back
    as one ``<mn>`` of its own (in text, bold, or an unbraced script, where TeX reads one digit) leaves the
    formula to be converted as it is.
    """
    numbers = _NUMBER.findall(tex)
    if not numbers or _ONE_DIGIT_READ.search(tex):
        return _exactly(tex, display)
    counter = iter(range(_FIRST_STAND_IN, _FIRST_STAND_IN + len(numbers)))
    shape = _exactly(_NUMBER.sub(lambda _: str(next(counter)), tex), display)
    pieces = _STAND_IN.split(shape)  # text, stand-in, text, …: scripts come out in their own order
    stand_ins = [int(k) - _FIRST_STAND_IN for k in pieces[1::2]]
    if sorted(stand_ins) != list(range(len(numbers))):
        return _exactly(tex, display)
    pieces[1::2] = [f"<mn>{numbers[k]}</mn>" for k in stand_ins]
    return "".join(pieces)


@functools.lru_cache(maxsize=4096)
def _exactly(tex: str, display: str) -> str:
    if not tex:
        return f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="{display}"></math>'
    try:
        mathml = convert(tex, display=display)
    except Exception:  # noqa: BLE001 - a formula the converter cannot read stays readable as its TeX
        return f'<code class="tex">{html.escape(tex)}</code>'
    mathml = _NAMED_OPERATOR.sub(r"<mi>\1</mi>", mathml)
    # latex2mathml leaves \text{a < b}'s characters as they are; in a page they must be escaped
    return _TEXT_CONTENT.sub(lambda m: m.group(1) + _escaped_text(m.group(2)) + m.group(3), mathml)


def _escaped_text(text: str) -> str:
    return _LONE_AMPERSAND.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["MATHML_STYLE", "formula", "with_mathml"]
