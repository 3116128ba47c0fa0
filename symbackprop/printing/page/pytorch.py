"""PyTorch에서의 구현: this network's PyTorch program (:func:`symbackprop.torch_code.torch_code`) and,
beside it, the ``.grad`` values it prints, taken from ``Derivation.evaluate`` (not from torch)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ...torch_code import TorchCodeError, torch_code, torch_model
from ..blocks import Block, Bullets, Code, Heading, Paragraph, Table
from ..numbers import transposed

if TYPE_CHECKING:
    from . import Page


def pytorch_section(page: Page, values: Mapping[str, Any] | None) -> list[Block]:
    w, say = page.w, page.say
    blocks: list[Block] = [Heading(2, say("pytorch.heading"))]
    try:
        model = torch_model(w.network)
        code = torch_code(w.network, values, lang=w.lang)
    except TorchCodeError:
        return [*blocks, Paragraph(say("pytorch.unsupported"))]
    blocks += [Paragraph(say("pytorch.intro" if values is not None else "pytorch.intro_structure")), Code(code)]
    if values is not None:
        worked = w.worked(values)
        rows = []
        for torch_name, name in model.parameter_names().items():
            gradient = worked.gradient(name)
            if np.ndim(gradient) == 2 and np.shape(gradient)[1] == 1 and torch_name.endswith(".bias"):
                gradient = transposed(gradient)  # PyTorch keeps a bias as a vector and prints it as a row
            rows.append((f"`{torch_name}`", f"${w.name(name)}$", f"${worked.format.matrix(gradient)}$"))
        blocks += [Paragraph(say("pytorch.prints")),
                   Table(("`named_parameters()`", say("pytorch.parameter"), "`.grad`"), tuple(rows), ("l", "c", "l"))]
    blocks += [Paragraph(say("pytorch.called")),
               Bullets((say("pytorch.called.walk"), say("pytorch.called.chain"), say("pytorch.called.store")),
                       numbered=True),
               Paragraph(say("pytorch.outro"))]
    return blocks
