"""The softmax cross-entropy along an axis, with one-hot (or probability) targets or integer class indices.

The loss of logits z against y along ``axis`` normalises each column of the logits z
(``axis=0``) or each row (``axis=1``, a (T, C) matrix of T tokens' logits) and
takes the mean over the columns or rows, as PyTorch's cross-entropy does over a
batch.  The target is either of z's shape (one-hot or probabilities) or one
class index per column or row: a scalar input for a column z, a (T, 1) column
of indices for (T, C) logits with ``axis=1``, a (1, T) row for ``axis=0``; (…, C) logits of rank 3 or
more with ``axis=-1``, as the matrix of their rows (:mod:`.loss_rows`).
A column z with a target of its own shape is the classic loss and builds the
same node as before (no options).

These are the record's callables for a loss with options; they take the
node's options as keyword arguments: ``axis``, ``index`` (class indices) and
``samples`` (how many columns or rows the mean runs over).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from .. import tensor as T
from ..errors import InvalidClassIndexError, InvalidOperandError
from ..printing.precedence import Precedence, Printed, over
from ..tensor.gather import index_inputs, indices_fit, is_index
from ..tensor.softmax import ALONG_ROWS, DOWN_COLUMNS, softmax_axis
from . import loss_rows
from .softmax import _log_softmax, _softmax, log_softmax_entries, softmax_entries

# -- the node ----------------------------------------------------------------------------------

def loss_node(kind: str, z: Any, y: Any, axis: Any = DOWN_COLUMNS) -> T.Tensor:
    """The loss node ``kind`` of logits ``z`` against ``y`` along ``axis`` (see the module text)."""
    z, y = T.as_tensor(z), T.as_tensor(y)
    if z.rank > 2:  # (…, C) logits: the matrix of their rows of classes, normalised along each row
        z, y = loss_rows.class_rows(kind, z, y, axis)
        axis = ALONG_ROWS
    axis = softmax_axis(axis, kind)
    samples = z.shape[1 - axis]
    index_shape = (samples, 1) if axis == 1 else (1, samples)
    if y.shape == z.shape:
        index = False
    elif y.shape == index_shape:
        index = True
        if _index_name(y) is None:
            raise InvalidOperandError(
                f"{kind}: the class indices {y!r} must be an input of the network "
                f"(net.input(name, {index_shape}) holding integers), not an expression")
    else:
        raise T.ShapeMismatchError(
            f"{kind}: logits {z!r} of shape {T.shape_text(z.shape)} take a target of the same shape "
            f"(one-hot or probabilities) or class indices of shape {T.shape_text(index_shape)} "
            f"(one per {'row' if axis == 1 else 'column'}), but {y!r} has shape {T.shape_text(y.shape)}"
        )
    if axis == DOWN_COLUMNS and samples == 1 and not index:
        return T.LossNode(kind, z, y)  # the classic loss of a column, exactly as before
    return T.LossNode(kind, z, y, (("axis", axis), ("index", index), ("samples", samples)))


def _index_name(y: T.Tensor) -> str | None:
    """The name of a quantity used as class indices: a tensor of the network, or a scalar's symbol."""
    y = loss_rows.indices_input(y)
    if isinstance(y, T.Ref):
        return y.name
    if isinstance(y, T.Scalar) and isinstance(y.expr, sp.Symbol):
        return y.expr.name
    return None


def class_indices(network: Any) -> list[tuple[str, int, str]]:
    """The quantities used as class indices in ``network``, with their number of classes and their loss."""
    found = []
    for quantity in network.quantities():
        if isinstance(quantity.definition, T.Tensor):
            for node in T.walk(quantity.definition):
                if isinstance(node, T.LossNode) and dict(node.options).get("index"):
                    classes = node.prediction.shape[dict(node.options)["axis"]]
                    found.append((_index_name(node.target), classes, node.kind))
    return found


def read_only_as_class_indices(network: Any) -> set[str]:
    """The inputs read only as a cross-entropy's class indices: these may reach a program as integers (its kernels
    read them as positions); read anywhere else, they are floats as every other value."""
    names = {name for name, _, _ in class_indices(network)} - {name for name, _, _ in index_inputs(network)}
    return {name for name in names if sum(name in q.dependencies for q in network.quantities()) == 1}


def check_class_indices(network: Any, arrays: dict[str, np.ndarray]) -> None:
    """Refuse class indices that are not integers from 0 to C − 1, naming the input (at evaluation)."""
    for name, classes, kind in class_indices(network):
        if name not in arrays:
            raise InvalidClassIndexError(
                f"{kind}: the class indices {name!r} are computed by the network; declare them "
                f"as an input, net.input({name!r}, ...), and give integers from 0 to {classes - 1}")
        if indices_fit(arrays[name], classes):
            continue
        for value in np.asarray(arrays[name]).flat:
            if not is_index(value, classes):
                raise InvalidClassIndexError(
                    f"value of {name!r}: {value} is not a class index; {kind} over {classes} classes "
                    f"takes integers from 0 to {classes - 1}")


# -- NumPy, on (…, rows, columns) arrays ---------------------------------------------------------

def _one_hot(index, z, axis):
    """Class indices (one per column or row of z) as one-hot arrays of z's shape.

    Not checked here: every way values reach a program (``evaluate``, a compiled gradient's every call,
    a batch on Dask) has refused indices that are not integers below the number of classes, naming them."""
    classes = z.shape[axis - 2]
    k = np.asarray(index, dtype=float)
    positions = np.arange(classes).reshape((classes, 1) if axis == 0 else (1, classes))
    return (positions == k).astype(float)


