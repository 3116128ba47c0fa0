"""How wide a row of display math prints, roughly, in characters of the document's type.

A matrix is as wide as its widest entry in each column together, not as its source text:
``\\begin{bmatrix} 0.2569 & 0.3066 \\\\ 0.4804 & 0.2827 \\end{bmatrix}`` prints about 16
characters wide. The estimate decides where a long row is broken or scaled to the line.
"""

from __future__ import annotations

import re
from functools import lru_cache

_INNERMOST_MATRIX = re.compile(r"\\begin\{bmatrix\}((?:(?!\\begin\{bmatrix\}).)*?)\\end\{bmatrix\}", re.S)
_FRACTION = re.compile(r"\\d?frac\{([^{}]*)\}\{([^{}]*)\}")
_SPACING = re.compile(r"\\(left|right)\b|\\operatorname|\\mathbf|\\mathrm|\\displaystyle|\\,|\\\[6pt\]|[{}_^ ]")
_COMMAND = re.compile(r"\\[A-Za-z]+")
_MARKUP = re.compile(r"[\\{}_^]")
#: A row's width in characters beyond which it may not fit the line of a standalone page.
ROW_WIDTH = 64
#: Where a matrix's width has been worked out: one private-use character per printed character.
_FILLER = "\ue000"


@lru_cache(maxsize=4096)  # a row is measured again as it is wrapped, fitted and aligned
def printed_width(latex: str) -> int:
    """The printed width of LaTeX math in characters: a command counts as one, a matrix as its columns."""
    text, nested = latex, 1
    while nested:  # one pass per level of nesting, each replacing every innermost matrix
        text, nested = _INNERMOST_MATRIX.subn(lambda matrix: _FILLER * _matrix_width(matrix.group(1)), text)
    return _flat_width(text)


@lru_cache(maxsize=8192)  # a matrix is measured in every row that shows it, as the row is packed
def _matrix_width(body: str) -> int:
    rows = [row.split("&") for row in re.split(r"\\\\(?:\[[^\]]*\])?", body)]
    columns = max(len(row) for row in rows)
    widest = [max((_flat_width(row[k]) for row in rows if k < len(row)), default=0) for k in range(columns)]
    return sum(widest) + 2 * columns  # the column gaps and the brackets


def _flat_width(text: str) -> int:
    plain = text.replace(" ", "")
    if not _MARKUP.search(plain):  # most cells are plain numbers: no command, group or script to read
        return len(plain)
    text = text.replace(r"\_", "x")  # an underscore printed in a name (counts_sum_inv), not a subscript
    text = _FRACTION.sub(lambda f: "x" * max(len(f.group(1)), len(f.group(2))), text)
    return len(_COMMAND.sub("x", _SPACING.sub("", text)))


def fraction_width(latex: str) -> int:
    """The printed width of a left side such as ∂L/∂counts_sum_inv or ∂L/∂V · ∂V/∂X: each fraction whose
    parts hold groups (\\mathrm{…}, W_{1}) is as wide as its wider part, ∂ measured apart, the text
    between them as printed_width measures it. printed_width reads such a fraction as a run of merged
    commands, which ranks ∂L/∂counts_sum_inv narrower than ∂L/∂h."""
    width, plain, position = 0, [], 0
    while position < len(latex):
        if not latex.startswith(r"\frac{", position):
            plain.append(latex[position])
            position += 1
            continue
        parts, position = _groups(latex, position + len(r"\frac"), 2)
        width += max(1 + printed_width(part.replace(r"\partial", "")) for part in parts)
    rest = "".join(plain).strip()
    return width + (printed_width(rest) if rest else 0)


def _groups(latex: str, position: int, count: int) -> tuple[list[str], int]:
    """The next ``count`` brace groups from ``position`` (their contents) and where they end."""
    parts: list[str] = []
    depth, start = 0, position
    while position < len(latex) and len(parts) < count:
        character = latex[position]
        if character == "{":
            depth += 1
            start = position + 1 if depth == 1 else start
        elif character == "}":
            depth -= 1
            if depth == 0:
                parts.append(latex[start:position])
        position += 1
    return parts or [""], position


def left_side(row: str) -> str:
    """A display row's text before its alignment mark (empty for a continued row)."""
    depth = 0
    for mark in _ALIGNMENT_MARKS.finditer(row):
        if mark.group() == "&":
            if depth == 0 and (mark.start() == 0 or row[mark.start() - 1] != "\\"):
                return row[:mark.start()]
        else:
            depth += 1 if mark.group() == r"\begin" else -1
    return ""


_ALIGNMENT_MARKS = re.compile(r"\\begin|\\end|&")
