"""The registry of local chain-rule steps: every derivative symbackprop takes is defined here.

A rule receives an operation and the gradient arriving at its output (the
upstream gradient, ∂L/∂output) and returns what flows to each operand — a
vector–Jacobian product, written the way the reference page writes it
(∂L/∂W = ∂L/∂z · xᵀ, ∂L/∂x = Wᵀ · ∂L/∂z, ∂L/∂z = ∂L/∂h ⊙ f′(z)).  Each rule
also carries the sentence that explains it, per language, so a new rule brings
its own explanation to the documents.

Scalar SymPy expressions are differentiated by SymPy (``sympy.diff``) one
named input at a time; :func:`scalar_step` also names the kind of step for the prose.
"""

from ..registry import (
    RULES,
    Product,
    Pull,
    Rule,
    activation_rule,
    pulls,
    register,
    vjp,
)
from . import (
    tensor_ops,  # noqa: F401 - declaring the core rules registers them
)
from .scalars import scalar_local, scalar_steps

__all__ = [
    "RULES", "Product", "Pull", "Rule",
    "activation_rule", "pulls", "register", "scalar_local", "scalar_steps", "vjp",
]
