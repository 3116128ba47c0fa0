"""The conventions section: the gradient's layout, the notation and ReLU′(0)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from ... import tensor as T
from ...ops.activations import ReLU
from ..blocks import Block, Heading, Paragraph
from ..names import shape_latex

if TYPE_CHECKING:
    from ..compose import Writer


def conventions_section(w: Writer) -> list[Block]:
    blocks: list[Block] = [Heading(2, w.say("conventions.heading"))]
    parameters = [q for q in w.network.params]
    if parameters:
        widest = max(parameters, key=lambda q: q.size)
        blocks.append(Paragraph(w.say("conventions.layout", adjoint=w.adjoint(widest.name),
                                         shape=shape_latex(widest.shape), name=w.name(widest.name))))
    blocks.append(Paragraph(w.say("conventions.notation")))
    if w.naming.names:
        names = ", ".join(f"${name}$" for name in w.naming.names.values())
        blocks.append(Paragraph(w.say("conventions.names", names=names)))
    ties = relu_ties(w)
    if ties == [0]:
        blocks.append(Paragraph(w.say("conventions.relu")))
    elif ties:
        values = ", ".join(w.expr(t) for t in ties)
        blocks.append(Paragraph(w.say("conventions.relu_other", value=values)))
    return blocks


def relu_ties(w: Writer) -> list[sp.Expr]:
    """ReLU′(0) of every ReLU in the network (0 unless a user chose otherwise)."""
    probe = sp.Symbol("probe", real=True)
    found: dict[sp.Expr, None] = {}
    read: set[int] = set()  # a recurrence applies one activation at every step: its formula is read once
    for quantity in w.network.quantities(elements=True):
        definition = quantity.definition
        if isinstance(definition, T.Tensor):
            for node in T.walk(definition):
                if isinstance(node, T.Elementwise) and id(node.function) not in read:
                    read.add(id(node.function))
                    for relu in sp.sympify(node.function.formula(probe)).atoms(ReLU):
                        found.setdefault(relu.grad_at_zero)
        elif isinstance(definition, sp.Basic):
            for relu in definition.atoms(ReLU):
                found.setdefault(relu.grad_at_zero)
        elif isinstance(definition, sp.Basic):
            for relu in definition.atoms(ReLU):
                found.setdefault(relu.grad_at_zero)
    return list(found)
