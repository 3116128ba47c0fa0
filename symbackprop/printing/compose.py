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
from ..network import INPUT, LOSS, NODE, PARAM, Quantity
from ..ops import activation_op_of
from ..ops.activations import ReLU
from . import structure as S
from .blocks import Block, Bullets, Display, Heading, Marker, Paragraph, Separator
from .code import activation_latex, code_section
from .example import Example
from .names import Notation, partial, shape_latex
from .numbers import WorkedValues
from .options import Options
from .prose import ordinal, rule_sentences, say
from .scalars import ScalarPrinter
from .sections.efficiency import efficiency_section
from .sections.flow import flow_section
from .sections.memory import memory_section
from .tensors import TensorPrinter, activation_name

#: How many paths of one parameter the chain-rule section writes out before summarising.
PATH_LIMIT = 4
#: Factors of a chain, and terms of a sum, per displayed row.
FACTORS_PER_ROW = 6
TERMS_PER_ROW = 3



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

    # -- small pieces of math ----------------------------------------------------------------

    def say(self, key: str, **fields: Any) -> str:
        return say(self.lang, key, **fields)

    def expr(self, value: Any) -> str:
        if isinstance(value, T.Tensor):
            return self.tensors.doprint(value)
        return ScalarPrinter(self.notation).doprint(sp.sympify(value))

    def name(self, name: str) -> str:
        return self.notation.name(name)

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
        blocks: list[Block] = [
            Heading(1, self.options.title if self.options.title is not None else self.say("title")),
            Paragraph(self.say("intro", loss=self.notation.loss)),
            Separator(),
        ]
        blocks += self.network_section()
        blocks += self.forward_section()
        blocks += self.backward_section()
        if values is not None:
            worked = WorkedValues(self.derivation, values, digits=self.options.digits,
                                  learning_rate=self.options.learning_rate)
            blocks += [Separator(), *Example(self, worked).section()]
        blocks += [Separator(), *self.chain_section()]
        sections, reports = self.options.sections, self.reports
        later = [
            efficiency_section(self, reports.cost) if "efficiency" in sections and reports.cost is not None else [],
            flow_section(self, reports.flow, self.figure) if "flow" in sections and reports.flow is not None else [],
            memory_section(self, reports.memory, reports.batch_memory)
            if "memory" in sections and reports.memory is not None else [],
        ]
        for section in later:
            if section:  # a section with nothing to show (no layers to compare) is left out
                blocks += [Separator(), *section]
        blocks += [Separator(), *self.conventions_section()]
        if self.options.code:
            blocks += [Separator(), *code_section(self)]
        return blocks

    # -- 1. the network ---------------------------------------------------------------------------

    def defined(self) -> list[Quantity]:
        """Quantities with a forward definition, element by element at the scalar level."""
        return [q for q in self.network.quantities(elements=True) if q.definition is not None]

    def describe(self, quantity: Quantity) -> str | None:
        if quantity.kind == LOSS:
            return "describe.loss"
        definition = quantity.definition
        if isinstance(definition, T.Tensor):
            if isinstance(definition, T.Elementwise):
                return "describe.activation"
            return "describe.linear" if _is_affine(definition) else None
        if activation_op_of(definition) is not None and definition.args[0].is_Symbol:
            return "describe.activation"
        if definition.is_Add and all(_is_monomial(term) for term in definition.args):
            return "describe.linear"
        return None

    def network_section(self) -> list[Block]:
        blocks: list[Block] = [Heading(2, self.say("network.heading")), Paragraph(self.say("network.intro"))]
        diagram = self.diagram()
        if diagram:
            blocks.append(Display((diagram,)))
        items = []
        for quantity in self.defined():
            item = f"${self.lhs(quantity)} = {self.expr(quantity.definition)}$"
            description = self.describe(quantity)
            items.append(f"{item} ({self.say(description)})" if description else item)
        blocks += [Paragraph(self.say("network.where")), Bullets(tuple(items))]
        if self.derivation.batch:
            loss, sample = self.notation.loss, self.notation.sample_loss
            blocks += [Paragraph(self.say("network.batch")),
                       Display((rf"{loss} = \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} {sample}",))]
        shapes = [f"${self.name(q.name)} \\in {shape_latex(q.shape)}$"
                  for q in self.network.quantities() if q.kind != LOSS]
        blocks.append(Paragraph(f"{self.say('network.shapes')} {', '.join(shapes)}"))
        functions = self.python_functions()
        if functions:
            blocks += [Paragraph(self.say("network.functions")), Display(tuple(functions))]
        return blocks

    def diagram(self) -> str | None:
        r"""x →[W1, b1] z1 →[ReLU] h1 → … → L, when the nodes form one chain (else None)."""
        nodes = self.network.quantities(NODE, LOSS)
        text = ""
        previous: str | None = None
        for quantity in nodes:
            dependencies = self.whole_dependencies(quantity)
            from_nodes = [d for d in dependencies if self.network[d].kind == NODE]
            if from_nodes != ([previous] if previous else []):
                return None
            if previous is None:
                inputs = [d for d in dependencies if self.network[d].kind == INPUT]
                if len(inputs) != 1:
                    return None
                text = self.name(inputs[0])
            parameters = [self.name(d) for d in dependencies if self.network[d].kind == PARAM]
            label = ", ".join(parameters) if parameters else self.activation_label(quantity)
            if quantity.kind == LOSS or not label:
                text += rf" \rightarrow {self.name(quantity.name)}"
            else:
                text += rf" \xrightarrow{{{label}}} {self.name(quantity.name)}"
            previous = quantity.name
        return text or None

    def whole_dependencies(self, quantity: Quantity) -> list[str]:
        """What a quantity is computed from, element quantities read as their whole quantity."""
        parts = [quantity] if quantity.elements is None else [
            self.network[e] for row in quantity.elements for e in row]
        found: dict[str, None] = {}
        for part in parts:
            for dependency in part.dependencies:
                found.setdefault(self.network[dependency].group or dependency)
        return list(found)

    def activation_label(self, quantity: Quantity) -> str | None:
        definition = quantity.definition
        if quantity.elements is not None:
            definition = self.network[quantity.elements[0][0]].definition
        if isinstance(definition, T.Elementwise):
            return activation_name(definition.function)
        op = activation_op_of(definition) if isinstance(definition, sp.Basic) else None
        if op is not None:
            return op.latex
        return None

    def python_functions(self) -> list[str]:
        """User activations written as Python functions: latexify's rendering, else SymPy's."""
        seen: dict[int, Any] = {}
        for quantity in self.network.quantities():
            if isinstance(quantity.definition, T.Tensor):
                for node in T.walk(quantity.definition):
                    if isinstance(node, T.Elementwise) and node.function.source is not None:
                        seen.setdefault(id(node.function), node.function)
        return [activation_latex(function, self.notation) for function in seen.values()]

    # -- 2. forward pass ----------------------------------------------------------------------------

    def forward_section(self) -> list[Block]:
        rows = []
        for quantity in self.defined():
            lhs = self.lhs(quantity)
            shape = self.shape(quantity.shape)
            # shapes in a second aligned column, at their ∈
            rows.append(f"{lhs} &= {self.expr(quantity.definition)}" + (rf" &\qquad {lhs} &{shape}" if shape else ""))
        if self.derivation.batch:
            loss, sample = self.notation.loss, self.notation.sample_loss
            rows.append(rf"{loss} &= \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} {sample}")
        return [Heading(3, self.say("forward.heading")), Paragraph(self.say("forward.intro")),
                Display(tuple(rows), columns=2 if self.scalar_shapes else 1)]

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
        for layer in step_groups(self.derivation):
            blocks.append(Paragraph(f"**{self.layer_heading(layer)}**"))
            for role, steps in S.runs(layer.steps, self.derivation):
                blocks += self.run_blocks(role, steps)
        if self.derivation.unreached:
            names = ", ".join(f"${self.name(name)}$" for name in self.derivation.unreached)
            blocks.append(Paragraph(self.say("backward.unreached", names=names)))
        return blocks

    def run_blocks(self, role: str, steps: list[Step]) -> list[Block]:
        blocks: list[Block] = [step_marker(step) for step in steps]
        blocks.append(Paragraph(f"{self.say('role.' + role)}:"))
        rows: list[str] = []
        for step in steps:
            rows += self.step_rows(step)
        blocks.append(Display(tuple(rows)))
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
            return self.local(step.source, step.target)
        return f"{self.adjoint(step.source)} {self.operator(step)} {self.local(step.source, step.target)}"

    def parts(self, step: Step) -> list[Step]:
        """The edges a fan-out adds up, in the order their sources were defined (z1 before z2)."""
        order = {q.name: i for i, q in enumerate(self.network.quantities(elements=True))}
        parts = [self.derivation.steps[i] for i in step.parts]
        return sorted(parts, key=lambda part: order.get(part.source, -1))

    def step_rows(self, step: Step) -> list[str]:
        target = step.target
        result = f"{self.expr(step.result)}{self.shape(step.shape)}"
        if step.kind == SUM:
            parts = [self.contribution(part) for part in self.parts(step)]
            return [*_broken_sum(self.adjoint(target), parts), f"&= {result}"]
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
        value = self.expr(step.local)
        if step.product == "hadamard":
            return f"${local} = {value}$ ({self.say('local.elementwise')})"
        if step.product in ("right", "left"):
            return self.say("local." + step.product, local=f"${local}$", factor=f"${value}$")
        if step.product == "scale":
            return f"${local} = {value}$"
        return None

    # -- 5. the chain for each parameter ---------------------------------------------------------------

    def chain_factors(self, path: list[str]) -> list[str]:
        first = partial(self.notation.loss, self.name(path[1]))
        return [first, *(self.local(a, b) for a, b in zip(path[1:], path[2:]))]

    def chain_section(self) -> list[Block]:
        rows: list[str] = []
        crowded: list[str] = []
        longest: list[str] = []
        for name in S.reached_parameters(self.derivation):
            found, total = S.paths(self.derivation, name, PATH_LIMIT)
            if total > PATH_LIMIT:
                sources = dict.fromkeys(path[-2] for path in found)
                sources.update(dict.fromkeys(s.source for s in self.derivation.steps_into(name) if s.source))
                terms = [f"{self.adjoint(s)} \\cdot {self.local(s, name)}" for s in sources]
                rows += _broken_sum(self.adjoint(name), terms)
                crowded.append(f"${self.adjoint(name)}$: {self.say('chain.paths', n=total)}")
                continue
            products = [_broken_product(self.chain_factors(path)) for path in found]
            rows += _broken_sum(self.adjoint(name), [p[0] for p in products], continued=[p[1:] for p in products])
            for path in found:
                if len(path) > len(longest):
                    longest = path
        blocks: list[Block] = [Heading(2, self.say("chain.heading")), Paragraph(self.say("chain.intro"))]
        if rows:
            blocks.append(Display(tuple(rows)))
        if crowded:
            blocks.append(Bullets(tuple(crowded)))
        if len(longest) > 2:
            items = [self.say("chain.first", adjoint=self.adjoint(longest[1]))]
            for previous, current in zip(longest[1:], longest[2:]):
                product = f"{self.adjoint(previous)} \\cdot {self.local(previous, current)}"
                items.append(self.say("chain.step", product=product, adjoint=self.adjoint(current)))
            blocks += [Paragraph(self.say("chain.order", name=self.adjoint(longest[-1]))),
                       Bullets(tuple(items), numbered=True), Paragraph(self.say("chain.outro"))]
        return blocks

    # -- 6. conventions -------------------------------------------------------------------------------------

    def conventions_section(self) -> list[Block]:
        blocks: list[Block] = [Heading(2, self.say("conventions.heading"))]
        parameters = [q for q in self.network.params]
        if parameters:
            widest = max(parameters, key=lambda q: q.size)
            blocks.append(Paragraph(self.say("conventions.layout", adjoint=self.adjoint(widest.name),
                                             shape=shape_latex(widest.shape), name=self.name(widest.name))))
        blocks.append(Paragraph(self.say("conventions.notation")))
        ties = self.relu_ties()
        if ties == [0]:
            blocks.append(Paragraph(self.say("conventions.relu")))
        elif ties:
            values = ", ".join(self.expr(t) for t in ties)
            blocks.append(Paragraph(self.say("conventions.relu_other", value=values)))
        return blocks

    def relu_ties(self) -> list[sp.Expr]:
        """ReLU′(0) of every ReLU in the network (0 unless a user chose otherwise)."""
        probe = sp.Symbol("probe", real=True)
        found: dict[sp.Expr, None] = {}
        for quantity in self.network.quantities(elements=True):
            definition = quantity.definition
            if isinstance(definition, T.Tensor):
                for node in T.walk(definition):
                    if isinstance(node, T.Elementwise):
                        applied = sp.sympify(node.function.formula(probe))
                        for relu in applied.atoms(ReLU):
                            found.setdefault(relu.grad_at_zero)
            elif isinstance(definition, sp.Basic):
                for relu in definition.atoms(ReLU):
                    found.setdefault(relu.grad_at_zero)
        return list(found)


