"""Gradient 소실/폭발: the gradient-flow report as products of local derivatives, a table of norms
and the flags; beside a written document, a plot of the norms."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..abridge import Omitted, abridged
from ..blocks import Block, Bullets, Display, Figure, Heading, Paragraph, Table
from .figures import Figures
from .flow_products import product_rows

if TYPE_CHECKING:
    from ...analysis.flow import GradientFlow
    from ..compose import Writer

#: Rows of the norm table before its middle is elided.
FLOW_TABLE_ROWS = 12


def flow_section(w: Writer, report: GradientFlow, figure: Path | None = None) -> list[Block]:
    if not report.layers:
        return []
    figures = Figures(w.options.digits, w.options.decimals)
    blocks: list[Block] = [Heading(2, w.say("flow.heading")), Paragraph(w.say("flow.intro"))]
    rows, unsummed, diagonal = product_rows(w, report)
    if rows:
        blocks.append(Display(tuple(rows)))
    if unsummed:
        blocks.append(Bullets(tuple(unsummed)))
    if diagonal:
        blocks.append(Paragraph(w.say("flow.diag")))
    vanishing, exploding = figures.ratio(report.vanishing), figures.ratio(report.exploding)
    blocks += [Paragraph(w.say("flow.norms", vanishing=vanishing, exploding=exploding)), _norm_table(w, report)]
    names = {status: ", ".join(w.say("abridged.more", n=n.count) if isinstance(n, Omitted) else f"${w.name(n)}$"
                               for n in w.abridged(list(found)))
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


def _norm_table(w: Writer, report: GradientFlow) -> Table:
    figures = Figures(w.options.digits, w.options.decimals)

    def number(value: float | None) -> str:
        if value is None or math.isnan(value):
            return "—"
        return f"${figures.ratio(value)}$"

    weighted = any(lf.layer.weight for lf in report.layers)
    keys = ["layer", "output", "output_norm", "relative"]
    align = ["r", "c", "r", "r"]
    if weighted:
        keys += ["weight", "weight_norm", "relative"]
        align += ["c", "r", "r"]
    keys.append("status")
    align.append("l")
    rows = []
    for lf in abridged(list(reversed(report.layers)), FLOW_TABLE_ROWS):
        if isinstance(lf, Omitted):
            rows.append((r"$\vdots$", *[""] * (len(keys) - 1)))
            continue
        layer = lf.layer
        row = [str(lf.index), f"${w.name(layer.output)}$", number(lf.output_norm), number(lf.output_relative)]
        if weighted:
            row += [f"${w.name(layer.weight)}$" if layer.weight else "—", number(lf.weight_norm),
                    number(lf.weight_relative)]
        rows.append((*row, w.say(f"flow.status.{lf.status}")))
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
    from ... import flow  # looked up when drawing, so that the public name is the one used

    try:
        flow.plot_gradient_flow(report, figure)
    except ModuleNotFoundError:
        return []
    return [Figure(figure.name, w.say("flow.figure"))]
