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


def _matrix_width(body: str) -> int:
    rows = [row.split("&") for row in re.split(r"\\\\(?:\[[^\]]*\])?", body)]
    columns = max(len(row) for row in rows)
    widest = [max((_flat_width(row[k]) for row in rows if k < len(row)), default=0) for k in range(columns)]
    return sum(widest) + 2 * columns  # the column gaps and the brackets


def _flat_width(text: str) -> int:
    plain = text.replace(" ", "")
    if not _MARKUP.search(plain):  # most cells are plain numbers: no command, group or script to read
        return len(plain)
    text = _FRACTION.sub(lambda f: "x" * max(len(f.group(1)), len(f.group(2))), text)
    return len(_COMMAND.sub("x", _SPACING.sub("", text)))


def left_side(row: str) -> str:
    """A display row's text before its alignment mark (empty for a continued row)."""
    depth = 0
    for index, character in enumerate(row):
        if row.startswith(r"\begin", index):
            depth += 1
        elif row.startswith(r"\end", index):
            depth -= 1
        elif character == "&" and depth == 0 and (index == 0 or row[index - 1] != "\\"):
            return row[:index]
    return ""
