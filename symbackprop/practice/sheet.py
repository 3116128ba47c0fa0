"""A worksheet and its answer key as document blocks, for the same three writers as a derivation.

The sheet gives the network, the values and the forward pass with its numbers, then one box per
gradient to fill in, in the order the backward pass computes them; a gradient that is not asked
for is given.  The key is the same page with each box replaced by the derivation's formula and
its number, worked as the document's worked example works it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..printing.blocks import Block, Bullets, Display, Heading, Paragraph, Separator
from ..printing.compose import Writer
from ..printing.example import Example
from ..printing.names import shape_latex
from ..printing.options import Options
from ..printing.sections.network import network_section
from .quantities import backward_quantities

if TYPE_CHECKING:
    from .worksheet import Exercise

SHEET_PROSE: dict[str, dict[str, str]] = {
    "en": {
        "title": "Backpropagation practice",
        "title.key": "Backpropagation practice: answer key",
        "intro": "Work the backward pass by hand: fill in each box with the gradient of the loss ${loss}$, "
                 "in the order given, to {decimals} decimal places.",
        "intro.key": "The answers, each with the formula it comes from (the numbers are rounded to {decimals} "
                     "decimal places; a result computed from rounded numbers may differ in its last digit).",
        "seed": "Numbers drawn from seed {seed}.",
        "forward": "Forward pass (given)",
        "backward": "Backward pass",
        "backward.given": "Given:",
        "backward.asked": "Fill in:",
    },
    "ko": {
        "title": "역전파 연습",
        "title.key": "역전파 연습: 정답",
        "intro": "역전파를 손으로 계산해봅시다: 손실 ${loss}$의 gradient를 주어진 순서대로 소수점 {decimals}자리까지 "
                 "각 칸에 채웁니다.",
        "intro.key": "각 답과 그 답이 나오는 식 (숫자는 소수점 {decimals}자리로 반올림함. 반올림한 값으로 계산하면 "
                     "마지막 자리가 다를 수 있음).",
        "seed": "시드 {seed}에서 뽑은 숫자.",
        "forward": "Forward Pass (주어짐)",
        "backward": "Backward Pass",
        "backward.given": "주어진 값:",
        "backward.asked": "채울 칸:",
    },
}


def sheet_blocks(exercise: Exercise, *, key: bool) -> list[Block]:
    derivation = exercise.derivation
    writer = Writer(derivation, Options.from_keywords(lang=exercise.lang, decimals=exercise.decimals))
    example = Example(writer, writer.worked(exercise.values))

    def say(name: str, **fields: Any) -> str:
        return SHEET_PROSE[exercise.lang][name].format(**fields)

    blocks: list[Block] = [
        Heading(1, say("title.key" if key else "title")),
        Paragraph(say("intro.key" if key else "intro", loss=writer.notation.loss, decimals=exercise.decimals)),
    ]
    if exercise.seed is not None:
        blocks.append(Paragraph(say("seed", seed=exercise.seed)))
    blocks += [Separator(), *network_section(writer), Heading(3, say("forward")),
               Paragraph(writer.say("example.values")), Bullets(tuple(example.given())),
               Display(tuple(example.forward_rows())), Heading(3, say("backward"))]
    asked = set(exercise.blanks)
    given = [n for n in backward_quantities(derivation) if n not in asked]
    if given and not key:
        rows = [f"{writer.adjoint(n)} &= {example.samples(n, gradient=True)}" for n in given]
        blocks += [Paragraph(say("backward.given")), Display(tuple(rows))]
    rows = []
    for name in exercise.blanks:
        rows += _key_rows(writer, example, name) if key else [_box_row(writer, exercise, name)]
    if not key:
        blocks.append(Paragraph(say("backward.asked")))
    blocks.append(Display(tuple(rows)))
    return blocks


def _box_row(writer: Writer, exercise: Exercise, name: str) -> str:
    """∂L/∂q = a box per entry, shaped as the gradient is (a batch's node: its samples side by side)."""
    gradient = np.asarray(exercise.key[name])
    shape = writer.network[name].shape
    box = rf"\boxed{{\phantom{{{'-0.' + '0' * exercise.decimals}}}}}"
    if gradient.ndim == 3 or (gradient.ndim == 1 and shape is None):  # one per sample
        samples = gradient.shape[0]
        cells = _boxes(shape, box)
        entries = r",\; ".join([cells] * samples)
        return rf"{writer.adjoint(name)} &= \left({entries}\right)"
    return rf"{writer.adjoint(name)} &= {_boxes(shape, box)} \quad \in {shape_latex(shape)}"


def _boxes(shape: tuple[int, int] | None, box: str) -> str:
    if shape is None or shape == (1, 1):
        return box
    rows = [" & ".join([box] * shape[1]) for _ in range(shape[0])]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def _key_rows(writer: Writer, example: Example, name: str) -> list[str]:
    step = writer.derivation.step_for(name)
    if example.values.batched:
        return [f"{writer.adjoint(name)} &= {writer.expr(step.result)}", *example.batch_rows(step)]
    rows = example.step_rows(step)
    if step.source == writer.derivation.loss:
        return rows
    lhs = f"{writer.adjoint(name)} &="
    if rows[0].startswith(lhs):  # the numbers continue the formula's equation
        rows = [f"&={rows[0][len(lhs):]}", *rows[1:]]
    return [f"{lhs} {writer.expr(step.result)}", *rows]


__all__ = ["SHEET_PROSE", "sheet_blocks"]
