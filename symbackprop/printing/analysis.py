"""The reference page's later sections, on the user's own network: 역전파의 효율성,
Gradient 소실/폭발 and 메모리 사용.

Each section prints one report and computes nothing of its own: the operation
counts of :func:`symbackprop.cost.cost`, the products of local derivatives and
the gradient norms of :func:`symbackprop.flow.gradient_flow`, and the stored
values of :func:`symbackprop.memory.memory`.  Nothing here differentiates.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sympy as sp

from .. import rules
from .. import tensor as T
from ..cost import CostReport, scalar_operations
from ..flow import FlowEntry, GradientFlow
from ..memory import MemoryReport
from .blocks import Block, Bullets, Display, Figure, Heading, Paragraph, Table
from .names import shape_latex
from .numbers import NumberFormat
from .tensors import ATOM, FRACTION, POSTFIX, PRODUCT, Printed

if TYPE_CHECKING:
    from ..derivation import Derivation
    from .compose import Writer

#: Layer outputs whose product of local derivatives is written out; deeper networks show the
#: two layers nearest the loss and the two nearest the input, with ⋮ between them.
FLOW_LAYERS = 4
#: Factors of one product before its middle is elided with ⋯, and the width of a displayed row.
FLOW_FACTORS = 24
FLOW_ROW_WIDTH = 60
#: Operations of a closed form (where no single chain exists) beyond which only the path count is given.
FLOW_EXPRESSION_LIMIT = 40
#: Rows of the norm table before its middle is elided.
FLOW_TABLE_ROWS = 12
#: Stored values listed one by one in the memory section before the rest are counted.
MEMORY_ITEMS = 8
#: Counts beyond this print in scientific notation.
LARGE_COUNT = 10**9

_costs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cost_report(derivation: Derivation) -> CostReport:
    """``derivation.cost()``, once per derivation: every document of it shows the same figures."""
    report = _costs.get(derivation)
    if report is None:
        report = derivation.cost()
        _costs[derivation] = report
    return report


# -- numbers -------------------------------------------------------------------------------------


class Figures:
    """Counts and ratios as LaTeX, with the document's significant digits."""

    def __init__(self, digits: int) -> None:
        self.format = NumberFormat(exact=False, digits=digits)

    def count(self, n: int, *, estimated: bool = False) -> str:
        text = self.format.number(float(n)) if n >= LARGE_COUNT else f"{n:,}".replace(",", "{,}")
        return rf"\approx {text}" if estimated else text

    def ratio(self, value: float, *, estimated: bool = False) -> str:
        text = self.format.number(float(value))
        return rf"\approx {text}" if estimated else text

    def math(self, text: str) -> str:
        return f"${text}$"


# -- 역전파의 효율성 --------------------------------------------------------------------------------


def efficiency_section(w: Writer) -> list[Block]:
    report = cost_report(w.derivation)
    figures = Figures(w.options.digits)
    m = figures.math
    p = figures.count(report.parameters)
    forward = report.forward or 1
    rows = [
        (w.say("efficiency.forward"), m(figures.count(report.forward)), m("1")),
        (w.say("efficiency.backward", p=p), m(figures.count(report.backward)),
         m(figures.ratio(report.backward / forward))),
        (w.say("efficiency.backprop"), m(figures.count(report.backprop)), m(figures.ratio(report.backprop_ratio))),
        (w.say("efficiency.page_naive", p=p), m(figures.count(report.parameters * report.forward)),
         m(figures.count(report.page_naive_ratio))),
    ]
    naive = report.naive
    if naive is not None:
        if naive.operations is None:
            rows.append((w.say("efficiency.naive"), "—", "—"))
        else:
            rows.append((w.say("efficiency.naive"), m(figures.count(naive.operations, estimated=naive.estimated)),
                         m(figures.ratio(report.naive_ratio, estimated=naive.estimated))))
    blocks: list[Block] = [
        Heading(2, w.say("efficiency.heading")),
        Paragraph(w.say("efficiency.intro")),
        Table((w.say("efficiency.what"), w.say("efficiency.operations"), w.say("efficiency.ratio")),
              tuple(rows), ("l", "r", "r"), first_width=r"0.55\linewidth"),
    ]
    sentences = [w.say("efficiency.claim", ratio=figures.ratio(report.backprop_ratio),
                       backprop=figures.count(report.backprop))]
    if naive is not None and naive.operations is not None and report.speedup is not None:
        sentences.append(w.say("efficiency.speedup", naive=figures.count(naive.operations, estimated=naive.estimated),
                               speedup=figures.ratio(report.speedup, estimated=naive.estimated)))
        if naive.estimated:
            sentences.append(w.say("efficiency.estimated", derived=figures.count(naive.derived), p=p))
    elif naive is not None:
        if naive.loss_operations is None:
            sentences.append(w.say("efficiency.skipped_build", forward=figures.count(report.forward)))
        else:
            sentences.append(w.say("efficiency.skipped", loss=figures.count(naive.loss_operations)))
    blocks.append(Paragraph(" ".join(sentences)))
    return blocks


