"""The operation table: one row per tensor operation, from which tests/test_operation_table.py generates its
checks (value and gradient at the vector level, in a batch, exactly, on every backend, in spec files and at
the scalar level), as JAX's lax_autodiff_test generates its checks from LAX_GRAD_OPS.

A row names the operation as symbackprop builds it, its operands' shapes and the domain its inputs are drawn
from, how it treats a tie or a kink, its PyTorch counterpart and a NumPy oracle; the NumPy oracle and finite
differences check every row without PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import symbackprop as sbp

Shape = tuple[int, ...]


def _normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.normal(size=shape)


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, size=shape)


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@dataclass(frozen=True)
class OperationRow:
    name: str
    build: Callable[..., Any]  # the operation on symbackprop tensors
    shapes: tuple[Shape, ...]  # its operands' shapes (broadcasting ones where it broadcasts)
    numpy: Callable[..., np.ndarray]  # the oracle, on (…, rows, columns) arrays
    torch: Callable[..., Any] | None  # the PyTorch counterpart, on torch tensors
    spec: str  # the operation in a spec file, its operands named a and b
    domains: tuple[Callable[..., np.ndarray], ...] = ()  # where each operand's inputs are drawn (default: normal)
    convention: str = "smooth"  # how a tie or a kink is treated
    #: inputs at a tie or kink, and the gradient the convention gives there (upstream weights C)
    kink: Callable[[np.random.Generator], tuple[dict[str, np.ndarray], dict[str, np.ndarray]]] | None = None
    scalar_level: bool = True  # spec files at level="scalar" write it out element by element
    exact: bool = True  # exact evaluation (SymPy arithmetic) is checked against floats
    tags: tuple[str, ...] = field(default=())

    def domain(self, index: int) -> Callable[..., np.ndarray]:
        return self.domains[index] if index < len(self.domains) else _normal


def _side_by_side(join: Callable[..., Any], a: Any, b: Any) -> Any:
    """a and b side by side, a batch axis of either carried to both."""
    leading = np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    expand = (lambda x: x.expand(*leading, *x.shape[-2:])) if hasattr(a, "expand") else (
        lambda x: np.broadcast_to(x, leading + tuple(x.shape[-2:])))
    return join([expand(a), expand(b)], axis=-1)


def _torch_cat(arrays: list[Any], axis: int) -> Any:
    import torch

    return torch.cat(arrays, dim=axis)


def _torch_maximum(a: Any, b: Any) -> Any:
    import torch

    return torch.maximum(a, b)


def _torch_extremum(kind: str, axis: int | None) -> Callable[..., Any]:
    """torch.amax over every entry (a tie shared equally), torch.max(x, dim) along an axis (the first)."""
    def apply(a):
        import torch

        if axis is None:
            return getattr(torch, "a" + kind)(a, dim=(-2, -1), keepdim=True)
        return getattr(torch, kind)(a, dim=axis - 2, keepdim=True).values
    return apply


def _numpy_extremum(kind: str, axis: int | None) -> Callable[..., np.ndarray]:
    return lambda a: getattr(np, kind)(a, axis=(-2, -1) if axis is None else axis - 2, keepdims=True)


def _torch_max_along(axis: int) -> Callable[..., Any]:
    return lambda a: a.max(dim=axis, keepdim=True).values


def _torch_amax(a: Any) -> Any:
    import torch

    return torch.amax(a).reshape(1, 1)


def _torch_permute(a: Any) -> Any:
    return a.permute(2, 0, 1)


def _torch_tanh_squared(a: Any) -> Any:
    import torch

    return torch.tanh(a) ** 2 / 2


def _torch_softmax(log: bool, axis: int) -> Callable[..., Any]:
    def apply(z):
        import torch

        return (torch.log_softmax if log else torch.softmax)(z, dim=axis - 2)
    return apply


def _torch_softmax_dim(log: bool, dim: int) -> Callable[..., Any]:
    """Along ``dim`` counted from the last axis, so that a leading axis does not move it."""
    def apply(z):
        import torch

        return (torch.log_softmax if log else torch.softmax)(z, dim=dim)
    return apply


ROWS: list[OperationRow] = [
    OperationRow("multiply", lambda a, b: a * b, ((3, 4), (1, 4)), lambda a, b: a * b,
                 lambda a, b: a * b, "a * b"),
    OperationRow("divide", lambda a, b: a / b, ((3, 4), (3, 1)), lambda a, b: a / b,
                 lambda a, b: a / b, "a / b", domains=(_normal, _away_from_zero),
                 convention="a zero divisor gives ±inf or NaN, as NumPy and PyTorch do"),
    OperationRow("sum_over_rows", lambda a: sbp.total(a, axis=0), ((3, 4),),
                 lambda a: a.sum(axis=-2, keepdims=True), lambda a: a.sum(dim=-2, keepdim=True), "sum(a, 0)"),
    OperationRow("sum_over_columns", lambda a: sbp.total(a, axis=1), ((3, 4),),
                 lambda a: a.sum(axis=-1, keepdims=True), lambda a: a.sum(dim=-1, keepdim=True), "sum(a, 1)"),
    OperationRow("softmax", lambda a: sbp.softmax(a, axis=1), ((3, 4),), lambda a: _softmax(a, -1),
                 _torch_softmax(False, 1), "softmax(a, axis=1)"),
    OperationRow("log_softmax", lambda a: sbp.log_softmax(a, axis=0), ((3, 4),),
                 lambda a: np.log(_softmax(a, -2)), _torch_softmax(True, 0), "log_softmax(a, axis=0)"),
    OperationRow("slice", lambda a: a[:, 1:3], ((3, 4),), lambda a: a[..., :, 1:3], lambda a: a[..., :, 1:3],
                 "a[:, 1:3]"),
    OperationRow("concat", lambda a, b: sbp.concat([a, b], axis=1), ((3, 2), (3, 1)),
                 lambda a, b: _side_by_side(np.concatenate, a, b), lambda a, b: _side_by_side(_torch_cat, a, b),
                 "concat(a, b, axis=1)"),
    OperationRow("max_over_rows", lambda a: sbp.max(a, axis=0), ((3, 4),), _numpy_extremum("max", 0),
                 _torch_extremum("max", 0), "max(a, 0)", convention="at a tie the first entry, as torch.max(x, dim)",
                 kink=lambda rng: _extremum_tie(rng, "max", 0), scalar_level=False),
    OperationRow("min_over_columns", lambda a: sbp.min(a, axis=1), ((3, 4),), _numpy_extremum("min", 1),
                 _torch_extremum("min", 1), "min(a, 1)", convention="at a tie the first entry, as torch.min(x, dim)",
                 kink=lambda rng: _extremum_tie(rng, "min", 1), scalar_level=False),
    OperationRow("max_of_all", lambda a: sbp.max(a), ((3, 4),), _numpy_extremum("max", None),
                 _torch_extremum("max", None), "max(a)", convention="at a tie shared equally, as torch.amax",
                 kink=lambda rng: _extremum_tie(rng, "max", None), scalar_level=False),
    OperationRow("maximum", sbp.maximum, ((3, 4), (1, 4)), np.maximum, _torch_maximum,
                 "maximum(a, b)", convention="at a tie half the gradient to each operand, as torch.maximum",
                 kink=lambda rng: _tie(rng), scalar_level=False),
]


#: Rows on tensors of rank 3 (an axis counted from the front of the unbatched tensor): such a network takes a batch
#: (run sample by sample) but no exact evaluation and no scalar level, and the table checks that each is refused.
RANK_3_ROWS: list[OperationRow] = [
    OperationRow("multiply_rank_3", lambda a, b: a * b, ((2, 3, 4), (3, 1)), lambda a, b: a * b,
                 lambda a, b: a * b, "a * b", scalar_level=False, tags=("rank 3",)),
    OperationRow("divide_rank_3", lambda a, b: a / b, ((2, 3, 4), (2, 1, 4)), lambda a, b: a / b,
                 lambda a, b: a / b, "a / b", domains=(_normal, _away_from_zero), scalar_level=False,
                 tags=("rank 3",)),
    OperationRow("add_rank_3", lambda a, b: a + b, ((1, 4), (2, 3, 4)), lambda a, b: a + b,
                 lambda a, b: a + b, "a + b", scalar_level=False, tags=("rank 3",)),
    OperationRow("elementwise_rank_3", lambda a: sbp.tanh(a) ** 2 / 2, ((2, 3, 4),), lambda a: np.tanh(a) ** 2 / 2,
                 _torch_tanh_squared, "tanh(a) ** 2 / 2", scalar_level=False, tags=("rank 3",)),
    OperationRow("sum_along_axis_1_rank_3", lambda a: sbp.total(a, axis=1), ((2, 3, 4),),
                 lambda a: a.sum(axis=1, keepdims=True), lambda a: a.sum(dim=1, keepdim=True), "sum(a, 1)",
                 scalar_level=False, tags=("rank 3",)),
    OperationRow("mean_of_all_rank_3", lambda a: sbp.mean(a), ((2, 3, 4),), lambda a: a.mean().reshape(1, 1),
                 lambda a: a.mean().reshape(1, 1), "mean(a)", scalar_level=False, tags=("rank 3",)),
    OperationRow("max_along_axis_0_rank_3", lambda a: sbp.max(a, axis=0), ((2, 3, 4),),
                 lambda a: a.max(axis=0, keepdims=True), _torch_max_along(0), "max(a, 0)",
                 convention="at a tie the first entry, as torch.max(x, dim)", scalar_level=False, tags=("rank 3",)),
    OperationRow("min_along_last_axis_rank_3", lambda a: sbp.min(a, axis=-1), ((2, 3, 4),),
                 lambda a: a.min(axis=-1, keepdims=True), lambda a: a.min(dim=-1, keepdim=True).values, "min(a, 2)",
                 convention="at a tie the first entry, as torch.min(x, dim)", scalar_level=False, tags=("rank 3",)),
    OperationRow("max_of_all_rank_3", lambda a: sbp.max(a), ((2, 3, 4),), lambda a: a.max().reshape(1, 1),
                 _torch_amax, "max(a)", convention="at a tie shared equally, as torch.amax", scalar_level=False,
                 tags=("rank 3",)),
    OperationRow("reshape_to_a_matrix", lambda a: a.reshape(6, -1), ((2, 3, 4),), lambda a: a.reshape(6, -1),
                 lambda a: a.reshape(6, -1), "reshape(a, 6, -1)", scalar_level=False, tags=("rank 3",)),
    OperationRow("reshape_to_rank_3", lambda a: a.reshape(2, -1, 4), ((6, 4),), lambda a: a.reshape(2, -1, 4),
                 lambda a: a.reshape(2, -1, 4), "reshape(a, 2, -1, 4)", scalar_level=False, tags=("rank 3",)),
    OperationRow("permute", lambda a: sbp.permute(a, (2, 0, 1)), ((2, 3, 4),), lambda a: a.transpose(2, 0, 1),
                 _torch_permute, "permute(a, 2, 0, 1)", scalar_level=False, tags=("rank 3",)),
    OperationRow("matmul_stack", lambda a, b: a @ b, ((2, 3, 4), (4, 5)), lambda a, b: a @ b,
                 lambda a, b: a @ b, "a @ b", scalar_level=False, tags=("rank 3",)),
    OperationRow("matmul_batched", lambda a, b: a @ b, ((2, 3, 4), (2, 4, 5)), lambda a, b: a @ b,
                 lambda a, b: a @ b, "a @ b", scalar_level=False, tags=("rank 3",)),
    OperationRow("matmul_batched_broadcast", lambda a, b: a @ b, ((1, 3, 4), (2, 4, 5)), lambda a, b: a @ b,
                 lambda a, b: a @ b, "a @ b", scalar_level=False, tags=("rank 3",)),
    OperationRow("matmul_matrix_by_stack", lambda a, b: a @ b, ((3, 4), (2, 4, 5)), lambda a, b: a @ b,
                 lambda a, b: a @ b, "a @ b", scalar_level=False, tags=("rank 3",)),
    OperationRow("softmax_along_last_axis_rank_3", lambda a: sbp.softmax(a, axis=-1), ((2, 3, 4),),
                 lambda a: _softmax(a, -1), _torch_softmax_dim(False, -1), "softmax(a, axis=-1)",
                 scalar_level=False, tags=("rank 3",)),
    OperationRow("log_softmax_along_axis_0_rank_3", lambda a: sbp.log_softmax(a, axis=0), ((2, 3, 4),),
                 lambda a: np.log(_softmax(a, -3)), _torch_softmax_dim(True, -3), "log_softmax(a, axis=0)",
                 scalar_level=False, tags=("rank 3",)),
]
RANK_3_ROWS += [
    OperationRow("slice_rank_3", lambda a: a[0:2, 1:3, 2], ((2, 3, 4),), lambda a: a[0:2, 1:3, 2:3],
                 lambda a: a[0:2, 1:3, 2:3], "a[0:2, 1:3, 2]", scalar_level=False, tags=("rank 3",)),
    OperationRow("concat_along_axis_1_rank_3", lambda a, b: sbp.concat([a, b], axis=1), ((2, 3, 4), (2, 1, 4)),
                 lambda a, b: np.concatenate([a, b], axis=1), lambda a, b: _torch_cat([a, b], 1),
                 "concat(a, b, axis=1)", scalar_level=False, tags=("rank 3",)),
    OperationRow("maximum_rank_3", sbp.maximum, ((2, 3, 4), (3, 1)), np.maximum, _torch_maximum, "maximum(a, b)",
                 convention="at a tie half the gradient to each operand, as torch.maximum",
                 kink=lambda rng: _tie_rank_3(rng), scalar_level=False, tags=("rank 3",)),
]
ROWS += RANK_3_ROWS


def _numpy_conv2d(stride: int, padding: int) -> Callable[..., np.ndarray]:
    """The sum over the window's offsets, by slicing the padded image: apart from the library's kernels."""
    def apply(x, w):
        x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(padding, padding)] * 2)
        kh, kw = w.shape[-2:]
        out_h, out_w = (x.shape[-2] - kh) // stride + 1, (x.shape[-1] - kw) // stride + 1
        return sum(np.einsum("fc,...chw->...fhw", w[:, :, i, j],
                             x[..., i:i + stride * (out_h - 1) + 1:stride, j:j + stride * (out_w - 1) + 1:stride])
                   for i in range(kh) for j in range(kw))
    return apply


def _torch_conv2d(stride: int, padding: int) -> Callable[..., Any]:
    def apply(x, w):
        import torch.nn.functional as F

        return F.conv2d(x[None], w, stride=stride, padding=padding)[0] if x.ndim == 3 else F.conv2d(
            x, w, stride=stride, padding=padding)
    return apply


def _numpy_pool(kind: str, k: int, stride: int) -> Callable[..., np.ndarray]:
    def apply(x):
        out_h, out_w = (x.shape[-2] - k) // stride + 1, (x.shape[-1] - k) // stride + 1
        parts = [x[..., i:i + stride * (out_h - 1) + 1:stride, j:j + stride * (out_w - 1) + 1:stride]
                 for i in range(k) for j in range(k)]
        return np.max(parts, axis=0) if kind == "max" else np.mean(parts, axis=0)
    return apply


def _torch_pool(kind: str, k: int, stride: int) -> Callable[..., Any]:
    def apply(x):
        import torch.nn.functional as F

        return (F.max_pool2d if kind == "max" else F.avg_pool2d)(x, k, stride)
    return apply


def _pool_tie(rng: np.random.Generator) -> tuple[dict, dict]:
    """3×3 windows at stride 2 over zeros and ones: a tied window sends all its gradient to its first 1 (or 0)."""
    a = rng.integers(0, 2, size=(2, 5, 5)).astype(float)
    weights = rng.normal(size=(2, 2, 2))
    expected = np.zeros_like(a)
    for c, row, column in np.ndindex(2, 2, 2):
        window = a[c, 2 * row:2 * row + 3, 2 * column:2 * column + 3]
        i, j = np.unravel_index(np.argmax(window), window.shape)  # NumPy's argmax: the first in row-major order
        expected[c, 2 * row + i, 2 * column + j] += weights[c, row, column]
    return {"a": a, "C": weights}, {"a": expected}


#: Convolution and pooling, on images of rank 3 and 4 (the samples written into the shape).
WINDOW_ROWS: list[OperationRow] = [
    OperationRow("conv2d", lambda a, b: sbp.conv2d(a, b), ((2, 5, 4), (3, 2, 3, 2)), _numpy_conv2d(1, 0),
                 _torch_conv2d(1, 0), "conv2d(a, b)", scalar_level=False, tags=("rank 3",)),
    OperationRow("conv2d_stride_2_padding_1", lambda a, b: sbp.conv2d(a, b, stride=2, padding=1),
                 ((2, 2, 5, 6), (3, 2, 3, 3)), _numpy_conv2d(2, 1), _torch_conv2d(2, 1),
                 "conv2d(a, b, stride=2, padding=1)", scalar_level=False, tags=("rank 3",)),
    OperationRow("max_pool2d_overlapping", lambda a: sbp.max_pool2d(a, 3, 2), ((2, 5, 5),), _numpy_pool("max", 3, 2),
                 _torch_pool("max", 3, 2), "max_pool2d(a, 3, stride=2)",
                 convention="at a tie the window's first maximal entry in row-major order, as F.max_pool2d",
                 kink=_pool_tie, scalar_level=False, tags=("rank 3",)),
    OperationRow("avg_pool2d", lambda a: sbp.avg_pool2d(a, 2), ((2, 2, 4, 6),), _numpy_pool("avg", 2, 2),
                 _torch_pool("avg", 2, 2), "avg_pool2d(a, 2)", scalar_level=False, tags=("rank 3",)),
]
ROWS += WINDOW_ROWS


def _tie(rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """a equal to b in every entry of its first two rows: each receives half of C there."""
    b = rng.normal(size=(1, 4))
    a = np.vstack([b, b, b - 1.0])
    weights = rng.normal(size=(3, 4))
    share = np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0))
    to_b = (weights * (1 - share)).sum(axis=0, keepdims=True)  # b is broadcast over the rows
    return {"a": a, "b": b, "C": weights}, {"a": weights * share, "b": to_b}


def _tie_rank_3(rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """a (2, 3, 4) equal to b (3, 1) broadcast over it in its first sample: half of C to each there."""
    b = rng.normal(size=(3, 1))
    a = np.stack([np.broadcast_to(b, (3, 4)), rng.normal(size=(3, 4))])
    weights = rng.normal(size=(2, 3, 4))
    share = np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0))
    to_b = (weights * (1 - share)).sum(axis=(0, 2))[:, None]  # b is broadcast over the samples and columns
    return {"a": a, "b": b, "C": weights}, {"a": weights * share, "b": to_b}


def _extremum_tie(rng: np.random.Generator, kind: str, axis: int | None) -> tuple[dict, dict]:
    """Entries tied for the extremum: along an axis the first takes the gradient, over all each a share."""
    a = rng.uniform(-1.0, 1.0, size=(3, 4))
    best = 2.0 if kind == "max" else -2.0
    weights = rng.normal(size=(1, 1) if axis is None else ((1, 4) if axis == 0 else (3, 1)))
    expected = np.zeros_like(a)
    if axis is None:
        a[0, 1] = a[2, 3] = best
        expected[0, 1] = expected[2, 3] = weights[0, 0] / 2
    elif axis == 0:
        a[0, :] = a[2, :] = best  # every column ties between its first and last row: the first row takes it
        expected[0, :] = weights[0, :]
    else:
        a[:, 1] = a[:, 3] = best  # every row ties between columns 2 and 4: column 2 takes it
        expected[:, 1] = weights[:, 0]
    return {"a": a, "C": weights}, {"a": expected}
