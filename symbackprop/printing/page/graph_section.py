"""계산 그래프: this network's forward graph as math, and the rule of each kind of node it has.

The page draws ``x ──×──> [W1] ──+──> [b1] ──ReLU──> h1 …``: each operation on an arrow and
its other input in brackets.  Here every defined quantity is one row of that chain, read
from its definition; the rules below it are the ones the recorded steps applied, in the
order the forward pass meets them, each with the registry's sentence (the loss with the
formula its step derived).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp

from ... import tensor as T
from ...network import LOSS, PARAM
from ...ops import ACTIVATION_OPS, LOSS_OPS, activation_op_of
from ...registry import interpretation_of
from ...rules import RULES
from ..blocks import Block, Bullets, Display, Heading, Paragraph

if TYPE_CHECKING:
    from . import Page

LOSS_RULE, LOSS_TARGET_RULE = "loss:", "loss_target:"
#: Rules that are no operation of the graph: the seed ∂L/∂L, the batch mean, a loss's target side.
NOT_NODES = ("seed", "batch_mean")

_BINARY = {T.MatMul: r"\times", T.Add: "+"}
#: Characters of the graph's operation labels (graph.py's DOT labels) as LaTeX.
_LABEL_LATEX = {"½": r"\tfrac{1}{2}", "‖": r"\Vert ", "·": r"\cdot ", "²": "^{2}", "σ": r"\sigma ", "√": r"\surd ",
                "|": "|", "\n": r"\ ", " ": r"\ ", "×": r"\times ", "⊙": r"\odot ", "Σ": r"\Sigma "}


def label_latex(label: str) -> str:
    """A graph label (``MSE``, ``½‖·‖²``) in math: letters upright, symbols as LaTeX."""
    out, word = [], ""
    for character in label + "\0":
        if character.isascii() and character.isalnum():
            word += character
            continue
        if word:
            out.append(rf"\mathrm{{{word}}}")
            word = ""
        if character != "\0":
            out.append(_LABEL_LATEX.get(character, r"\ast "))
    return "".join(out).strip()


@dataclass
class _Chain:
    """One row: the value it starts from, then (operation, other input or None) per arrow."""

    head: str
    arrows: list[tuple[str, str | None]]


class GraphRows:
    def __init__(self, page: Page) -> None:
        self.w = page.w
        self.network = self.w.network
        self.loss_names = self._loss_steps()

    def _loss_steps(self) -> dict[str, str]:
        """The loss record's name for a scalar loss written out (its step says which loss it is)."""
        found = {}
        for step in self.w.derivation.steps:
            for rule in step.rules:
                if rule.startswith(LOSS_RULE):
                    found["prediction"] = step.target
                    found["kind"] = rule[len(LOSS_RULE):]
                elif rule.startswith(LOSS_TARGET_RULE):
                    found["target"] = step.target
        return found

    def rows(self) -> list[str]:
        rows = []
        for quantity in self.w.defined():
            chain = self.chain(quantity.definition, quantity.kind == LOSS)
            text = chain.head + " &"
            for operation, other in chain.arrows:
                text += rf" \xrightarrow{{{operation}}}" + (f" [{other}]" if other is not None else "")
            last_binary = chain.arrows and chain.arrows[-1][1] is not None
            text += (r" \longrightarrow " if last_binary or not chain.arrows else " ") + self.w.lhs(quantity)
            rows.append(text)
        return rows

    # -- reading a definition ------------------------------------------------------------------

    def leaf(self, node: Any) -> str | None:
        return self.network.leaf_name(node)

    def side(self, node: Any) -> str:
        name = self.leaf(node)
        return self.w.name(name) if name is not None else self.w.expr(node)

    def main_first(self, operands: list[Any]) -> list[Any]:
        """The operand the chain continues along first: a computed value, not a parameter."""
        def is_parameter(node: Any) -> bool:
            name = self.leaf(node)
            return name is not None and self.network[name].kind == PARAM

        main = next((o for o in operands if not is_parameter(o)), operands[0])
        return [main, *(o for o in operands if o is not main)]

    def chain(self, node: Any, is_loss: bool = False) -> _Chain:
        name = self.leaf(node)
        if name is not None:
            return _Chain(self.w.name(name), [])
        if isinstance(node, T.Tensor):
            return self.tensor_chain(node)
        return self.scalar_chain(sp.sympify(node), is_loss)

    def along(self, operation: str, operands: list[Any]) -> _Chain:
        main, *others = self.main_first(operands)
        chain = self.chain(main)
        if not others:
            chain.arrows.append((operation, None))
        for other in others:
            chain.arrows.append((operation, self.side(other)))
        return chain

    def tensor_chain(self, node: T.Tensor) -> _Chain:
        declared = interpretation_of("page_graph", type(node))
        if declared is not None:
            return declared(self, node)
        for kind, operation in _BINARY.items():
            if isinstance(node, kind):
                return self.along(operation, [node.left, node.right])
        if isinstance(node, T.LossNode):
            return self.along(label_latex(LOSS_OPS[node.kind].dot), [node.prediction, node.target])
        if isinstance(node, T.Elementwise):
            op = ACTIVATION_OPS.get(node.function.name)
            label = op.latex if op is not None else rf"\operatorname{{{node.function.name}}}"
            return self.along(label, [node.operand])
        if isinstance(node, T.Transpose):
            return self.along(r"(\cdot)^{\top}", [node.operand])
        if isinstance(node, T.Scale):
            return self.along(rf"\times {self.w.expr(node.factor)}", [node.operand])
        children = list(node.children)
        label = rf"\operatorname{{{type(node).__name__}}}"
        return self.along(label, children) if children else _Chain(self.w.expr(node), [])

    def scalar_chain(self, expr: sp.Expr, is_loss: bool) -> _Chain:
        if is_loss and "kind" in self.loss_names and "target" in self.loss_names:
            prediction = self.network[self.loss_names["prediction"]].symbol
            target = self.network[self.loss_names["target"]].symbol
            if prediction is not None and target is not None and expr.free_symbols == {prediction, target}:
                return self.along(label_latex(LOSS_OPS[self.loss_names["kind"]].dot), [prediction, target])
        op = activation_op_of(expr)
        if op is not None:
            return self.along(op.latex, [expr.args[0]])
        if expr.is_Add:
            return self.along("+", list(expr.args))
        if expr.is_Mul:
            coefficient, rest = expr.as_coeff_Mul()
            if coefficient != 1:
                return self.along(rf"\times {self.w.expr(coefficient)}", [rest])
            return self.along(r"\times", list(expr.args))
        if expr.is_Pow and expr.exp.is_number:
            return self.along(rf"(\cdot)^{{{self.w.expr(expr.exp)}}}", [expr.base])
        if isinstance(expr, sp.Function):
            operands = [a for a in expr.args if not a.is_number] or list(expr.args)
            return self.along(rf"\operatorname{{{type(expr).__name__}}}", operands)
        return _Chain(self.w.expr(expr), [])


