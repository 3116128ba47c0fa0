"""What the backward pass needs from the forward pass (the page's 메모리 사용), and checkpointing.

The report and the plans are made in :mod:`symbackprop.analysis.memory`; a plan
runs on numbers in :mod:`symbackprop.analysis.checkpointing`.  This module gathers them.
"""

from __future__ import annotations

from .analysis.checkpointing import CheckpointedEvaluation, checkpointed_evaluation
from .analysis.memory import CheckpointPlan, MemoryReport, StepReads, checkpoint_plan, forward_reads, memory

__all__ = [
    "CheckpointPlan", "CheckpointedEvaluation", "MemoryReport", "StepReads", "checkpoint_plan",
    "checkpointed_evaluation", "forward_reads", "memory",
]
