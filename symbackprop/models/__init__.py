"""Ready-made networks: the reference page's perceptron and the blocks networks are built from.

Each function returns a :class:`~symbackprop.network.Network` with documented names and a
default loss (½‖out − y‖² against a target y of the output's shape).
"""

from .perceptron import mlp
from .residual import residual_block
from .swiglu import swiglu_mlp

__all__ = ["mlp", "residual_block", "swiglu_mlp"]
