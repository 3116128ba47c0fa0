"""The reports a document shows after the chain rule, computed before any printer runs.

The page's later sections (역전파의 효율성, Gradient 소실/폭발, 메모리 사용) each
print one report; :func:`analyse` computes the ones asked for and the printers
receive them in a :class:`Reports`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..choices import ANALYSES  # the analyses, named as the document sections that show them
from ..stages import announce
from .cost import CostReport, cost
from .flow import GradientFlow, gradient_flow
from .memory import MemoryReport, memory

if TYPE_CHECKING:
    from ..derivation import Derivation
    from ..worked import WorkedNumbers


@dataclass(frozen=True)
class Reports:
    """What the later sections print; a section whose report is None is left out.

    ``memory`` counts one sample; ``batch_memory`` the batch the document counts
    numbers for (None when that batch is one sample); ``batch`` is the derivation of the
    same network over a batch, for the whole page's 배치 처리에서의 역전파 (None: not asked for).
    """

    cost: CostReport | None = None
    flow: GradientFlow | None = None
    memory: MemoryReport | None = None
    batch_memory: MemoryReport | None = None
    batch: Derivation | None = None
    #: The worked example's numbers at the document's values, which the flow was computed from (None: no flow).
    worked: WorkedNumbers | None = None


def analyse(derivation: Derivation, values: Mapping[str, Any] | None = None, *,
            sections: Iterable[str] = ANALYSES, batch_size: int = 1, page: str = "derivation") -> Reports:
    """The reports of the named ``sections`` (any of :data:`ANALYSES`); "flow" needs values;
    ``page="full"`` adds the batch derivation the whole page's batch section prints."""
    wanted = set(sections)
    unknown = sorted(wanted - set(ANALYSES))
    if unknown:
        raise ValueError(f"unknown analysis {', '.join(map(repr, unknown))}; use any of {', '.join(ANALYSES)}")
    efficiency = _announced("efficiency", cost, derivation) if "efficiency" in wanted else None
    worked = flow = None
    if "flow" in wanted and values is not None:
        worked, flow = _announced("flow", _document_flow, derivation, dict(values))
    return Reports(
        cost=efficiency,
        flow=flow,
        memory=_announced("memory", memory, derivation, batch=1) if "memory" in wanted else None,
        batch_memory=memory(derivation, batch=batch_size) if "memory" in wanted and batch_size > 1 else None,
        batch=_announced("batch", _batch_derivation, derivation) if page == "full" else None,
        worked=worked,
    )


def _announced(part: str, analysis: Callable[..., Any], *arguments: Any, **options: Any) -> Any:
    """The analysis behind the section ``part``, named first for a listener (the command's progress)."""
    announce(part)
    return analysis(*arguments, **options)


def _document_flow(derivation: Derivation, values: dict[str, Any]) -> tuple[WorkedNumbers, GradientFlow]:
    """The worked example's numbers and the flow at their evaluation: a document builds and runs one program."""
    from ..worked import worked_numbers

    worked = worked_numbers(derivation, values)
    return worked, gradient_flow(derivation, values, evaluation=worked.evaluation)


def _batch_derivation(derivation: Derivation) -> Derivation:
    if derivation.batch:
        return derivation
    from ..backprop import UnusedParameterWarning, backprop

    with warnings.catch_warnings():  # the user's own derivation has warned about it already
        warnings.simplefilter("ignore", UnusedParameterWarning)
        return backprop(derivation.network, batch=True)


__all__ = ["ANALYSES", "Reports", "analyse"]
