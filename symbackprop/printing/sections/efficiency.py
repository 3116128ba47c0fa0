"""역전파의 효율성: the cost report as a table and a few sentences."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..blocks import Block, Heading, Paragraph, Table
from ..report_text import naive_which_key
from .figures import Figures

if TYPE_CHECKING:
    from ...analysis.cost import CostReport
    from ..compose import Writer


def efficiency_section(w: Writer, report: CostReport) -> list[Block]:
    figures = Figures(w.options.digits, w.options.decimals)
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
    if naive is not None and not naive.counted:  # a counted figure is the page's row above
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
    if naive is not None and naive.counted:
        if report.speedup is not None:
            sentences.append(w.say("efficiency.counted", p=p, forward=figures.count(report.forward),
                                   naive=figures.count(naive.operations), speedup=figures.ratio(report.speedup)))
    elif naive is not None and naive.operations is not None and report.speedup is not None:
        sentences.append(w.say("efficiency.speedup", naive=figures.count(naive.operations, estimated=naive.estimated),
                               speedup=figures.ratio(report.speedup, estimated=naive.estimated)))
        if naive.estimated:
            sentences.append(w.say("efficiency.estimated", derived=figures.count(naive.derived), p=p))
            sentences.append(w.say(f"efficiency.sample.{naive_which_key(naive.per_parameter)}",
                                   k=naive.per_parameter))
    elif naive is not None:
        if naive.loss_operations is None:
            sentences.append(w.say("efficiency.skipped_build", forward=figures.count(report.forward)))
        else:
            sentences.append(w.say("efficiency.skipped", loss=figures.count(naive.loss_operations)))
    blocks.append(Paragraph(" ".join(sentences)))
    return blocks
