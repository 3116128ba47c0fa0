"""Gradient flow through the layers (the page's vanishing and exploding gradients).

The report is made in :mod:`symbackprop.analysis.flow`, the page's deep chain in
:mod:`symbackprop.analysis.deep_chain` and the plot in :mod:`symbackprop.analysis.plot`;
this module gathers them.
"""

from __future__ import annotations

from .analysis.deep_chain import DeepChain, deep_chain
from .analysis.flow import EXPLODING, VANISHING, Factor, FlowEntry, GradientFlow, LayerFlow, gradient_flow
from .analysis.layers import Layer, network_layers
from .analysis.plot import plot_gradient_flow

__all__ = [
    "EXPLODING", "VANISHING", "DeepChain", "Factor", "FlowEntry", "GradientFlow", "Layer", "LayerFlow",
    "deep_chain", "gradient_flow", "network_layers", "plot_gradient_flow",
]
