"""torch's own forms of the kernels a small block calls on every step.

Eager torch pays a dispatch of a few microseconds per operation and a Python frame per
call, which for a block of a few dozen small kernels is most of its time.  These forms
give NumPy's numbers with fewer operations: the softmax in one kernel instead of five,
ReLU without a tensor made for its 0, the one-hot of class indices without the
conversions, a batch of one not multiplied by 1.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InvalidClassIndexError

_Tensor = torch.Tensor


def _tensor(a):
    return a if isinstance(a, _Tensor) else torch.as_tensor(np.asarray(a, dtype=np.float64))


def _relu(z, at_zero=0):
    return torch.relu(_tensor(z))  # NaN stays NaN, as in np.maximum(z, 0.0)


def _softmax(z, axis):
    return torch.softmax(_tensor(z), axis)


def _log_softmax(z, axis):
    return torch.log_softmax(_tensor(z), axis)


def _axis_sum(a, axis):
    """The sum over a matrix axis (0: rows, 1: columns) of each matrix, the axis kept with length 1."""
    if not isinstance(a, _Tensor):
        a = _tensor(a)
    return a.sum(dim=-2 if axis == 0 else -1, keepdim=True)


def _batch_sum(a, batch_size):
    """A parameter's gradient: per-sample terms summed over the batch (a shared term counts N times).

    A batch of one returns the term itself: where that term shares its storage with an argument of the program
    or another gradient, :meth:`~symbackprop.backends.functions.BackendGradientFunction.gradients` copies it, as
    NumPy's product by 1 does. Under ``torch.compile`` that copy is not made (the trace cannot read storages),
    so the product is kept."""
    if not isinstance(a, _Tensor):
        a = _tensor(a)
    if a.ndim == 3:
        return a.sum(dim=0)
    if batch_size == 1 and not torch.compiler.is_compiling():
        return a
    return a * batch_size


def _one_hot(index, z, axis):
    """Class indices (one per column or row of z) as one-hot arrays of z's shape; their numbers are not checked
    here (the scatter of :func:`prediction_gradient_along`, which takes int64 indices, checks its bounds)."""
    classes = z.shape[axis - 2]
    positions = torch.arange(classes, device=z.device)
    positions = positions.reshape((classes, 1) if axis == 0 else (1, classes))
    return (positions == _index_tensor(index)).to(torch.float64)


def _index_tensor(index):
    return index if isinstance(index, _Tensor) else torch.as_tensor(np.asarray(index))


def prediction_gradient_along(z, y, axis, index, samples):
    """(softmax(z) − targets) / S. Class indices given as integers, one per row or column, subtract 1 where
    they point, in one scatter that refuses an index outside 0 … C − 1 (torch checks the bounds)."""
    dim = axis - 2
    p = torch.softmax(_tensor(z), dim)
    if not index:
        p = p - y
    elif isinstance(y, _Tensor) and y.dtype == torch.int64 and y.shape == _index_shape(p.shape, dim):
        try:
            p = p.scatter(dim, y, -1.0, reduce="add")
        except RuntimeError:
            raise _out_of_range(y, p.shape[dim]) from None
    else:
        p = p - _one_hot(y, p, axis)
    return p if samples == 1 else p / samples


def _index_shape(shape, dim):
    """The shape of one class index per slice of logits of ``shape`` along ``dim`` (−1 or −2)."""
    return shape[:-1] + (1,) if dim == -1 else shape[:-2] + (1, shape[-1])


def _out_of_range(y, classes: int) -> InvalidClassIndexError:
    value = int(y[(y < 0) | (y >= classes)].reshape(-1)[0])
    return InvalidClassIndexError(f"{value} is not a class index; the cross-entropy over {classes} classes "
                                  f"takes integers from 0 to {classes - 1}")


#: By the name of the NumPy kernel each stands in for.
KERNELS = {f.__name__: f for f in (_relu, _softmax, _log_softmax, _axis_sum, _batch_sum, _one_hot,
                                     prediction_gradient_along)}
