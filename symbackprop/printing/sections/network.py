"""The network section: the chain diagram, every definition with what it does, shapes, the user's functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy as sp

from ... import tensor as T
from ...network import INPUT, LOSS, NODE, PARAM, Quantity
from ...ops import activation_op_of
from ..abridge import Omitted
from ..blocks import Block, Bullets, Display, Heading, Paragraph
from ..code import activation_latex
from ..names import shape_latex
from ..tensors import activation_name

if TYPE_CHECKING:
    from ..compose import Writer


def describe(w: Writer, quantity: Quantity) -> str | None:
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


def network_section(w: Writer) -> list[Block]:
    blocks: list[Block] = [Heading(2, w.say("network.heading")), Paragraph(w.say("network.intro"))]
    chain = diagram(w)
    if chain:
        blocks.append(Display((chain,)))
    items = []
    for quantity in w.abridged(w.defined()):
        if isinstance(quantity, Omitted):
            items.append(w.say("abridged.more", n=quantity.count))
            continue
        item = f"${w.lhs(quantity)} = {w.expr(quantity.definition)}$"
        description = describe(w, quantity)
        items.append(f"{item} ({w.say(description)})" if description else item)
    if chain:  # "where:" explains the diagram's names; without a diagram the intro leads into the list
        blocks.append(Paragraph(w.say("network.where")))
    blocks.append(Bullets(tuple(items)))
    if w.derivation.batch:
        loss, sample = w.notation.loss, w.notation.sample_loss
        blocks += [Paragraph(w.say("network.batch")),
                   Display((rf"{loss} = \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} {sample}",))]
    shaped = w.abridged([q for q in w.network.quantities() if q.kind != LOSS])
    shapes = [w.say("abridged.more", n=q.count) if isinstance(q, Omitted)
              else f"${w.name(q.name)} \\in {shape_latex(q.shape)}$" for q in shaped]
    blocks.append(Paragraph(f"{w.say('network.shapes')} {', '.join(shapes)}"))
    functions = python_functions(w)
    if functions:
        blocks += [Paragraph(w.say("network.functions")), Display(tuple(functions))]
    return blocks


#: Links of the chain diagram written out; a longer chain shows its first and last ones around ⋯.
DIAGRAM_LINKS = 8


def diagram(w: Writer) -> str | None:
    r"""x →[W1, b1] z1 →[ReLU] h1 → … → L, when the nodes form one chain (else None)."""
    nodes = w.network.quantities(NODE, LOSS)
    text = ""
    links: list[str] = []
    previous: str | None = None
    for quantity in nodes:
        dependencies = whole_dependencies(w, quantity)
        from_nodes = [d for d in dependencies if w.network[d].kind == NODE]
        if from_nodes != ([previous] if previous else []):
            return None
        if previous is None:
            inputs = [d for d in dependencies if w.network[d].kind == INPUT]
            if len(inputs) != 1:
                return None
            text = w.name(inputs[0])
        parameters = [w.name(d) for d in dependencies if w.network[d].kind == PARAM]
        label = ", ".join(parameters) if parameters else activation_label(w, quantity)
        if quantity.kind == LOSS or not label:
            links.append(rf" \rightarrow {w.name(quantity.name)}")
        else:
            links.append(rf" \xrightarrow{{{label}}} {w.name(quantity.name)}")
        previous = quantity.name
    if len(links) > DIAGRAM_LINKS:  # a deep chain by its first and last links, as a long sum is written
        links = [*links[:DIAGRAM_LINKS - 3], r" \rightarrow \cdots", *links[-2:]]
    return text + "".join(links) if text else None


def whole_dependencies(w: Writer, quantity: Quantity) -> list[str]:
    """What a quantity is computed from, element quantities read as their whole quantity."""
    parts = [quantity] if quantity.elements is None else [
        w.network[e] for row in quantity.elements for e in row]
    found: dict[str, None] = {}
    for part in parts:
        for dependency in part.dependencies:
            found.setdefault(w.network[dependency].group or dependency)
    return list(found)


def activation_label(w: Writer, quantity: Quantity) -> str | None:
    definition = quantity.definition
    if quantity.elements is not None:
        definition = w.network[quantity.elements[0][0]].definition
    if isinstance(definition, T.Elementwise):
        return activation_name(definition.function)
    op = activation_op_of(definition) if isinstance(definition, sp.Basic) else None
    if op is not None:
        return op.latex
    return None


def python_functions(w: Writer) -> list[str]:
    """User activations written as Python functions: latexify's rendering, else SymPy's."""
    seen: dict[int, Any] = {}
    for quantity in w.network.quantities():
        if isinstance(quantity.definition, T.Tensor):
            for node in T.walk(quantity.definition):
                if isinstance(node, T.Elementwise) and node.function.source is not None:
                    seen.setdefault(id(node.function), node.function)
    return [activation_latex(function, w.notation) for function in seen.values()]


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
