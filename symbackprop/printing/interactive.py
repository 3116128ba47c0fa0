"""The interactive page: the computational graph to click, and the backward pass to walk step by step.

``to_html(values, interactive=True)`` puts a section after the page's
introduction: the graph as inline SVG (:mod:`symbackprop.printing.svg_graph`), a
panel, and two buttons.  Clicking a quantity shows its forward value, its
gradient ∂L/∂name and the backward step(s) that produced it; "step" walks the
derivation's steps in their recorded order from the loss, marking the arrows the
gradient flows back along; "reset" starts again.  Everything the panel shows is
written here, as HTML fragments whose math KaTeX renders when shown, into one JSON
``<script type="application/json">``; the script and style sheet are package files
(``assets/interactive.js``, ``assets/interactive.css``) inlined into the page, so
the page needs no server and, with KaTeX inlined, no network.

Only the recorded steps and ``Derivation.evaluate``'s numbers are read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..derivation import EDGE, SEED, SUM, Step
from ..network import INPUT, LOSS
from . import structure as S
from .blocks import Block, Display, Heading, Marker, Paragraph
from .example import Example
from .html_blocks import render
from .mathml import with_mathml
from .numbers import WorkedValues
from .options import Options
from .prose import rule_sentences
from .svg_graph import GAP_ID, Graph, graph_of, to_svg

if TYPE_CHECKING:
    from ..derivation import Derivation
    from .compose import Writer

#: The page's own words, in every language the documents are written in.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Computational graph",
        "intro": "Every quantity is a box and every operation a circle; an arrow is a use. Click a box for its "
                 "forward value, its gradient and the backward step that produced it. **Step** walks the "
                 "backward pass from the loss, one recorded step at a time, and marks the arrows the gradient "
                 "flows back along.",
        "step": "Step",
        "reset": "Reset",
        "ready": "Backward pass: {n} steps",
        "progress": "Step {k} of {n}",
        "done": "Backward pass done: every gradient is known",
        "forward": "Forward value",
        "gradient": "Gradient",
        "produced": "The backward step that produced it",
        "produced.many": "The backward steps that produced it",
        "unreached": "No step reaches it: it does not affect the loss.",
        "symbols": "No values were given, so the panel shows symbols only.",
        "seed": "The backward pass starts at the loss:",
        "step.heading": "Step {k} of {n}",
        "kind.input": "input",
        "kind.target": "target",
        "kind.param": "parameter",
        "kind.node": "node",
        "kind.loss": "loss",
        "hint": "Click a box in the graph.",
        "gap": "left out",
        "omitted": "The graph leaves this step's quantities out (⋯): it draws the first and last {n} quantities "
                   "of the network. Write the page with abridge=None (--abridge all) to draw and explain them all.",
        "nokatex": "KaTeX could not be loaded (the page links it from the web, and there is no network), so the "
                   "formulas are shown as TeX. A page written with KaTeX inlined (--katex PATH) or with its "
                   "formulas as MathML (--katex auto or mathml) reads the same offline.",
    },
    "ko": {
        "heading": "계산 그래프",
        "intro": "각 값은 상자, 각 연산은 원이고, 화살표는 값이 쓰이는 곳입니다. 상자를 누르면 그 값의 순전파 값, "
                 "gradient, 그리고 그 gradient를 계산한 역전파 단계가 나타납니다. **다음 단계**는 손실 함수에서 "
                 "시작해 기록된 순서대로 역전파를 한 단계씩 따라가며, gradient가 거꾸로 흐르는 화살표를 표시합니다.",
        "step": "다음 단계",
        "reset": "처음으로",
        "ready": "역전파: {n}단계",
        "progress": "{n}단계 중 {k}단계",
        "done": "역전파 완료: 모든 gradient를 구했습니다",
        "forward": "순전파 값",
        "gradient": "Gradient",
        "produced": "이 gradient를 계산한 역전파 단계",
        "produced.many": "이 gradient를 계산한 역전파 단계들",
        "unreached": "어떤 단계도 도달하지 않습니다: 손실 함수에 영향을 주지 않습니다.",
        "symbols": "값이 주어지지 않아 기호로만 보여줍니다.",
        "seed": "역전파는 손실 함수에서 시작합니다:",
        "step.heading": "{n}단계 중 {k}단계",
        "kind.input": "입력",
        "kind.target": "정답",
        "kind.param": "파라미터",
        "kind.node": "노드",
        "kind.loss": "손실 함수",
        "hint": "그래프의 상자를 눌러 보세요.",
        "gap": "생략",
        "omitted": "그래프는 네트워크의 처음과 마지막 {n}개 값만 그리고 나머지는 ⋯로 줄였기 때문에 이 단계의 값은 "
                   "그래프에 없습니다. 모두 그리고 설명하려면 abridge=None(--abridge all)으로 페이지를 만드세요.",
        "nokatex": "KaTeX를 불러오지 못해(페이지가 웹에서 KaTeX를 불러오는데 네트워크가 없음) 수식을 TeX 그대로 "
                   "보여줍니다. KaTeX를 포함해 만든 페이지(--katex PATH)나 수식을 MathML로 쓴 페이지"
                   "(--katex auto 또는 mathml)는 오프라인에서도 똑같이 보입니다.",
    },
}

SECTION_ID = "sbp-interactive"
DATA_ID = "sbp-data"


def word(lang: str, key: str, **fields: Any) -> str:
    text = WORDS[lang][key]
    for name, value in fields.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def asset(name: str) -> str:
    """A file of ``symbackprop/printing/assets`` (the page's script and style sheet)."""
    return (resources.files(__package__) / "assets" / name).read_text(encoding="utf-8")


def with_graph(body: str, derivation: Derivation, values: Mapping[str, Any] | None, options: Options, *,
               mathml: bool = False) -> str:
    """The page's body with the interactive section after its introduction (the first rule); ``mathml``
    writes the panels' math as MathML (the page's own math is converted with the page)."""
    section = interactive_section(derivation, values, options, mathml=mathml)
    head, rule, rest = body.partition("<hr>")
    return f"{head}{rule}\n{section}\n{rest}" if rule else f"{section}\n{body}"


def interactive_section(derivation: Derivation, values: Mapping[str, Any] | None, options: Options, *,
                        mathml: bool = False) -> str:
    """The section: heading, buttons, the SVG graph, the panel, its data, style sheet and script."""
    lang = options.lang
    graph = graph_of(derivation.network, options.abridge)
    if GAP_ID in graph.nodes:
        graph.nodes[GAP_ID].detail = word(lang, "gap")
    data = interactive_data(derivation, values, options, graph)
    if mathml:  # the script shows each panel as it is: no KaTeX to call
        data["mathml"] = True
        for entry in (*data["nodes"].values(), *data["steps"]):
            if entry["html"] is not None:  # None: a step the abridged graph leaves out
                entry["html"] = with_mathml(entry["html"])
        for panels in data.get("practice", {}).get("hidden", {}).values():
            panels.update({key: with_mathml(html) for key, html in panels.items()})
    payload = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")  # no "</script>" inside the element
    intro = render([Heading(2, word(lang, "heading")), Paragraph(word(lang, "intro"))])
    buttons = (f'<div class="sbp-controls"><button type="button" class="sbp-step">{escape(word(lang, "step"))}'
               f'</button> <button type="button" class="sbp-reset">{escape(word(lang, "reset"))}</button> '
               f'<span class="sbp-status" aria-live="polite">{escape(data["words"]["ready"])}</span></div>')
    panel = f'<div class="sbp-panel" aria-live="polite"><p class="sbp-hint">{escape(word(lang, "hint"))}</p></div>'
    return (f'<section id="{SECTION_ID}" class="sbp-interactive">\n<style>\n{asset("interactive.css")}</style>\n'
            f"{intro}\n{buttons}\n<div class=\"sbp-figure\">{to_svg(graph, title=word(lang, 'heading'))}</div>\n"
            f"{panel}\n"
            f'<script type="application/json" id="{DATA_ID}">{payload}</script>\n'
            f"<script>\n{asset('interactive.js')}</script>\n</section>")


def interactive_data(derivation: Derivation, values: Mapping[str, Any] | None, options: Options,
                     graph: Graph | None = None) -> dict[str, Any]:
    """What the page's script reads: per quantity its panel and steps, per step its arrows and panel."""
    return _Panels(derivation, values, options, graph or graph_of(derivation.network, options.abridge)).data()


class _Panels:
    def __init__(self, derivation: Derivation, values: Mapping[str, Any] | None, options: Options,
                 graph: Graph) -> None:
        from .compose import Writer

        self.derivation = derivation
        self.lang = options.lang
        self.graph = graph
        self.drawn_quantities = {n.quantity for n in graph.nodes.values() if n.is_quantity}
        self.w: Writer = Writer(derivation, options)
        self.worked: WorkedValues | None = None
        self.example: Example | None = None
        self.values = values
        if values is not None:
            self.worked = self.w.worked(values)
            self.example = Example(self.w, self.worked)
        self.practice = options.practice and values is not None

    def say(self, key: str, **fields: Any) -> str:
        return word(self.lang, key, **fields)

    def data(self) -> dict[str, Any]:
        steps = self.derivation.steps
        quantities = [n for n in self.graph.nodes.values() if n.is_quantity]
        return {
            "lang": self.lang,
            "loss": self.derivation.loss,
            "values": self.worked is not None,
            "words": {"ready": self.say("ready", n=len(steps)), "progress": self.say("progress"),
                      "done": self.say("done"), "nokatex": self.say("nokatex"), "omitted": self.omitted_html()},
            "nodes": {n.quantity: {"id": f"sbp-{n.id}", "html": self.node_html(n.quantity),
                                   "steps": [s.index for s in self.derivation.steps_into(n.quantity)]}
                      for n in quantities},
            "steps": [{"index": s.index, "kind": s.kind, "target": s.target, "source": s.source,
                       "edges": [f"sbp-{e}" for e in self.arrows(s)],
                       "html": self.step_html(s) if self.drawn(s) else None} for s in steps],
            **(self.practice_data(quantities) if self.practice else {}),
        }

    def practice_data(self, quantities: list) -> dict[str, Any]:
        """The practice mode: each box's numbers and mistakes, and the panels without the numbers to find."""
        from ..practice.page import practice_data

        practice = practice_data(self.derivation, self.values, self.lang)
        hidden_steps = {int(i) for i in practice["boxes"]}
        practice["hidden"] = {
            "steps": {s.index: self.step_html(s, numbers=False) for s in self.derivation.steps
                      if s.index in hidden_steps},
            "nodes": {n.quantity: self.node_html(n.quantity, numbers=False) for n in quantities},
        }
        return {"practice": practice}

    def drawn(self, step: Step) -> bool:
        """Whether the graph draws what ``step`` goes between (an abridged graph draws the ends of the network)."""
        return all(name in self.drawn_quantities for name in (step.target, step.source) if name)

    def omitted_html(self) -> str:
        """The panel of every step the graph leaves out, its number k filled in by the page's script."""
        heading = Heading(4, self.say("step.heading", n=len(self.derivation.steps)))
        note = Paragraph(self.say("omitted", n=((self.w.options.abridge or 0) + 1) // 2))
        return f'<div class="sbp-step-rows">{render([heading, note])}</div>'

    def arrows(self, step: Step) -> list[str]:
        """The arrows a step's gradient comes back along: from its source to its target, or for a fan-out's
        sum, every part's."""
        if step.kind == EDGE:
            return self.graph.path(step.target, step.source)
        if step.kind == SUM:
            return [e for i in step.parts for e in self.arrows(self.derivation.steps[i])]
        return []

    # -- the panel of a quantity ----------------------------------------------------------------

    def node_html(self, name: str, numbers: bool = True) -> str:
        w, quantity = self.w, self.derivation.network[name]
        kind = quantity.kind
        owner = quantity.group or name
        if kind == INPUT and owner in S.loss_targets(self.derivation.network):
            kind = "target"
        shape = "" if quantity.shape is None else ", $" + r" \times ".join(str(d) for d in quantity.shape) + "$"
        blocks: list[Block] = [Heading(3, f"${w.name(name)}$ ({self.say('kind.' + kind)}{shape})")]
        parts = [render(blocks)]
        parts.append(_division("sbp-forward", self.say("forward"), self.forward_rows(name)))
        parts.append(_division("sbp-gradient", self.say("gradient"), self.gradient_rows(name, numbers)))
        if self.worked is None:
            parts.append(render([Paragraph(self.say("symbols"))]))
        steps = self.derivation.steps_into(name)
        if not steps:
            parts.append(render([Paragraph(self.say("unreached"))]))
        else:  # the page's script puts the steps' own panels after this
            parts.append(render([Paragraph(f"**{self.say('produced.many' if len(steps) > 1 else 'produced')}:**")]))
        return "\n".join(parts)

    def forward_rows(self, name: str) -> list[str]:
        w, quantity = self.w, self.derivation.network[name]
        lhs = w.lhs(quantity)
        rows = []
        if quantity.definition is not None:
            rows.append(f"{lhs} &= {w.expr(quantity.definition)}")
        if self.example is not None:
            # a batch's loss is defined per sample (L_i) and its value is the mean L
            again = w.name(name) if quantity.kind == LOSS and self.derivation.batch else ("" if rows else lhs)
            rows.append(f"{again} &= {self.example.samples(name)}")
        elif not rows:
            rows.append(f"{lhs}{w.shape(quantity.shape)}")
        return rows

    def gradient_rows(self, name: str, numbers: bool = True) -> list[str]:
        w = self.w
        adjoint = w.adjoint(name)
        if name == self.derivation.loss:
            return [f"{adjoint} &= 1"] if not self.derivation.batch else [w.seed_text().replace(" = ", " &= ", 1)]
        step = self.derivation.step_for(name)
        if step is None:
            return [f"{adjoint} &= 0"]
        rows = [f"{adjoint} &= {w.expr(step.result)}"]
        if self.example is not None and numbers:
            rows.append(f"&= {self.example.samples(name, gradient=True)}")
        return rows

    # -- the panel of a step --------------------------------------------------------------------

    def step_html(self, step: Step, numbers: bool = True) -> str:
        w, total = self.w, len(self.derivation.steps)
        heading = Heading(4, self.say("step.heading", k=step.index + 1, n=total))
        blocks: list[Block] = [heading]
        if step.kind == SEED:
            blocks += [Paragraph(self.say("seed")), Display((w.seed_text(),)),
                       Paragraph(f"{w.say('rule')} — {rule_sentences(step.rules, self.lang)}.")]
        else:
            blocks += [b for b in w.run_blocks(S.role(step, self.derivation), [step]) if not isinstance(b, Marker)]
        if self.example is not None and step.kind != SEED and numbers:
            rows = self.example.batch_rows(step) if self.worked.batched else self.example.step_rows(step)
            if rows:
                blocks.append(Display(tuple(rows)))
        return f'<div class="sbp-step-rows" data-step="{step.index}">{render(blocks)}</div>'


def _division(kind: str, label: str, rows: list[str]) -> str:
    return f'<div class="{kind}">{render([Paragraph(f"**{label}**"), Display(tuple(rows))])}</div>'


__all__ = ["WORDS", "interactive_data", "interactive_section", "with_graph"]
