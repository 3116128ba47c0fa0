"""The products of local derivatives from the loss down to each layer's output, as display rows."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sympy as sp

from ... import tensor as T
from ...rules import Product
from ..precedence import Precedence, Printed

if TYPE_CHECKING:
    from ...analysis.flow import FlowEntry, GradientFlow
    from ..compose import Writer

#: Layer outputs whose product of local derivatives is written out; deeper networks show the
#: two layers nearest the loss and the two nearest the input, with ⋮ between them.
FLOW_LAYERS = 4
#: Factors of one product before its middle is elided with ⋯, and the width of a displayed row.
FLOW_FACTORS = 24
FLOW_ROW_WIDTH = 60
#: Operations of a closed form (where no single chain exists) beyond which only the path count is given.
FLOW_EXPRESSION_LIMIT = 40


def product_rows(w: Writer, report: GradientFlow) -> tuple[list[str], list[str], bool]:
    """Display rows ∂L/∂(layer output) = product of local derivatives, top layer first;
    bullets for outputs reached by several paths; whether any diag(·) was written."""
    layers = list(reversed(report.layers))
    shown: list[Any] = layers
    if len(layers) > FLOW_LAYERS:
        shown = [*layers[:FLOW_LAYERS // 2], None, *layers[-(FLOW_LAYERS // 2):]]
    rows: list[str] = []
    unsummed: list[str] = []
    diagonal = False
    for layer in shown:
        if layer is None:
            rows.append(r"&\vdots")
            continue
        entry = report.entry(layer.layer.output)
        lhs = w.adjoint(entry.name)
        if entry.factors:
            items, scalar, uses_diag = _chain_items(w, entry)
            diagonal |= uses_diag
            rows += _product_lines(lhs, items, scalar)
        elif entry.paths == 0:
            rows.append(f"{lhs} &= 0")
        else:
            closed = _closed_form(w, entry)
            if closed is not None:
                rows.append(f"{lhs} &= {closed}")
            else:
                unsummed.append(f"${lhs}$: {w.say('flow.paths', n=entry.paths)}")
    return rows, unsummed, diagonal


def _printed(w: Writer, value: Any) -> Printed:
    if isinstance(value, T.Tensor):
        return w.tensors.print(value)
    return w.tensors.scalar(sp.sympify(value))


def _is_one(value: Any) -> bool:
    if isinstance(value, T.Scalar):
        value = value.expr
    return not isinstance(value, T.Tensor) and sp.sympify(value) == 1


def _chain_items(w: Writer, entry: FlowEntry) -> tuple[list[str], bool, bool]:
    """The factors of ∂L/∂name from left to right, as the recorded steps' products combine them
    (see :meth:`symbackprop.flow.Factor.apply`); whether all are scalars; whether diag(·) appears."""
    scalar = not any(isinstance(f.local, T.Tensor) for f in entry.factors)
    separator = r" \cdot " if scalar else r" \, "
    items: list[Printed] = []
    diagonal = False
    for factor in entry.factors:
        product = factor.product
        if product == Product.IDENTITY:
            continue
        if product == Product.TRANSPOSE:
            inner = separator.join(_grouped(item, len(items)) for item in items) or "1"
            items = [Printed(rf"\left({inner}\right)^{{\top}}", Precedence.POSTFIX)]
            continue
        if product == Product.SUM:
            ones = r"\mathbf{1}^{\top}" if factor.target_is_scalar else r"\mathbf{1}"
            items.insert(0, Printed(ones, Precedence.ATOM))
            continue
        if factor.local is None or product not in (Product.RIGHT, Product.LEFT, Product.SCALE, Product.HADAMARD):
            items.insert(0, Printed(w.local(factor.source, factor.target), Precedence.FRACTION))
            continue
        if product != Product.HADAMARD and _is_one(factor.local):
            continue
        printed = _printed(w, factor.local)
        if product == Product.HADAMARD:
            printed = Printed(rf"\operatorname{{diag}}\left({printed.text}\right)", Precedence.ATOM)
            diagonal = True
        if product == Product.RIGHT:
            items.append(printed)
        else:
            items.insert(0, printed)
    if not _is_one(entry.seed):  # the batch mean's 1/N, a scalar: written first, as a coefficient
        items.insert(0, _printed(w, entry.seed))
    return [_grouped(item, len(items)) for item in items] or ["1"], scalar, diagonal


def _grouped(printed: Printed, among: int) -> str:
    """A factor's text, parenthesised where it binds less tightly than a product of several factors."""
    if among == 1 or printed.precedence >= Precedence.PRODUCT:
        return printed.text
    return rf"\left({printed.text}\right)"


def printed_width(text: str) -> int:
    """A rough printed width of LaTeX math, in characters: a command counts as one."""
    text = re.sub(r"\\(left|right)\b|\\operatorname|\\mathbf|\\,|[{}_^ ]", "", text)
    return len(re.sub(r"\\[A-Za-z]+", "x", text))


def _product_lines(lhs: str, items: list[str], scalar: bool) -> list[str]:
    """``lhs &= f1 f2 …`` on rows of at most FLOW_ROW_WIDTH characters, a long middle elided."""
    if len(items) > FLOW_FACTORS:
        half = FLOW_FACTORS // 2 - 1
        items = [*items[:half], r"\cdots", *items[-half:]]
    separator = r" \cdot " if scalar else r" \, "
    chunks: list[list[str]] = [[]]
    width = 0
    for item in items:
        if chunks[-1] and width + printed_width(item) > FLOW_ROW_WIDTH:
            chunks.append([])
            width = 0
        chunks[-1].append(item)
        width += printed_width(item) + 1
    rows = [f"{lhs} &= {separator.join(chunks[0])}"]
    rows += [(r"&\quad \cdot " if scalar else r"&\quad ") + separator.join(chunk) for chunk in chunks[1:]]
    return rows


def _closed_form(w: Writer, entry: FlowEntry) -> str | None:
    """The report's closed product where several paths meet (scalar level), when it is short."""
    expression = entry.expression
    if expression is None or isinstance(expression, T.Tensor) or entry.expression_operations is None:
        return None
    if entry.expression_operations > FLOW_EXPRESSION_LIMIT:
        return None
    matrix = isinstance(expression, sp.MatrixBase)
    elements = list(expression) if matrix else [expression]
    texts = [w.expr(e) for e in elements]
    if max(printed_width(t) for t in texts) > FLOW_ROW_WIDTH:
        return None
    if not matrix or expression.shape == (1, 1):
        return texts[0]
    columns = expression.cols
    rows = [" & ".join(texts[i * columns:(i + 1) * columns]) for i in range(expression.rows)]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"
