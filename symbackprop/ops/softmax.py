"""Softmax and log-softmax: what ``sbp.softmax`` / ``sbp.log_softmax`` build, their NumPy kernels and
their element-by-element SymPy forms.

The kernels shift each slice by its largest entry before exponentiating, as
PyTorch does, so logits of ±800 give finite, exact results; generated code
passes NumPy's axis (−2 for the rows of a (…, rows, columns) array, −1 for its
columns), so a leading batch axis is carried along.  At the scalar level (SymPy
matrices) the entries are written out with LogSumExp, which carries the same
shift into the scalar level's program.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from .. import tensor as T
from ..errors import InvalidOperandError
from ..tensor.softmax import DOWN_COLUMNS, softmax_axis
from .stable import LogSumExp


def _softmax(z, axis):
    """Softmax of each slice along ``axis``, shifted by the slice's maximum (finite for any logits)."""
    shifted = z - np.max(z, axis=axis, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / np.sum(exponentials, axis=axis, keepdims=True)


def _log_softmax(z, axis):
    """Log-softmax of each slice along ``axis``: z − max − log Σ e^{z − max}."""
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def numpy_axis(axis: int) -> int:
    """The NumPy axis of a matrix axis in (…, rows, columns) arrays: a batch axis may come first."""
    return axis - 2


# -- element by element -------------------------------------------------------------------------

def _slices(matrix: sp.MatrixBase, axis: int) -> list[list[tuple[int, int]]]:
    rows, columns = matrix.shape
    if axis == DOWN_COLUMNS:
        return [[(i, j) for i in range(rows)] for j in range(columns)]
    return [[(i, j) for j in range(columns)] for i in range(rows)]


def softmax_entries(matrix: sp.MatrixBase, axis: int) -> sp.ImmutableMatrix:
    """e^{zᵢ} / Σⱼ e^{zⱼ} per slice, the textbook form (exact for exact numbers)."""
    result = sp.zeros(*matrix.shape)
    for cells in _slices(matrix, axis):
        total = sp.Add(*(sp.exp(matrix[c]) for c in cells))
        for c in cells:
            result[c] = sp.exp(matrix[c]) / total
    return sp.ImmutableMatrix(result)


def log_softmax_entries(matrix: sp.MatrixBase, axis: int) -> sp.ImmutableMatrix:
    """zᵢ − log Σⱼ e^{zⱼ} per slice."""
    result = sp.zeros(*matrix.shape)
    for cells in _slices(matrix, axis):
        log_total = sp.log(sp.Add(*(sp.exp(matrix[c]) for c in cells)))
        for c in cells:
            result[c] = matrix[c] - log_total
    return sp.ImmutableMatrix(result)


def _written_out(matrix: sp.MatrixBase, axis: int, log: bool) -> sp.ImmutableMatrix:
    """The scalar level's entries: zᵢ − LogSumExp(z), whose derivative is the softmax itself."""
    result = sp.zeros(*matrix.shape)
    for cells in _slices(matrix, axis):
        log_total = LogSumExp(*(matrix[c] for c in cells))
        for c in cells:
            result[c] = matrix[c] - log_total if log else sp.exp(matrix[c] - log_total)
    return sp.ImmutableMatrix(result)


# -- what users call ----------------------------------------------------------------------------

def _apply(name: str, z: Any, axis: Any, log: bool) -> Any:
    axis = softmax_axis(axis, name)
    if isinstance(z, T.Tensor):
        return T.log_softmax(z, axis) if log else T.softmax(z, axis)
    if isinstance(z, sp.MatrixBase):
        return _written_out(z, axis, log)
    raise InvalidOperandError(
        f"{name} takes a vector or matrix of the network (or, at the scalar level, a SymPy matrix), "
        f"not {type(z).__name__} {z!r}: the softmax of a single number is 1"
    )


def softmax(z: Any, axis: Any = DOWN_COLUMNS) -> Any:
    """Softmax of each column of ``z`` (``axis=0``, a column vector's entries) or each row (``axis=1``)."""
    return _apply("softmax", z, axis, log=False)


def log_softmax(z: Any, axis: Any = DOWN_COLUMNS) -> Any:
    """Log-softmax of each column of ``z`` (``axis=0``) or each row (``axis=1``), as ``torch.log_softmax``."""
    return _apply("log_softmax", z, axis, log=True)


#: The kernels by the names generated code calls them.
SOFTMAX_KERNELS = {f.__name__: f for f in (_softmax, _log_softmax)}

__all__ = ["SOFTMAX_KERNELS", "log_softmax", "log_softmax_entries", "numpy_axis", "softmax", "softmax_entries"]