def _targets(z, y, axis, index):
    return _one_hot(y, z, axis) if index else y


def loss_along(z, y, axis, index, samples):
    """−(1/S) Σ y ⊙ log softmax(z) over each column (axis 0) or row (axis 1), the (…, 1, 1) loss."""
    log_p = _log_softmax(z, axis - 2)
    return -np.sum(_targets(z, y, axis, index) * log_p, axis=(-2, -1), keepdims=True) / samples


def prediction_gradient_along(z, y, axis, index, samples):
    if index:
        return _softmax_less_indices(z, y, axis, samples)
    gradient = _softmax(z, axis - 2) - y
    gradient /= samples
    return gradient


#: Logits inside ±this give e^z between 1e-261 and 1e261: normal numbers whose sums (up to 1e40 classes) are finite.
_UNSHIFTED = 600.0


def _softmax_less_indices(z, index, axis, samples):
    """softmax(z)/S with 1/S taken where each class index points: the exponentials scaled once, no one-hot made (in
    C order, so that the flat view the indices are taken from is the array itself)."""
    if z.size and -_UNSHIFTED < np.minimum.reduce(z, None) and np.maximum.reduce(z, None) < _UNSHIFTED:
        p = np.exp(z, order="C")  # every e^z a normal number and their sums finite: no shift needed (NaN fails)
    else:  # shifted by each slice's maximum, as PyTorch does: finite for any logits
        p = np.subtract(z, np.maximum.reduce(z, axis - 2, keepdims=True), order="C")
        np.exp(p, out=p)
    p *= (1.0 / samples) / np.add.reduce(p, axis - 2, keepdims=True)
    classes, columns = p.shape[axis - 2], p.shape[-1]
    shape = p.shape[:-2] + ((p.shape[-2], 1) if axis == 1 else (1, columns))
    k = (index if np.shape(index) == shape else np.broadcast_to(index, shape)).reshape(-1).astype(np.intp, copy=False)
    if axis == 1:  # row j's class k sits at j·C + k
        positions = np.arange(0, p.size, classes) + k
    else:  # column j (of S) in matrix b: b·C·S + j + k·S
        j = np.arange(k.size)
        positions = (j // columns) * (classes * columns) + j % columns + k * columns
    p.reshape(-1)[positions] -= 1.0 / samples
    return p


def target_gradient_along(z, y, axis, index, samples):
    return -_log_softmax(z, axis - 2) / samples


# -- element by element ----------------------------------------------------------------------------

def _weights(z: sp.MatrixBase, y: sp.MatrixBase, axis: int, index: bool) -> sp.ImmutableMatrix:
    """The target as weights of z's shape; class indices through Kronecker deltas, exact for integers."""
    if not index:
        return sp.ImmutableMatrix(y)
    if axis == DOWN_COLUMNS:
        return sp.ImmutableMatrix(*z.shape, lambda i, j: sp.KroneckerDelta(i, y[j]))
    return sp.ImmutableMatrix(*z.shape, lambda i, j: sp.KroneckerDelta(j, y[i]))


def explicit_along(z, y, axis, index, samples) -> sp.Expr:
    weights = _weights(z, y, axis, index)
    log_p = log_softmax_entries(z, axis)
    return -sp.Add(*(weights[k] * log_p[k] for k in range(len(log_p)))) / samples


def explicit_prediction_along(z, y, axis, index, samples) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix((softmax_entries(z, axis) - _weights(z, y, axis, index)) / samples)


def explicit_target_along(z, y, axis, index, samples) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(-log_softmax_entries(z, axis) / samples)


# -- LaTeX -----------------------------------------------------------------------------------------

def _softmax_text(z: str, axis: int, samples: int) -> str:
    if samples == 1:
        return rf"\operatorname{{softmax}}\left({z}\right)"
    return rf"\operatorname{{softmax}}_{{\mathrm{{{'row' if axis == 1 else 'col'}}}}}\left({z}\right)"


def _target_text(y: str, index: bool) -> str:
    return rf"\operatorname{{onehot}}\left({y}\right)" if index else y


def latex_along(z: str, y: str, n: int, scalar: bool, *, axis: int, index: bool, samples: int) -> Printed:
    target = _target_text(y, index)
    log_p = rf"\log {_softmax_text(z, axis, samples)}"
    if samples == 1:
        vector = target if axis == DOWN_COLUMNS else rf"\left({target}\right)^{{\top}}"
        text = rf"-{vector}^{{\top}} {log_p}" if axis == DOWN_COLUMNS else rf"-{log_p} \, {vector}"
        return Printed(text, Precedence.NEGATIVE)
    return Printed(rf"-{over(samples)}\mathbf{{1}}^{{\top}} \left({target} \odot {log_p}\right) \mathbf{{1}}",
                   Precedence.NEGATIVE)


def latex_prediction_along(z: str, y: str, n: int, *, axis: int, index: bool, samples: int) -> Printed:
    difference = rf"{_softmax_text(z, axis, samples)} - {_target_text(y, index)}"
    if samples == 1:
        return Printed(difference, Precedence.ADD)
    return Printed(rf"{over(samples)}\left({difference}\right)", Precedence.PRODUCT)


def latex_target_along(z: str, y: str, n: int, *, axis: int, index: bool, samples: int) -> Printed:
    return Printed(rf"-{over(samples)}\log {_softmax_text(z, axis, samples)}", Precedence.NEGATIVE)


__all__ = ["check_class_indices", "class_indices", "loss_node", "read_only_as_class_indices"]
