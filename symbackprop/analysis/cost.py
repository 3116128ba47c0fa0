"""The efficiency report: forward pass, reverse sweep and the naive way, with their ratios."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import OptionError
from .counting import OperationCounts, count_operations
from .naive import NaiveCost, counted_naive, naive_operations

if TYPE_CHECKING:
    from ..derivation import Derivation


@dataclass(frozen=True)
class CostReport:
    """The page's efficiency claim, measured: forward, reverse sweep and the naive way."""

    counts: OperationCounts
    naive: NaiveCost | None
    parameters: int
    #: The derivation counted, for the names a notebook's display prints.
    derivation: Any = field(default=None, compare=False, repr=False)

    @property
    def forward(self) -> int:
        return self.counts.forward

    @property
    def backward(self) -> int:
        return self.counts.backward

    @property
    def backprop(self) -> int:
        return self.counts.backprop

    @property
    def backward_ratio(self) -> float:
        return self.counts.backward_ratio

    @property
    def backprop_ratio(self) -> float:
        """(forward + backward) / forward: the page says ≈ 2."""
        return self.counts.backprop_ratio

    @property
    def naive_ratio(self) -> float | None:
        """Naive operations / forward operations (None when the naive count was skipped)."""
        if self.naive is None or self.naive.operations is None or not self.forward:
            return None
        return self.naive.operations / self.forward

    @property
    def page_naive_ratio(self) -> int:
        """The page's model of the naive way: one forward pass per parameter, p × forward."""
        return self.parameters

    @property
    def speedup(self) -> float | None:
        """Naive operations / backpropagation operations."""
        if self.naive is None or self.naive.operations is None or not self.backprop:
            return None
        return self.naive.operations / self.backprop

    def rows(self, lang: str = "en") -> list[tuple[str, str, str]]:
        """(what, operations, × forward) rows, as the summary prints them."""
        from ..printing.report_text import cost_rows

        return cost_rows(self, lang)

    def summary(self, lang: str = "en") -> str:
        from ..printing.report_text import cost_summary

        return cost_summary(self, lang)

    def __str__(self) -> str:
        return self.summary()

    def _repr_markdown_(self) -> str | None:
        from ..printing.rich import cost_markdown

        return cost_markdown(self) if self.derivation is not None else None


#: The ways ``cost(naive=...)`` finds the naive figure: from the forward pass's count, or by ``sympy.diff``.
NAIVE_COUNTED, NAIVE_MEASURED = "counted", "measured"


def cost(derivation: Derivation, *, naive: bool | str = True, naive_cap: int = 64, naive_sample: int = 2,
         naive_work: int = 50_000, naive_loss_cap: int = 20_000, naive_build_cap: int = 5_000) -> CostReport:
    """Operation counts for the forward pass, the reverse sweep and the naive way, with ratios.

    The naive way is counted as the page counts it, one forward pass per parameter
    element (``naive=True`` or ``"counted"``, linear in the network); ``naive="measured"``
    differentiates the whole expanded loss with ``sympy.diff`` once per element instead,
    on a sample bounded by work (the other options, see
    :func:`~symbackprop.analysis.naive.naive_operations`); ``naive=False`` leaves it out.
    """
    counts = count_operations(derivation)
    parameters = sum(q.size for q in derivation.network.params)
    if naive is True or naive == NAIVE_COUNTED:
        naive_cost = counted_naive(derivation, counts.forward)
    elif naive == NAIVE_MEASURED:
        naive_cost = naive_operations(derivation, cap=naive_cap, sample=naive_sample, work=naive_work,
                                      loss_cap=naive_loss_cap, build_cap=naive_build_cap, forward=counts.forward)
    elif naive is False or naive is None:
        naive_cost = None
    else:
        raise OptionError(f"naive must be True or {NAIVE_COUNTED!r} (one forward pass per parameter, counted), "
                          f"{NAIVE_MEASURED!r} (sympy.diff of the expanded loss, on a sample) or False; got {naive!r}")
    return CostReport(counts, naive_cost, parameters, derivation)


__all__ = ["NAIVE_COUNTED", "NAIVE_MEASURED", "CostReport", "cost"]
