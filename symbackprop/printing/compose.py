"""The document, section by section, in the reference page's order.

1. the network and its forward equations, with shapes (수학적 표현);
2. Forward Pass: every intermediate computed and stored;
3. Backward Pass: step by step from the output layer, each step with its
   Leibniz chain, local derivative, result, shape and rule;
4. the worked example with numbers and the gradient-descent update (구체적 예시,
   in :mod:`symbackprop.printing.example`);
5. the chain for each parameter written out in full (Chain Rule의 적용);
6. optionally (``sections``) the page's efficiency, gradient flow and memory
   sections, each printing a report it is given (:class:`~symbackprop.analysis.reports.Reports`,
   in :mod:`symbackprop.printing.sections`);
7. the conventions (layout, ReLU′(0)); optionally the generated code.

Only the recorded steps and the given reports are read: nothing here
differentiates or counts, and every number comes from ``Derivation.evaluate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy as sp

from .. import tensor as T
from ..analysis.layers import OUTPUT_GROUP, StepGroup, step_groups
from ..analysis.reports import Reports
from ..derivation import SUM, Derivation, Step
from ..network import LOSS, PARAM, Quantity
from ..stages import announce
from . import structure as S
from .abridge import GAP_ROW, Omitted, WrittenOnRead, abridged, omitted_count
from .blocks import Block, Display, Heading, Marker, Paragraph, Separator
from .code import code_section
from .example import Example
from .names import Notation, held_fixed, partial, shape_latex
from .naming import GeneratedNames
from .numbers import WorkedValues
from .options import Options
from .prose import ordinal, rule_sentences, say
from .scalars import ScalarPrinter
from .sections.chain import broken_sum, chain_section
from .sections.conventions import conventions_section
from .sections.efficiency import efficiency_section
from .sections.flow import flow_section
from .sections.memory import memory_section
from .sections.network import network_section
from .tensors import TensorPrinter


def step_marker(step: Step) -> Marker:
    """One per recorded step, so a reader (or a test) can match the document to the derivation."""
    return Marker(f"step {step.index} {step.kind}")


@dataclass
class Writer:
    """Shared state of one document: the derivation, its notation and the options.

    ``figure`` is where a written document's plot of the gradient norms goes (None: no plot);
    ``reports`` are what the later sections print (a section without its report is left out).
    """

    derivation: Derivation
    options: Options
    figure: Path | None = None
    reports: Reports = field(default_factory=Reports)

    def __post_init__(self) -> None:
        self.network = self.derivation.network
        self.lang = self.options.lang
        self.notation = Notation(self.network, batch=self.derivation.batch)
        self.tensors = TensorPrinter(self.notation)
        # A scalar-level network is all scalars: "∈ ℝ" on every row would only be noise.
        self.scalar_shapes = any(q.shape is not None and q.elements is None for q in self.network.quantities())
        self.defined_at = {q.name: i for i, q in enumerate(self.network.quantities(elements=True))}
        self._worked: tuple[Mapping[str, Any], WorkedValues] | None = None
        self.step_layers = step_groups(self.derivation)
        self.naming = GeneratedNames(self.derivation, self.notation, self.shown_steps())

    def worked(self, values: Mapping[str, Any]) -> WorkedValues:
        """The numbers of ``values``, worked out once however many sections of the document show them."""
        if self._worked is None or self._worked[0] is not values:
            self._worked = values, WorkedValues(self.derivation, values, digits=self.options.digits,
                                                decimals=self.options.decimals,
                                                learning_rate=self.options.learning_rate,
                                                numbers=self.reports.worked)
        return self._worked[1]

    # -- small pieces of math ----------------------------------------------------------------

    def say(self, key: str, **fields: Any) -> str:
        return say(self.lang, key, **fields)

    def expr(self, value: Any) -> str:
        if isinstance(value, T.Tensor):
            return self.tensors.doprint(value)
        return ScalarPrinter(self.notation).doprint(sp.sympify(value))

    def named(self, value: Any) -> str:
        """``value`` as the passes print it: a long expression they repeat by its generated name."""
        return self.naming.printer.doprint(value) if isinstance(value, T.Tensor) else self.expr(value)

    def introductions(self, forms: list[Any]) -> list[str]:
        """``u_{k} = …`` for each generated name ``forms`` use that has not been said yet."""
        return [f"{name} &= {self.naming.definition(name)}" for name in self.naming.unsaid(forms)]

    def name(self, name: str) -> str:
        return self.notation.name(name)

    def shown_steps(self) -> list[Step] | None:
        """The steps of the layers an abridged backward pass writes (None: it writes them all)."""
        shown = self.abridged(self.step_layers)
        if len(shown) == len(self.step_layers):
            return None
        written = {id(step) for layer in shown if not isinstance(layer, Omitted) for step in layer.steps}
        return [step for step in self.derivation.steps if id(step) in written]

    def abridged(self, items: list[Any]) -> list[Any]:
        """``items``, or their first and last halves around an :class:`Omitted` when a pass is too long."""
        return abridged(items, self.options.abridge)

    def gap_note(self, items: list[Any], unit: str = "rows") -> list[Block]:
        """What an abridged pass left out, said once below it (nothing when it left nothing out)."""
        count = omitted_count(items)
        return [Paragraph(self.say(f"abridged.{unit}", n=count))] if count else []

    def adjoint(self, name: str) -> str:
        return self.notation.adjoint(name)

    def local(self, numerator: str, denominator: str) -> str:
        return self.notation.local(numerator, denominator)

    def shape(self, shape: tuple[int, int] | None) -> str:
        if shape is None and not self.scalar_shapes:
            return ""
        return rf" \in {shape_latex(shape)}"

    def lhs(self, quantity: Quantity) -> str:
        """The left-hand side of a forward equation (L_i for a batch's per-sample loss)."""
        if quantity.kind == LOSS and self.derivation.batch:
            return self.notation.sample_loss
        return self.name(quantity.name)

    # -- the document ---------------------------------------------------------------------------

    def compose(self, values: Mapping[str, Any] | None) -> list[Block]:
        if self.options.page == "full":
            from .page import full_page  # the whole reference page, around the sections below

            return full_page(self, values)
        blocks: list[Block] = [
            Heading(1, self.options.title if self.options.title is not None else self.say("title")),
            Paragraph(self.say("intro", loss=self.notation.loss)),
            Separator(),
        ]
        announce("network")
        blocks += network_section(self)
        announce("forward pass")
        blocks += self.forward_section()
        announce("backward pass")
        blocks += self.backward_section()
        if values is not None:
            announce("worked example")
            blocks += [Separator(), *Example(self, self.worked(values)).section()]
        announce("chain rule")
        blocks += [Separator(), *chain_section(self)]
        sections, reports = self.options.sections, self.reports
        later = [
            ("efficiency", reports.cost, lambda: efficiency_section(self, reports.cost)),
            ("flow", reports.flow, lambda: flow_section(self, reports.flow, self.figure)),
            ("memory", reports.memory, lambda: memory_section(self, reports.memory, reports.batch_memory)),
        ]
        for name, report, write in later:
            if name not in sections or report is None:
                continue
            announce(name)
            section = write()
            if section:  # a section with nothing to show (no layers to compare) is left out
                blocks += [Separator(), *section]
        announce("conventions")
        blocks += [Separator(), *conventions_section(self)]
        if self.options.code:
            announce("code")
            blocks += [Separator(), *code_section(self)]
        return blocks

    # -- 1. the network ---------------------------------------------------------------------------

    def defined(self) -> list[Quantity]:
        """Quantities with a forward definition, element by element at the scalar level."""
        return [q for q in self.network.quantities(elements=True) if q.definition is not None]

    # -- 2. forward pass ----------------------------------------------------------------------------

    def forward_section(self) -> list[Block]:
        rows = []
        shown = self.abridged(self.defined())
        for quantity in shown:
            if isinstance(quantity, Omitted):
                rows.append(GAP_ROW)
                continue
            lhs = self.lhs(quantity)
            shape = self.shape(quantity.shape)
            rows += self.introductions([quantity.definition])
            # shapes in a second aligned column, at their ∈
            rows.append(f"{lhs} &= {self.named(quantity.definition)}" + (rf" &\qquad {lhs} &{shape}" if shape else ""))
        if self.derivation.batch:
            loss, sample = self.notation.loss, self.notation.sample_loss
            rows.append(rf"{loss} &= \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} {sample}")
        return [Heading(3, self.say("forward.heading")), Paragraph(self.say("forward.intro")),
                Display(tuple(rows), columns=2 if self.scalar_shapes else 1), *self.gap_note(shown)]

    # -- 3. backward pass ----------------------------------------------------------------------------

    def seed_text(self) -> str:
        if self.derivation.batch:
            return rf"{partial(self.notation.loss, self.notation.sample_loss)} = {self.expr(self.derivation.seed)}"
        return rf"{partial(self.notation.loss, self.notation.loss)} = 1"

    def layer_heading(self, layer: StepGroup) -> str:
        if layer.kind == OUTPUT_GROUP:
            return self.say("layer.output")
        key = "layer.first" if layer.first else "layer.propagate"
        return self.say(key, n=layer.number, ordinal=ordinal(layer.number, self.lang))

    def backward_section(self) -> list[Block]:
        seed = self.derivation.steps[0]
        intro = f"{self.say('backward.intro', seed=self.seed_text())} {self.say('rule')} — " \
                f"{rule_sentences(seed.rules, self.lang)}."
        blocks: list[Block] = [Heading(3, self.say("backward.heading")), step_marker(seed), Paragraph(intro)]
        if self.derivation.batch:
            blocks.append(Paragraph(self.say("backward.batch")))
        shown = self.abridged(self.step_layers)
        for layer in shown:
            if isinstance(layer, Omitted):
                blocks += self.gap_note([layer], "layers")
                continue
            blocks.append(Paragraph(f"**{self.layer_heading(layer)}**"))
            for role, steps in S.runs(layer.steps, self.derivation):
                blocks += self.run_blocks(role, steps)
        if self.derivation.unreached:
            names = ", ".join(f"${self.name(name)}$" for name in self.derivation.unreached)
            blocks.append(Paragraph(self.say("backward.unreached", names=names)))
        return blocks

    def run_blocks(self, role: str, steps: list[Step]) -> list[Block]:
        shown = self.abridged(steps)
        steps = [step for step in shown if not isinstance(step, Omitted)]
        blocks: list[Block] = [step_marker(step) for step in steps]
        blocks.append(Paragraph(f"{self.say('role.' + role)}:"))
        rows: list[str] = []
        for step in shown:
            rows += [GAP_ROW] if isinstance(step, Omitted) else self.step_rows(step)
        blocks += [Display(tuple(rows)), *self.gap_note(shown)]
        clauses = [c for c in (self.local_clause(step) for step in steps) if c]
        text = ""
        if clauses:
            label = self.say("local.plural" if len(clauses) > 1 else "local")
            text = f"{label}: {', '.join(clauses)}. "
        rules = [key for step in steps for key in step.rules]
        text += f"{self.say('rule')} — {rule_sentences(rules, self.lang)}."
        blocks.append(Paragraph(text))
        return blocks

    def operator(self, step: Step) -> str:
        return r"\odot" if step.product == "hadamard" else r"\cdot"

    def contribution(self, step: Step) -> str:
        """∂L/∂s · ∂s/∂t: what one edge contributes to the gradient of its target."""
        if step.source == self.derivation.loss:
            return self.loss_term(step.target)
        return f"{self.adjoint(step.source)} {self.operator(step)} {self.local(step.source, step.target)}"

    def parts(self, step: Step) -> list[Step]:
        """The edges a fan-out adds up, in the order their sources were defined (z1 before z2)."""
        parts = [self.derivation.steps[i] for i in step.parts]
        return sorted(parts, key=lambda part: self.defined_at.get(part.source, -1))

    def loss_term(self, target: str) -> str:
        """∂L/∂c of the loss's own formula: ∂L/∂c|_s where c also reaches the loss through s."""
        local = self.local(self.derivation.loss, target)
        others = [part.source for part in self.parts_into(target) if part.source != self.derivation.loss]
        return held_fixed(local, [self.name(name) for name in others]) if others else local

    def parts_into(self, target: str) -> list[Step]:
        """The edges a fan-out into ``target`` adds up; none when one edge is the whole gradient."""
        total = self.derivation.step_for(target)
        return self.parts(total) if total is not None and total.kind == SUM else []

    def step_rows(self, step: Step) -> list[str]:
        return [*self.introductions([step.result, step.local]), *self._step_rows(step)]

    def _step_rows(self, step: Step) -> list[str]:
        target = step.target
        result = f"{self.named(step.result)}{self.shape(step.shape)}"
        if step.kind == SUM:
            parts = WrittenOnRead(self.parts(step), self.contribution)
            return [*broken_sum(self.adjoint(target), parts), f"&= {result}"]
        if not step.complete:
            return [f"{self.contribution(step)} &= {result}"]
        if step.source == self.derivation.loss:
            rows = [f"{self.adjoint(target)} &= {result}"]
            if self.derivation.batch:
                seed = partial(self.notation.loss, self.notation.sample_loss)
                rows = [f"{self.adjoint(target)} &= {seed} \\cdot {self.local(step.source, target)}", f"&= {result}"]
        else:
            rows = [f"{self.adjoint(target)} &= {self.contribution(step)}", f"&= {result}"]
        if self.derivation.batch and self.network[target].kind == PARAM:
            sample = partial(self.notation.sample_loss, self.name(target))
            rows.append(rf"{self.adjoint(target)} &= \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} {sample}")
        return rows

    def local_clause(self, step: Step) -> str | None:
        """The local derivative ∂source/∂target in words and math, where the step has one factor."""
        if step.kind == SUM or step.local is None and step.product != "identity":
            return None
        if step.source == self.derivation.loss and not self.derivation.batch:
            return None  # the result is the local derivative itself
        local = self.local(step.source, step.target)
        if step.product == "identity":
            one = "1" if step.shape is None else "I"
            return f"${local} = {one}$"
        value = self.named(step.local)
        if step.product == "hadamard":
            return f"${local} = {value}$ ({self.say('local.elementwise')})"
        if step.product in ("right", "left"):
            return self.say("local." + step.product, local=f"${local}$", factor=f"${value}$")
        if step.product == "scale":
            return f"${local} = {value}$"
        return None

