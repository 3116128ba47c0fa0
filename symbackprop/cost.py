"""Operation counts and the efficiency report (the page's 역전파의 효율성).

The definitions live in :mod:`symbackprop.analysis.counting` (what an operation
is, counted on the user's network), :mod:`symbackprop.analysis.naive` (one
``sympy.diff`` of the expanded loss per parameter element, bounded by work) and
:mod:`symbackprop.analysis.cost` (the report); this module gathers them.
"""

from __future__ import annotations

from .analysis.cost import CostReport, cost
from .analysis.counting import (
    OperationCounter,
    OperationCounts,
    count_operations,
    node_operations,
    operations,
    parameter_step_indices,
    scalar_operations,
    step_operations,
    tensor_operations,
)
from .analysis.naive import NaiveCost, ParameterGroupCost, naive_operations, sample_positions

__all__ = [
    "CostReport", "NaiveCost", "OperationCounter", "OperationCounts", "ParameterGroupCost", "cost",
    "count_operations", "naive_operations", "node_operations", "operations", "parameter_step_indices",
    "sample_positions", "scalar_operations", "step_operations", "tensor_operations",
]
