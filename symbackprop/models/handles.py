"""A block's network whose handles are always tensors, so that its formulas hold at every size.

``Network.input`` gives a 1×1 quantity as a SymPy symbol (a scalar prints and evaluates as one), and a
SymPy symbol has no matrix product, slice or axis: a block with one hidden unit or one time step
(``rnn(1, 1, T=1)``, a scalar recurrence) would fail inside its own formulas. Here such a quantity is a
1×1 tensor, which every tensor operation takes, while the network still records it as a scalar.
"""

from __future__ import annotations

from typing import Any

from .. import tensor as T
from ..network import Network
from ..tensor import as_tensor


class TensorHandles:
    """``input``, ``param`` and ``node`` as :class:`~symbackprop.network.Network`'s, giving tensors;
    ``network`` is the network being built.

    A node's handle is lifted to a tensor too when one of the block's ``sizes`` is 1 (then any of its
    nodes may be 1×1); otherwise it stays what the network gives, so that a scalar the block computes
    by design (LayerNorm's μ of a column) remains a scalar of its formulas and its document.
    """

    def __init__(self, *sizes: int) -> None:
        self.network = Network()
        self._lift_nodes = 1 in sizes

    def input(self, name: str, shape: Any = None) -> T.Tensor:
        return as_tensor(self.network.input(name, shape))

    def param(self, name: str, shape: Any = None) -> T.Tensor:
        return as_tensor(self.network.param(name, shape))

    def node(self, name: str, value: Any) -> Any:
        handle = self.network.node(name, value)
        return as_tensor(handle) if self._lift_nodes else handle

    def loss(self, name: str, value: Any) -> Any:
        return self.network.loss(name, value)
