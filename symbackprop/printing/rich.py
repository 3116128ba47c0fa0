"""What a notebook shows for a step, an evaluation and the reports (their ``_repr_*_`` methods).

A step is its rows of the document's Backward Pass as one ``$$…$$`` formula; an evaluation
is a Markdown table of every forward value and gradient; each report is its document
section in Markdown.  The pieces are the documents' own: the composer's step rows, the
section printers, :class:`~.numbers.NumberFormat` and the Markdown writer.  Markdown rather
than HTML, because notebook front ends typeset the math of Markdown output (JupyterLab,
VS Code, nbconvert) while several leave the ``$…$`` of HTML output as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..derivation import SEED
from .blocks import Block, Paragraph, Table
from .markdown import display, render
from .names import Notation, shape_latex
from .numbers import NumberFormat
from .options import Options
from .prose import say
from .report_prose import report_say

if TYPE_CHECKING:
    from ..analysis.cost import CostReport
    from ..analysis.flow import GradientFlow
    from ..analysis.memory import MemoryReport
    from ..derivation import Derivation, Step
    from ..numeric import Evaluation
    from .compose import Writer

#: Samples of a batched value shown before "…".
SAMPLES_SHOWN = 4


def _writer(derivation: Derivation, lang: str, digits: int = 4) -> Writer:
    from .compose import Writer

    return Writer(derivation, Options(lang=lang, digits=digits))


# -- one step -----------------------------------------------------------------------------------


def step_rows(derivation: Derivation, step: Step, lang: str = "en") -> list[str]:
    """The document's rows for ``step``: its chain, then its result (∂L/∂L = 1 for the seed)."""
    writer = _writer(derivation, lang)
    if step.kind == SEED:
        return [writer.seed_text()]
    return writer.step_rows(step)


def step_latex(derivation: Derivation, step: Step, lang: str = "en") -> str:
    """The step as one display formula, ``$$…$$``, as MathJax and KaTeX take it."""
    return display(tuple(step_rows(derivation, step, lang)))


# -- an evaluation -------------------------------------------------------------------------------


def _is_batched(value: Any, scalar: bool) -> bool:
    return np.ndim(value) > (0 if scalar else 2)


def _value(number: NumberFormat, value: Any, batched: bool) -> str:
    """A value as math; a batch as its first samples in parentheses."""
    if not batched:
        return number.matrix(value)
    samples = [number.matrix(value[k]) for k in range(min(SAMPLES_SHOWN, len(value)))]
    more = r",\; \ldots" if len(value) > SAMPLES_SHOWN else ""
    return r"\left(" + r",\; ".join(samples) + more + r"\right)"


def evaluation_blocks(evaluation: Evaluation, *, lang: str = "en", digits: int = 4,
                      decimals: int | None = None) -> list[Block]:
    """A sentence with the loss, then one row per quantity: name, kind, shape, value and gradient."""
    network = evaluation.network
    notation = Notation(network)
    number = NumberFormat(exact=evaluation.exact, digits=digits, decimals=decimals)
    rows = []
    for quantity in network.quantities():
        name = quantity.name
        value, gradient = evaluation.forward[name], evaluation.grad[name]
        rows.append((
            f"${notation.name(name)}$",
            report_say(lang, f"evaluation.kind.{quantity.kind}"),
            f"${shape_latex(quantity.shape)}$",
            f"${_value(number, value, _is_batched(value, quantity.is_scalar))}$",
            f"${_value(number, gradient, _is_batched(gradient, quantity.is_scalar))}$",
        ))
    loss = f"${notation.loss} = {number.number(evaluation.loss)}$"
    sentences = [report_say(lang, "evaluation.loss", loss=loss)]
    if evaluation.batch_size is not None:
        sentences.append(report_say(lang, "evaluation.batch", n=evaluation.batch_size))
    if evaluation.exact:
        sentences.append(say(lang, "example.exact"))
    elif number.rounded:
        sentences.append(say(lang, "example.rounded_places", decimals=decimals) if decimals is not None
                         else say(lang, "example.rounded", digits=digits))
    header = tuple(report_say(lang, f"evaluation.{key}") for key in ("name", "kind", "shape", "value", "gradient"))
    return [Paragraph(" ".join(sentences)), Table(header, tuple(rows), ("c", "l", "c", "c", "c"))]


def evaluation_markdown(evaluation: Evaluation, *, lang: str = "en", digits: int = 4,
                        decimals: int | None = None) -> str:
    """The evaluation as Markdown: the loss, then a table of every forward value and gradient."""
    return render(evaluation_blocks(evaluation, lang=lang, digits=digits, decimals=decimals))


# -- the reports ------------------------------------------------------------------------------


def cost_markdown(report: CostReport, lang: str = "en") -> str:
    """역전파의 효율성, as the document writes it: the table of counts and what they say."""
    from .sections.efficiency import efficiency_section

    return render(efficiency_section(_writer(report.derivation, lang), report))


def flow_markdown(report: GradientFlow, lang: str = "en") -> str:
    """Gradient 소실/폭발, as the document writes it (without the plot)."""
    from .sections.flow import flow_section

    return render(flow_section(_writer(report.derivation, lang), report))


def memory_markdown(report: MemoryReport, one_sample: MemoryReport, lang: str = "en") -> str:
    """메모리 사용, as the document writes it: ``one_sample`` counts one sample, ``report`` its batch."""
    from .sections.memory import memory_section

    many = report if report.batch > 1 else None
    return render(memory_section(_writer(report.derivation, lang), one_sample, many))


__all__ = [
    "cost_markdown", "evaluation_blocks", "evaluation_markdown", "flow_markdown", "memory_markdown", "step_latex",
    "step_rows",
]
