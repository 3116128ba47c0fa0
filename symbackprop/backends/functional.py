"""The kernels whose NumPy form assigns in place or branches on values, written without either.

``jax.jit`` traces a function once for all values, so it can neither assign into
an array nor take a branch on an array's contents; these forms give the same
numbers as kernels.py's (NaN kept where the input is NaN) for every backend.
"""

from __future__ import annotations

import numpy as np

from ..ops.softmax import _softmax
from ..tensor.slicing import _embedded


def _step(x, at_zero=0.5):
    """The Heaviside step 𝟏[x > 0] with the given value at 0; NaN stays NaN."""
    x = np.asarray(x, dtype=float)
    result = np.asarray(x > 0, dtype=float)
    if at_zero != 0:
        result = result + at_zero * np.asarray(x == 0, dtype=float)
    return np.where(np.isnan(x), x, result)  # x itself, not a NaN constant: no scalar to broadcast


def stable_sigmoid(z):
    """σ(z) = e^{min(z, 0)} / (1 + e^{−|z|}), as ops.activations computes it but without assigning in place."""
    z = np.asarray(z, dtype=float)
    return np.exp(np.minimum(z, 0.0)) / (1.0 + np.exp(-np.abs(z)))


def _gate(g, x, at_zero=0.0):
    """g ⊙ 𝟏[x > 0] — ReLU's backward step — NaN in x kept."""
    result = g * np.asarray(x > 0, dtype=float)
    if at_zero != 0:
        result = result + at_zero * g * np.asarray(x == 0, dtype=float)
    return np.where(np.isnan(x), x, result)


def _embed(g, rows, columns, row_start, row_stop, column_start, column_stop):
    """g placed at [row_start:row_stop, column_start:column_stop] of zeros of shape (…, rows, columns)."""
    g = np.asarray(g, dtype=float)
    if g.ndim < 2:
        g = g.reshape(g.shape + (1,) * (2 - g.ndim))
    leading = g.shape[:-2]
    height = g.shape[-2]
    g = np.concatenate([np.zeros(leading + (height, column_start)), g,
                        np.zeros(leading + (height, columns - column_stop))], axis=-1)
    return np.concatenate([np.zeros(leading + (row_start, columns)), g,
                           np.zeros(leading + (rows - row_stop, columns))], axis=-2)


def _one_hot(index, z, axis):
    """Class indices (one per column or row of z) as one-hot arrays of z's shape, without the range check
    that branches on values (the indices were checked when the values were read)."""
    classes = z.shape[axis - 2]
    positions = np.arange(classes).reshape((classes, 1) if axis == 0 else (1, classes))
    return np.asarray(positions == np.asarray(index), dtype=float)


def _softmax_less_indices(z, index, axis, samples):
    """(softmax(z) − onehot(index)) / S along ``axis``, without assigning into an array."""
    return (_softmax(z, axis - 2) - _one_hot(index, z, axis)) / samples


def _placed_sum(outer, *placed):
    """The pieces each placed at its ranges of zeros of shape (…, *outer) and added, each joined from zeros along
    every axis (the slices' own gradient, :func:`~symbackprop.tensor.slicing._embedded`) instead of assigned into
    one array."""
    total = 0.0
    for piece, ranges in zip(placed[::2], placed[1::2]):
        piece = np.asarray(piece, dtype=float)
        if piece.ndim < len(outer):
            piece = piece.reshape(tuple(piece.shape) + (1,) * (len(outer) - piece.ndim))
        total = total + _embedded(piece, outer, *(bound for span in ranges for bound in span))
    return total
