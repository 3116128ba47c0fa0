"""The page's deep chain: layers whose local factors are all the same number, so the gradient
reaching the input is that number to the power of the depth (0.5¹⁰ ≈ 0.001, 2¹⁰ = 1024)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from ..errors import NetworkError
from .flow import GradientFlow, gradient_flow

if TYPE_CHECKING:
    from ..derivation import Derivation


@dataclass(frozen=True)
class DeepChain:
    """A deep network whose every layer multiplies the gradient by the same factor.

    ``factor`` is that local factor, weight × f′(z) at the chosen values, so the
    gradient reaching the input is ``factor ** depth`` times the gradient at the output.
    """

    derivation: Derivation
    values: dict[str, Any]
    depth: int
    activation: str
    weight: float
    factor: float

    def flow(self, **options: Any) -> GradientFlow:
        return gradient_flow(self.derivation, self.values, **options)


def deep_chain(depth: int = 10, activation: str = "sigmoid", weight: float = 2.0, *, width: int = 1,
               x: float | None = None) -> DeepChain:
    """A chain of ``depth`` layers, each Wk = weight·I (width × width), with the page's names.

    The biases put the layers where the activation is steepest for sigmoid and
    tanh (every zk = 0, so f′(zk) is σ′(0) = ¼ or tanh′(0) = 1) and leave ReLU-like
    activations on their linear side (bias 0 and a positive input, f′ = 1).  So
    the local factor of every layer is weight · f′(0) or weight: sigmoid with
    weight 2 gives 0.5 per layer (0.5¹⁰ ≈ 0.001 over ten layers) and ReLU with
    weight 2 gives 2 (2¹⁰ = 1024).  The loss is ½‖h − y‖² with y = h − 1, so ∂L/∂h = 1 at the top.
    """
    from ..backprop import backprop
    from ..functions import ACTIVATIONS
    from ..models import mlp

    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise NetworkError(f"depth must be a positive integer, got {depth!r}")
    if isinstance(activation, str) and activation not in ACTIVATIONS:
        raise NetworkError(f"unknown activation {activation!r}; known: {', '.join(sorted(ACTIVATIONS))}")
    function = ACTIVATIONS[activation] if isinstance(activation, str) else activation
    centred = function.name in ("sigmoid", "tanh")
    t = sp.Symbol("t", real=True)
    network = mlp([width] * (depth + 1), activation=function, output_activation=function, loss="half_squared_error")
    derivation = backprop(network)
    h = (0.5 if x is None else x) if centred else (1.0 if x is None else x)
    values: dict[str, Any] = {"x": _column(h, width), "y": _column(0.0, width)}
    slopes = []
    for k in range(1, depth + 1):
        bias = -weight * h if centred else 0.0
        z = weight * h + bias
        values[f"W{k}"] = weight * np.eye(width) if width > 1 else weight
        values[f"b{k}"] = _column(bias, width)
        h = float(function.formula(sp.Float(z)))
        slopes.append(float(function.derivative.formula(t).subs(t, sp.Float(z))))
    values["y"] = _column(h - 1.0, width)  # so that ∂L/∂h_depth = 1
    factor = weight * slopes[0]
    return DeepChain(derivation, values, depth, function.name, weight, factor)


def _column(value: float, width: int) -> Any:
    return [value] * width if width > 1 else value


__all__ = ["DeepChain", "deep_chain"]