def _is_affine(tree: T.Tensor) -> bool:
    """W x + b: sums of named values and products of two named values, with at least one product."""
    terms, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, T.Add):
            stack += [node.left, node.right]
        else:
            terms.append(node)

    def named(node: T.Tensor) -> bool:
        if isinstance(node, T.Transpose):
            node = node.operand
        return isinstance(node, T.Ref) or isinstance(node, T.Scalar) and node.expr.is_Symbol

    products = [t for t in terms if isinstance(t, T.MatMul) and named(t.left) and named(t.right)]
    return bool(products) and all(named(t) or t in products for t in terms)


def _is_monomial(term: sp.Expr) -> bool:
    """w·x or b: a term of a linear transformation."""
    factors = sp.Mul.make_args(term)
    return all(f.is_Symbol or f.is_Number for f in factors)


def _broken_product(factors: list[str]) -> list[str]:
    """A long chain of factors split into balanced rows of at most FACTORS_PER_ROW."""
    count = -(-len(factors) // FACTORS_PER_ROW)
    size = -(-len(factors) // count) if factors else 1
    chunks = [factors[i:i + size] for i in range(0, len(factors), size)]
    return [r" \cdot ".join(chunk) for chunk in chunks]


def _broken_sum(lhs: str, terms: list[str], continued: list[list[str]] | None = None) -> list[str]:
    """``lhs &= t1 + t2 + …`` on rows of TERMS_PER_ROW terms; a term may carry continuation rows."""
    continued = continued or [[] for _ in terms]
    rows: list[str] = []
    line: list[str] = []
    for term, more in zip(terms, continued):
        line.append(term)
        if more or len(line) == TERMS_PER_ROW:
            rows.append(" + ".join(line))
            rows += [r"\cdot " + m for m in more]
            line = []
    if line:
        rows.append(" + ".join(line))
    result = []
    for i, row in enumerate(rows):
        if i == 0:
            result.append(f"{lhs} &= {row}")
        elif row.startswith(r"\cdot"):
            result.append(rf"&\quad {row}")
        else:
            result.append(rf"&\quad + {row}")
    return result