# -- Gradient 소실/폭발 -----------------------------------------------------------------------------


def flow_section(w: Writer, values: Mapping[str, Any], figure: Path | None = None) -> list[Block]:
    report = w.derivation.gradient_flow(dict(values))
    if not report.layers:
        return []
    figures = Figures(w.options.digits)
    blocks: list[Block] = [Heading(2, w.say("flow.heading")), Paragraph(w.say("flow.intro"))]
    rows, unsummed, diagonal = _product_rows(w, report)
    if rows:
        blocks.append(Display(tuple(rows)))
    if unsummed:
        blocks.append(Bullets(tuple(unsummed)))
    if diagonal:
        blocks.append(Paragraph(w.say("flow.diag")))
    vanishing, exploding = figures.ratio(report.vanishing), figures.ratio(report.exploding)
    blocks += [Paragraph(w.say("flow.norms", vanishing=vanishing, exploding=exploding)), _norm_table(w, report)]
    names = {status: ", ".join(f"${w.name(n)}$" for n in found)
             for status, found in (("vanishing", report.vanishing_names), ("exploding", report.exploding_names))}
    flags = []
    if names["vanishing"]:
        flags.append(w.say("flow.vanishing", names=names["vanishing"], vanishing=vanishing))
    if names["exploding"]:
        flags.append(w.say("flow.exploding", names=names["exploding"], exploding=exploding))
    blocks.append(Paragraph(" ".join(flags) if flags else w.say("flow.healthy", vanishing=vanishing,
                                                                  exploding=exploding)))
    blocks += _end_to_end(w, report, figures)
    if figure is not None:
        blocks += _plot(w, report, figure)
    return blocks


def _product_rows(w: Writer, report: GradientFlow) -> tuple[list[str], list[str], bool]:
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
            closed = _closed_form(w, entry.expression)
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
        if product == rules.IDENTITY:
            continue
        if product == rules.TRANSPOSE:
            inner = separator.join(_grouped(item, len(items)) for item in items) or "1"
            items = [Printed(rf"\left({inner}\right)^{{\top}}", POSTFIX)]
            continue
        if product == rules.SUM:
            items.insert(0, Printed(r"\mathbf{1}^{\top}" if factor.target_is_scalar else r"\mathbf{1}", ATOM))
            continue
        if factor.local is None or product not in (rules.RIGHT, rules.LEFT, rules.SCALE, rules.HADAMARD):
            items.insert(0, Printed(w.local(factor.source, factor.target), FRACTION))
            continue
        if product != rules.HADAMARD and _is_one(factor.local):
            continue
        printed = _printed(w, factor.local)
        if product == rules.HADAMARD:
            printed = Printed(rf"\operatorname{{diag}}\left({printed.text}\right)", ATOM)
            diagonal = True
        if product == rules.RIGHT:
            items.append(printed)
        else:
            items.insert(0, printed)
    if not _is_one(entry.seed):  # the batch mean's 1/N, a scalar: written first, as a coefficient
        items.insert(0, _printed(w, entry.seed))
    return [_grouped(item, len(items)) for item in items] or ["1"], scalar, diagonal


def _grouped(printed: Printed, among: int) -> str:
    """A factor's text, parenthesised where it binds less tightly than a product of several factors."""
    if among == 1 or printed.precedence >= PRODUCT:
        return printed.text
    return rf"\left({printed.text}\right)"


def _width(text: str) -> int:
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
        if chunks[-1] and width + _width(item) > FLOW_ROW_WIDTH:
            chunks.append([])
            width = 0
        chunks[-1].append(item)
        width += _width(item) + 1
    rows = [f"{lhs} &= {separator.join(chunks[0])}"]
    rows += [(r"&\quad \cdot " if scalar else r"&\quad ") + separator.join(chunk) for chunk in chunks[1:]]
    return rows


def _closed_form(w: Writer, expression: Any) -> str | None:
    """The report's closed product where several paths meet (scalar level), when it is short."""
    if expression is None or isinstance(expression, T.Tensor):
        return None
    matrix = isinstance(expression, sp.MatrixBase)
    elements = list(expression) if matrix else [expression]
    memo: dict = {}
    if sum(scalar_operations(e, memo) for e in elements) > FLOW_EXPRESSION_LIMIT:
        return None
    texts = [w.expr(e) for e in elements]
    if max(_width(t) for t in texts) > FLOW_ROW_WIDTH:
        return None
    if not matrix or expression.shape == (1, 1):
        return texts[0]
    columns = expression.cols
    rows = [" & ".join(texts[i * columns:(i + 1) * columns]) for i in range(expression.rows)]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def _norm_table(w: Writer, report: GradientFlow) -> Table:
    figures = Figures(w.options.digits)

    def number(value: float | None) -> str:
        if value is None or math.isnan(value):
            return "—"
        return f"${figures.ratio(value)}$"

    weighted = any(lf.layer.weight for lf in report.layers)
    rows = []
    for lf in reversed(report.layers):
        layer = lf.layer
        row = [str(lf.index), f"${w.name(layer.output)}$", number(lf.output_norm), number(lf.output_relative)]
        if weighted:
            row += [f"${w.name(layer.weight)}$" if layer.weight else "—", number(lf.weight_norm),
                    number(lf.weight_relative)]
        rows.append((*row, w.say(f"flow.status.{lf.status}")))
    keys = ["layer", "output", "output_norm", "relative"]
    align = ["r", "c", "r", "r"]
    if weighted:
        keys += ["weight", "weight_norm", "relative"]
        align += ["c", "r", "r"]
    keys.append("status")
    align.append("l")
    if len(rows) > FLOW_TABLE_ROWS:
        half = FLOW_TABLE_ROWS // 2
        rows = [*rows[:half], (r"$\vdots$", *[""] * (len(keys) - 1)), *rows[-half:]]
    return Table(tuple(w.say(f"flow.{key}") for key in keys), tuple(rows), tuple(align))


