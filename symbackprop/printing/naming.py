"""Generated names for long unnamed sub-expressions that the backward pass would print again and again.

A network may write ``out = W₂ tanh(W₁x + b₁) + b₂`` without naming the hidden layer; the steps of
W₁, b₁ and x would then each repeat the gradient flowing into it. The document names such an
expression once, where it is first needed (``u_{1} = (W_{2}^{\\top} ∂L/∂out) ⊙ (1 − \\tanh^{2}(W_{1} x
+ b_{1}))``), as a student would, and prints the name wherever it recurs. Only the printing changes:
the derivation and its numbers are the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import tensor as T
from ..derivation import SEED, SUM, Derivation, Step
from .precedence import Precedence, Printed
from .tensors import TensorPrinter
from .widths import printed_width

if TYPE_CHECKING:
    from .names import Notation

#: An expression is named when the backward pass would print it in at least this many places …
MIN_USES = 2
#: … and it prints at least this wide (in characters of the document's type).
MIN_WIDTH = 20
#: … and has at least this many nodes (fewer never print that wide; they are not even measured).
MIN_NODES = 4
#: Letters a generated name may take, the first that names no quantity of the network.
_LETTERS = ("u", "v", "r", "q", "k", "m")
_LEAVES = (T.Ref, T.Adjoint, T.Scalar, T.Ones)


class GeneratedNames:
    """Which sub-expressions get a name, their definitions, and which of them have been said so far."""

    def __init__(self, derivation: Derivation, notation: Notation, written: list[Step] | None = None) -> None:
        """``written``: the steps the document writes, where it leaves some out (None: every step)."""
        self.names: dict[T.Tensor, str] = {}
        self.said: set[str] = set()
        # a fan-out's sum repeats its edges' results, each shown in its own step: it is not one more use
        steps = [[form for form in (step.result, step.local) if isinstance(form, T.Tensor)]
                 for step in (derivation.steps[1:] if written is None else written)
                 if step.kind not in (SUM, SEED)]
        letter = _free_letter(derivation)
        plain = TensorPrinter(notation)
        for node in _repeated(steps):
            if printed_width(plain.doprint(node)) >= MIN_WIDTH:
                self.names[node] = rf"{letter}_{{{len(self.names) + 1}}}"
        self.printer = TensorPrinter(notation, leaf=self.leaf)
        self._nodes = {name: node for node, name in self.names.items()}

    def leaf(self, node: T.Tensor) -> Printed | None:
        name = self.names.get(node)
        return None if name is None else Printed(name, Precedence.ATOM)

    def definition(self, name: str) -> str:
        """The expression ``name`` stands for, its own inner named parts printed by their names."""
        return self.printer.visit(self._nodes[name]).text

    def unsaid(self, forms: Iterable[object]) -> list[str]:
        """The names ``forms`` print that are not said yet, each after the names its definition uses,
        now counted as said (the caller writes them out, ``name = definition``, before the forms)."""
        order: list[str] = []
        for form in forms:
            if isinstance(form, T.Tensor):
                self._collect(form, order)
        return order

    def _collect(self, form: T.Tensor, order: list[str]) -> None:
        pending: list[tuple[T.Tensor, bool]] = [(form, False)]
        while pending:  # the names inside a definition are said before it
            node, children_done = pending.pop()
            name = self.names.get(node)
            if children_done:
                if name not in self.said:
                    self.said.add(name)
                    order.append(name)
                continue
            if name is not None and node is not form and name in self.said:
                continue
            if name is not None:
                pending.append((node, True))
            pending.extend((child, False) for child in reversed(node.children))


def _repeated(steps: list[list[T.Tensor]]) -> list[T.Tensor]:
    """Sub-expressions found in the forms (result, local factor) of at least :data:`MIN_USES` steps,
    in the order a reader meets them, leaving out those that only ever occur inside a larger one."""
    uses: dict[T.Tensor, int] = {}  # in the order a reader first meets each node (so u₁ comes first)
    for forms in steps:
        here: set[T.Tensor] = set()
        for form in forms:
            for node in _inner_nodes(form):
                if node not in here:
                    here.add(node)
                    uses[node] = uses.get(node, 0) + 1
    repeated = [node for node, count in uses.items() if count >= MIN_USES]
    sizes = {node: _size(node) for node in repeated}
    repeated = [node for node in repeated if sizes[node] >= MIN_NODES]
    repeated.sort(key=lambda node: -sizes[node])
    chosen: list[T.Tensor] = []
    inside: dict[T.Tensor, int] = {}  # how many uses a node has inside the expressions chosen so far
    for node in repeated:
        if uses[node] > inside.get(node, 0):
            chosen.append(node)
            for inner in set(_inner_nodes(node)) - {node}:
                inside[inner] = inside.get(inner, 0) + uses[node]
    named = set(chosen)
    return [node for node in uses if node in named]


def _inner_nodes(form: T.Tensor) -> Iterable[T.Tensor]:
    return (node for node in T.walk(form) if not isinstance(node, _LEAVES) and node.children)


def _size(node: T.Tensor) -> int:
    return sum(1 for _ in T.walk(node))


def _free_letter(derivation: Derivation) -> str:
    taken = {q.name.split("_")[0].rstrip("0123456789") for q in derivation.network.quantities()}
    return next((letter for letter in _LETTERS if letter not in taken), "u")

