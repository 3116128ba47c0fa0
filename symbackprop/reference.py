"""The reference page's network and worked example: x = [1, 2], y = 3, ReLU, L = ½(h2 − y)²."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy as sp

from .network import Network
from .ops.activations import relu


def reference_network() -> Network:
    """The two-layer ReLU network of the reference page, written out as a user would."""
    net = Network()
    x = net.input("x", (2, 1))
    y = net.input("y")
    W1 = net.param("W1", (2, 2))
    b1 = net.param("b1", (2, 1))
    W2 = net.param("W2", (1, 2))
    b2 = net.param("b2")
    z1 = net.node("z1", W1 @ x + b1)
    h1 = net.node("h1", relu(z1))
    z2 = net.node("z2", W2 @ h1 + b2)
    h2 = net.node("h2", relu(z2))
    net.loss("L", sp.Rational(1, 2) * (h2 - y) ** 2)
    return net


def reference_values(exact: bool = False) -> dict[str, Any]:
    """The page's numbers; with ``exact=True`` as fractions, so results are exact rationals."""
    values: dict[str, Any] = {
        "x": [1, 2], "y": 3,
        "W1": [[0.5, 0.3], [0.2, 0.4]], "b1": [0.1, 0.2],
        "W2": [[0.6, 0.8]], "b2": 0.1,
    }
    if not exact:
        return values
    return {name: _to_fraction(v) for name, v in values.items()}


def _to_fraction(value: Any) -> Any:
    if isinstance(value, list):
        return [_to_fraction(v) for v in value]
    return Fraction(str(value))


#: The learning rate of the page's update step.
REFERENCE_LEARNING_RATE = Fraction(1, 100)
