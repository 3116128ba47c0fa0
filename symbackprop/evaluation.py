"""The worked example in numbers: what :meth:`Derivation.evaluate` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Evaluation:
    """The worked example in numbers: ``forward[name]`` and ``grad[name]`` for every quantity.

    Arrays have the declared shape ((rows, columns), or () for scalars), with a
    leading batch axis for batched inputs and nodes.  Exact evaluation gives
    object arrays of SymPy numbers, and SymPy numbers for scalars.  ``forward[loss]`` is the
    mean loss over the batch; parameter gradients are means too.
    """

    forward: dict[str, Any]
    grad: dict[str, Any]
    batch_size: int | None
    exact: bool = False

    @property
    def loss(self) -> Any:
        return self.forward[self._loss_name]

    _loss_name: str = ""
    #: The network evaluated, for the names, kinds and shapes a notebook's table shows.
    network: Any = field(default=None, compare=False, repr=False)

    def _repr_markdown_(self) -> str | None:
        if self.network is None:
            return None
        from .printing.rich import evaluation_markdown

        return evaluation_markdown(self)
