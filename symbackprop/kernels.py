"""The NumPy helpers a generated program calls, beside NumPy itself.

Arrays carry an optional leading batch axis: (rows, columns) for one sample or
a value shared by every sample, (N, rows, columns) for a batch.  A parameter's
gradient is the sum over the batch of its per-sample terms; a term without a
batch axis is the same for every sample, so it counts N times.

Each helper is a plain module-level function that uses only NumPy, so that a
generated module can carry its source and run on its own.
"""

from __future__ import annotations

import numpy as np


def _T(a):
    """The transpose of each matrix (the last two axes)."""
    return np.swapaxes(a, -1, -2)


def _total(a):
    """The sum of all elements of each matrix, kept as a (…, 1, 1) block."""
    return np.add.reduce(a, (-2, -1), keepdims=True)  # np.sum's own call costs more than a small matrix's sum


def _total_of(a, rank):
    """The sum of all elements of each tensor of ``rank`` axes (the last ones), as a (…, 1, 1) block."""
    total = np.sum(a, axis=tuple(range(-rank, 0)))
    return total.reshape(np.shape(total) + (1, 1))  # a method: every backend's arrays have it


def _axis_sum(a, axis):
    """The sum over a matrix axis (0: rows, 1: columns) of each matrix, the axis kept with length 1."""
    return np.add.reduce(a, -2 if axis == 0 else -1, keepdims=True)


def _broadcast(a, rows, columns):
    """Each matrix repeated to (rows, columns) along its axes of length 1 (a sum's gradient, 1 g or g 1ᵀ)."""
    a = np.asarray(a, dtype=float)
    if a.ndim < 2:  # a constant 1×1 value
        a = a.reshape(1, 1)
    return np.array(np.broadcast_to(a, a.shape[:-2] + (rows, columns)))


def _step(x, at_zero=0.5):
    """The Heaviside step 𝟏[x > 0] with the given value at 0; NaN stays NaN (a branch would hide it)."""
    x = np.asarray(x, dtype=float)
    result = (x > 0).astype(float)
    if at_zero != 0:
        result[x == 0] = at_zero
    total = np.add.reduce(x, None)  # one pass without a mask in the common case that nothing is NaN
    if total != total:
        result[np.isnan(x)] = np.nan
    return result


def _gate(g, x, at_zero=0.0):
    """g ⊙ 𝟏[x > 0] — ReLU's backward step — in one pass, NaN in x kept."""
    result = g * (x > 0)
    if at_zero != 0:
        result = result + at_zero * g * (x == 0)
    total = np.add.reduce(x, None)  # NaN if any element is (or if +inf meets -inf: then the mask finds none)
    if total != total:
        result = np.where(np.isnan(x), np.nan, result)
    return result


def _mm(a, b):
    """``a @ b``; a shared matrix times a stack of column vectors is one matrix product."""
    if a.ndim == 2 and b.ndim == 3 and b.shape[-1] == 1:
        return (b[..., 0] @ a.T)[..., np.newaxis]
    return a @ b


def _mm_t(a, b):
    """``aᵀ @ b`` without forming aᵀ (the gradient passed down, Wᵀ · ∂L/∂z)."""
    if a.ndim == 2 and b.ndim == 3 and b.shape[-1] == 1:
        return (b[..., 0] @ a)[..., np.newaxis]
    return np.swapaxes(a, -1, -2) @ b


def _batch_sum(a, batch_size):
    """A parameter's gradient: per-sample terms summed over the batch (a shared term counts N times)."""
    if getattr(a, "ndim", 0) == 3:
        return a.sum(axis=0)
    return np.asarray(a, dtype=float) * batch_size


def _outer_sum(a, b, batch_size):
    """Σ over the batch of aₙ bₙᵀ (a weight's gradient, ∂L/∂z · hᵀ) as one matrix product."""
    if a.ndim == 3 and b.ndim == 3 and a.shape[2] == 1 and b.shape[2] == 1:
        return a[..., 0].T @ b[..., 0]
    return _mm_sum(a, np.swapaxes(b, -1, -2), batch_size)


def _mm_sum(a, b, batch_size):
    """Σ over the batch of aₙ @ bₙ as one matrix product (a parameter's gradient)."""
    if a.ndim == 3 and b.ndim == 3:
        rows, columns = a.shape[1], b.shape[2]
        return np.swapaxes(a, 0, 1).reshape(rows, -1) @ b.reshape(-1, columns)
    return _batch_sum(_mm(a, b), batch_size)


def _mul_sum(a, b, batch_size):
    """Σ over the batch of aₙ·bₙ for per-sample scalars, as one dot product."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim == 3 and b.ndim == 3 and a.shape == b.shape and a.shape[1:] == (1, 1):
        return np.dot(a.reshape(-1), b.reshape(-1)).reshape(1, 1)
    return _batch_sum(a * b, batch_size)


def _blocks(rows):
    """One array from per-element arrays; a constant element broadcasts to the batch like the rest."""
    cells = [[np.asarray(c, dtype=float).reshape(np.shape(c)[:-2] + (1, 1)) for c in row] for row in rows]
    leading = np.broadcast_shapes(*(c.shape[:-2] for row in cells for c in row))
    return np.concatenate([np.concatenate([np.broadcast_to(c, leading + (1, 1)) for c in row], axis=-1)
                           for row in cells], axis=-2)


#: Every helper by the name generated code calls it.
KERNELS = {f.__name__: f for f in (_T, _total, _total_of, _axis_sum, _broadcast, _step, _gate, _mm, _mm_t, _batch_sum,
                                     _outer_sum, _mm_sum, _mul_sum, _blocks)}
