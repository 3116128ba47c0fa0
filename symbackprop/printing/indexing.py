"""LaTeX for slices, concatenations and a slice's gradient placed back into zeros.

Printed indices are 1-based, as a textbook counts (X[:, 0] is the first column,
X_{:,1}); a range a:b includes both ends (X[:, 1:3] is X_{:,2:3}).  A part of an
expression is written [A]_{i,:}; a column vector drops its column index (x_{2}).
Joined blocks and zeros are block matrices with the sizes of the zero blocks.
"""

from __future__ import annotations

from .. import tensor as T
from .precedence import Precedence, Printed


def index_text(span: tuple[int, int], size: int) -> str:
    start, stop = span
    if (start, stop) == (0, size):
        return ":"
    if stop == start + 1:
        return str(start + 1)
    return f"{start + 1}:{stop}"


def subscript(rows: tuple[int, int], columns: tuple[int, int], shape: T.Shape) -> str:
    row_text, column_text = index_text(rows, shape[0]), index_text(columns, shape[1])
    if shape[1] == 1:
        return row_text
    if shape[0] == 1:
        return column_text
    return f"{row_text},{column_text}"


def _zeros(rows: int, columns: int) -> str:
    return rf"\mathbf{{0}}_{{{rows} \times {columns}}}"


def _segments(span: tuple[int, int], size: int) -> list[tuple[int, bool]]:
    """The lengths before, inside and after a range (empty ones left out), and which is the range."""
    start, stop = span
    parts = [(start, False), (stop - start, True), (size - stop, False)]
    return [(length, inside) for length, inside in parts if length > 0]


def block_matrix(rows: list[list[str]]) -> str:
    return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(row) for row in rows) + r" \end{bmatrix}"


class IndexingPrinter:
    """The LaTeX printer's methods for :mod:`symbackprop.tensor.indexing` (a base of TensorPrinter)."""

    def visit_Slice(self, node: T.Slice) -> Printed:
        operand = self.print(node.operand)
        index = subscript(node.rows, node.columns, node.operand.shape)
        simple = operand.precedence >= Precedence.ATOM and not any(mark in operand.text for mark in "_^{}\\ ")
        base = operand.text if simple else rf"\left[{operand.text}\right]"
        return Printed(f"{base}_{{{index}}}", Precedence.ATOM)

    def visit_Embed(self, node: T.Embed) -> Printed:
        inner = self.print(node.operand).text
        rows = []
        for height, row_inside in _segments(node.rows, node.outer[0]):
            rows.append([inner if row_inside and column_inside else _zeros(height, width)
                         for width, column_inside in _segments(node.columns, node.outer[1])])
        return Printed(block_matrix(rows), Precedence.ATOM)

    def visit_Concat(self, node: T.Concat) -> Printed:
        parts = [self.print(part).text for part in node.parts]
        return Printed(block_matrix([[p] for p in parts] if node.axis == 0 else [parts]), Precedence.ATOM)
