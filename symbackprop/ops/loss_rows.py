"""Losses of tensors of rank 3 or more, read as the matrix of their rows: ``x.reshape(-1, x.shape[-1])``.

A loss is a mean or sum over entries (or, for cross-entropy, over rows of classes), so it reads a
(…, k) tensor as the (M, k) matrix of its M rows in row-major order and is then the loss of that matrix,
with the library's convention for matrices: ``mse`` the mean over every entry and ½‖h − y‖² the sum, as
``F.mse_loss`` with ``reduction="mean"`` and half of ``reduction="sum"``; the softmax cross-entropy of (…, C)
logits the mean over the M rows of C classes, against targets of their shape or (…, 1) class indices,
as PyTorch's cross-entropy of the flattened rows. The gradient reaches the tensor back through the reshape,
which moves no entry. The binary cross-entropies take column vectors only, at every rank.
"""

from __future__ import annotations

from typing import Any

from .. import tensor as T
from ..errors import InvalidAxisError, InvalidOperandError, UnsupportedRankError


def as_rows(tensor: T.Tensor) -> T.Tensor:
    """The (M, k) matrix of the rows of a (…, k) tensor, row-major."""
    return T.reshape(tensor, -1, tensor.shape[-1])


def loss_operands(name: str, any_shape: bool, torch: str, h: T.Tensor, y: T.Tensor) -> tuple[T.Tensor, T.Tensor]:
    """A prediction and target of rank 3 or more (of one shape) as the matrices a loss over every entry takes."""
    if not any_shape:
        raise UnsupportedRankError(
            f"{name} takes column vectors, and {h!r} has shape {T.shape_text(h.shape)}: reshape both to "
            f"columns first, {name}(h.reshape(-1), y.reshape(-1)), the mean over every entry as {torch}'s"
        )
    return as_rows(h), as_rows(y)


def class_rows(kind: str, z: T.Tensor, y: T.Tensor, axis: Any) -> tuple[T.Tensor, T.Tensor]:
    """Logits (…, C) and their targets, (…, C) or (…, 1) class indices, as (M, C) and (M, C) or (M, 1): the
    rows a cross-entropy along axis 1 takes."""
    rank = z.rank
    last = {rank - 1, -1}
    if isinstance(axis, bool) or not hasattr(axis, "__index__") or int(axis) not in last:
        raise InvalidAxisError(
            f"{kind}: logits {z!r} of shape {T.shape_text(z.shape)} hold their classes along the last axis; "
            f"give axis=-1 (or sbp.permute the class axis last), got axis {axis!r}"
        )
    indices = (*z.shape[:-1], 1)
    if y.shape not in (z.shape, indices):
        raise T.ShapeMismatchError(
            f"{kind}: logits {z!r} of shape {T.shape_text(z.shape)} take a target of the same shape (one-hot or "
            f"probabilities) or class indices of shape {T.shape_text(indices)} (one per row of classes), but "
            f"{y!r} has shape {T.shape_text(y.shape)}"
        )
    if y.shape != z.shape and not isinstance(y, T.Ref):
        raise InvalidOperandError(
            f"{kind}: the class indices {y!r} must be an input of the network (net.input(name, "
            f"{T.shape_text(indices)}) holding integers), not an expression")
    return as_rows(z), as_rows(y)


def indices_input(y: T.Tensor) -> T.Tensor:
    """The quantity a target reads its class indices from: through the reshape that lays a tensor of them
    out as a column."""
    return y.operand if isinstance(y, T.Reshape) else y


__all__ = ["as_rows", "class_rows", "indices_input", "loss_operands"]