def _end_to_end(w: Writer, report: GradientFlow, figures: Figures) -> list[Block]:
    """‖∂L/∂(lowest output)‖ / ‖∂L/∂(top output)‖ and the factor per layer it amounts to."""
    if len(report.layers) < 3:
        return []
    bottom, top = report.layers[0], report.layers[-1]
    steps = top.index - bottom.index
    ratio = report.end_to_end
    if steps < 2 or ratio is None or not math.isfinite(ratio) or ratio <= 0:
        return []
    per_layer = figures.ratio(ratio ** (1 / steps))
    if not re.fullmatch(r"[0-9.]+", per_layer):
        per_layer = rf"\left({per_layer}\right)"
    loss = w.notation.loss

    def norm(name: str) -> str:
        return rf"\lVert \partial {loss} / \partial {w.name(name)} \rVert"

    formula = (rf"\frac{{{norm(bottom.layer.output)}}}{{{norm(top.layer.output)}}} = {figures.ratio(ratio)} "
               rf"\approx {per_layer}^{{{steps}}}")
    return [Paragraph(w.say("flow.end_to_end", bottom=bottom.index, factor=figures.ratio(ratio ** (1 / steps)))),
            Display((formula,))]


def _plot(w: Writer, report: GradientFlow, figure: Path) -> list[Block]:
    """The norm per layer as a PNG beside a written document, where matplotlib is installed."""
    from ..flow import plot_gradient_flow

    try:
        plot_gradient_flow(report, figure)
    except ModuleNotFoundError:
        return []
    return [Figure(figure.name, w.say("flow.figure"))]


# -- 메모리 사용 ------------------------------------------------------------------------------------


def memory_section(w: Writer) -> list[Block]:
    batch = w.options.batch_size
    one: MemoryReport = w.derivation.memory(batch=1)
    many: MemoryReport = w.derivation.memory(batch=batch) if batch > 1 else one
    figures = Figures(w.options.digits)
    readers: dict[str, list[str]] = {name: [] for name in one.stored}
    for reads in one.steps:
        target = w.network[reads.target].group or reads.target
        for name in reads.nodes:
            if name in readers and target not in readers[name]:
                readers[name].append(target)
    items = []
    for name in one.stored:
        quantity = w.network[name]
        value = f"${w.name(name)} \\in {shape_latex(quantity.shape)}$"
        items.append(w.say("memory.item", value=value, readers=", ".join(f"${w.adjoint(r)}$" for r in readers[name])))
    if len(items) > MEMORY_ITEMS:
        half = MEMORY_ITEMS // 2
        items = [*items[:half], w.say("memory.more", n=len(items) - 2 * half), *items[-half:]]
    blocks: list[Block] = [Heading(2, w.say("memory.heading"))]
    count = figures.count
    if items:
        blocks += [Paragraph(w.say("memory.intro")), Bullets(tuple(items))]
        sentences = [w.say("memory.total", n=count(one.activation_numbers), total=count(many.activation_numbers),
                           batch=batch, layers=one.layers)]
    else:
        sentences = [w.say("memory.none")]
    if one.input_numbers or one.parameter_numbers:
        sentences.append(w.say("memory.also", inputs=count(one.input_numbers), params=count(one.parameter_numbers)))
    blocks.append(Paragraph(" ".join(sentences)))
    plan, plain = one.checkpointed, one.plain
    if not items:
        return blocks
    if plan.stored_numbers < plain.stored_numbers:
        every = w.say("memory.every_layer") if plan.every == 1 else w.say("memory.every_layers", k=plan.every)
        kept = ", ".join(f"${w.name(n)}$" for n in plan.stored) or "—"
        blocks.append(Paragraph(w.say(
            "memory.checkpoint", every=every, kept=kept, stored=count(plan.stored_numbers),
            plain=count(plain.stored_numbers), peak=count(plan.peak_numbers), ops=count(plan.recompute_operations),
            ratio=figures.ratio(plan.recompute_ratio))))
    else:
        blocks.append(Paragraph(w.say("memory.no_saving")))
    return blocks


__all__ = ["cost_report", "efficiency_section", "flow_section", "memory_section"]