def node_rules(page: Page) -> list[str]:
    """One bullet per kind of node the steps went through, in forward order (the steps reversed)."""
    w, lang = page.w, page.w.lang
    keys: dict[str, Any] = {}
    for step in reversed(w.derivation.steps):
        for key in step.rules:
            if key in NOT_NODES or key.startswith(LOSS_TARGET_RULE) or key not in RULES:
                continue
            keys.setdefault(key, step)
    bullets = []
    for key, step in keys.items():
        sentence = RULES[key].explanation[lang]
        if key.startswith(LOSS_RULE) and step.complete:
            formula = f"{w.adjoint(step.target)} = {w.expr(step.result)}"
            label = sentence.split(":", 1)[0] if ":" in sentence else ""
            bullets.append(page.say("graph.loss", label=label, formula=formula))
        elif ":" in sentence:
            label, rest = sentence.split(":", 1)
            bullets.append(f"**{label}**:{rest}")
        else:
            bullets.append(sentence[:1].upper() + sentence[1:])
    return bullets


def graph_section(page: Page) -> list[Block]:
    say = page.say
    blocks: list[Block] = [Heading(2, say("graph.heading")), Paragraph(say("graph.intro")),
                           Paragraph(say("graph.forward")), Display(tuple(GraphRows(page).rows()))]
    rules = node_rules(page)
    if rules:
        blocks += [Paragraph(say("graph.backward")), Bullets(tuple(rules))]
    blocks.append(Paragraph(say("graph.outro")))
    return blocks
