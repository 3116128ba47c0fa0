"""Sliding windows over the last two axes of an image: the geometry convolution and pooling share, and kernels.

A window of kh × kw entries slides over a (…, H, W) image in steps of ``stride``, over the image padded with
``padding`` zeros on each side, as ``torch.nn.functional.conv2d`` and ``max_pool2d`` slide theirs; there are
H′ = (H + 2p − kh) // s + 1 positions down and W′ across. The kernels read the windows with two products by
0/1 selection matrices, R (kh, H′, H) with R[i, a, h] = 1 where h = s·a + i − p and its counterpart for the
columns, rather than with strides into memory: a product is what NumPy, JAX and PyTorch all compute and
differentiate alike, so one kernel, ported, serves every backend, and the selection drops the padding's
zeros by itself. Their adjoint, the same two products transposed, adds each window back where it came from.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidOperandError, ShapeMismatchError
from .base import shape_text


@dataclass(frozen=True)
class Geometry:
    """A window's height and width, the step between windows and the zeros padded on each side, per axis."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]

    def output(self, height: int, width: int) -> tuple[int, int]:
        return tuple((length + 2 * p - k) // s + 1 for length, k, s, p in  # type: ignore[return-value]
                     zip((height, width), self.kernel, self.stride, self.padding))

    @property
    def is_plain(self) -> bool:
        """Steps of one and no padding: the documents leave both out."""
        return self.stride == (1, 1) and self.padding == (0, 0)

    def arguments(self) -> tuple[int, ...]:
        """kh, kw, sh, sw, ph, pw: the numbers a kernel call is written with."""
        return (*self.kernel, *self.stride, *self.padding)

    def latex(self) -> str:
        """The window as a subscript: 3×3, then the stride and padding where they are not 1 and 0."""
        text = rf"{self.kernel[0]} \times {self.kernel[1]}"
        if self.stride != (1, 1):
            text += r",\, s=" + _pair_text(self.stride)
        if self.padding != (0, 0):
            text += r",\, p=" + _pair_text(self.padding)
        return text

    def text(self) -> str:
        return self.latex().replace(r" \times ", "×").replace(r",\, ", " ")


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def pair(value: Any, what: str, *, least: int) -> tuple[int, int]:
    """An int or a pair of ints (height, width), each at least ``least``; refused by name otherwise."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    try:
        if len(values) != 2 or any(isinstance(v, bool) for v in values):
            raise TypeError
        numbers = tuple(operator.index(v) for v in values)
    except TypeError:
        raise InvalidOperandError(f"{what} must be an integer or a pair of integers (height, width), "
                                  f"got {value!r}") from None
    if min(numbers) < least:
        kind = "positive" if least == 1 else "zero or more"
        raise InvalidOperandError(f"{what} must be {kind}, got {value!r}")
    return numbers  # type: ignore[return-value]


def check_image(x: Any, what: str) -> None:
    """An image is a (C, H, W) tensor, or (N, C, H, W) with the samples written into its shape."""
    from .nodes import Tensor  # the node base, imported where used so the kernels load without the algebra

    if not isinstance(x, Tensor):
        raise InvalidOperandError(f"{what} takes a tensor of the network as its input, not {type(x).__name__}")
    if x.rank not in (3, 4):
        raise ShapeMismatchError(f"{what}: the input {x!r} has shape {shape_text(x.shape)}; it must be (C, H, W) "
                                 "or (N, C, H, W), the samples written into the shape")


def output_size(x_shape: tuple[int, ...], geometry: Geometry, what: str) -> tuple[int, int]:
    """H′ and W′, refusing a window larger than the padded image."""
    height, width = x_shape[-2:]
    for axis, length, k, p in zip(("height", "width"), (height, width), geometry.kernel, geometry.padding):
        if k > length + 2 * p:
            raise ShapeMismatchError(
                f"{what}: the window's {axis} {k} is larger than the input's {axis} {length}"
                + (f" padded with {p} on each side ({length + 2 * p})" if p else "")
                + f" (input shape {shape_text(x_shape)})")
    return geometry.output(height, width)


# -- the NumPy kernels (ported as they are to JAX and PyTorch: products, reshapes and comparisons only) --------

def _selection(length_in, length_out, k, s, p):
    """R (k, length_out, length_in): R[i, a, h] = 1 where the window at a reads entry h at offset i."""
    read = s * np.arange(length_out).reshape(1, -1, 1) + np.arange(k).reshape(-1, 1, 1) - p
    return np.asarray(np.arange(length_in).reshape(1, 1, -1) == read, dtype=float)


def _patches(x, kh, kw, sh, sw, ph, pw):
    """(kh, kw, …, H′, W′): entry [i, j, …, a, b] is x[…, sh·a + i − ph, sw·b + j − pw], zero in the padding."""
    height, width = x.shape[-2:]
    out_h, out_w = (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    lead = (1,) * (np.ndim(x) - 2)
    rows = _selection(height, out_h, kh, sh, ph).reshape((kh,) + lead + (out_h, height))
    columns = np.swapaxes(_selection(width, out_w, kw, sw, pw), -1, -2)
    by_rows = np.matmul(rows, x)  # (kh, …, H′, W)
    return np.matmul(by_rows[:, None], columns.reshape((1, kw) + lead + (width, out_w)))


def _unpatch(patches, height, width, sh, sw, ph, pw):
    """The adjoint of :func:`_patches`: each window's entries added back where they were read, (…, H, W)."""
    kh, kw = patches.shape[:2]
    out_h, out_w = patches.shape[-2:]
    lead = (1,) * (np.ndim(patches) - 4)
    columns = _selection(width, out_w, kw, sw, pw).reshape((1, kw) + lead + (out_w, width))
    by_columns = np.sum(np.matmul(patches, columns), axis=1)  # (kh, …, H′, W)
    rows = np.swapaxes(_selection(height, out_h, kh, sh, ph), -1, -2).reshape((kh,) + lead + (height, out_h))
    return np.sum(np.matmul(rows, by_columns), axis=0)


def _column_order(rank):
    """How (kh, kw, [N,] C, H′, W′) patches are laid out as columns: rows (C, kh, kw), columns ([N,] H′, W′)."""
    return (2, 0, 1, 3, 4) if rank == 3 else (3, 0, 1, 2, 4, 5)


def _im2col(x, kh, kw, sh, sw, ph, pw):
    """X_col (C·kh·kw, [N·]H′·W′): column [n, a, b] is the receptive field of output position (a, b) of sample n."""
    patches = np.transpose(_patches(x, kh, kw, sh, sw, ph, pw), _column_order(np.ndim(x)))
    return patches.reshape(patches.shape[0] * kh * kw, -1)


def _col2im(columns, shape, kh, kw, sh, sw, ph, pw):
    """The adjoint of :func:`_im2col`: each column added back into the receptive field it came from, ``shape``."""
    height, width = shape[-2:]
    out_h, out_w = (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    laid = columns.reshape((shape[-3], kh, kw) + tuple(shape[:-3]) + (out_h, out_w))
    order = _column_order(len(shape))
    undone = tuple(order.index(axis) for axis in range(len(order)))
    return _unpatch(np.transpose(laid, undone), height, width, sh, sw, ph, pw)


def _conv2d(x, w, b, sh, sw, ph, pw):
    """Y = W_mat · X_col, laid out as (F, H′, W′) or (N, F, H′, W′), plus the bias (F, 1) at every position."""
    filters, _, kh, kw = w.shape
    height, width = x.shape[-2:]
    out_h, out_w = (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    product = np.matmul(w.reshape(filters, -1), _im2col(x, kh, kw, sh, sw, ph, pw))
    if np.ndim(x) == 3:
        y = product.reshape(filters, out_h, out_w)
    else:
        y = np.transpose(product.reshape(filters, x.shape[0], out_h, out_w), (1, 0, 2, 3))
    return y if b is None else y + b.reshape(filters, 1, 1)


def _pooled(x, kind, kh, kw, sh, sw):
    """Each window's largest entry (``kind="max"``) or mean (``"avg"``), (…, H′, W′)."""
    patches = _patches(x, kh, kw, sh, sw, 0, 0)
    if kind == "max":
        return np.max(patches, axis=(0, 1))
    return np.sum(patches, axis=(0, 1)) / (kh * kw)


def _first_maximum(patches):
    """1 at each window's first largest entry in row-major order, as F.max_pool2d chooses it; 0 elsewhere."""
    kh, kw = patches.shape[:2]
    flat = patches.reshape((kh * kw,) + tuple(patches.shape[2:]))
    hit = np.asarray(flat == np.max(flat, axis=0, keepdims=True), dtype=float)
    first = hit * np.asarray(np.cumsum(hit, axis=0) == 1, dtype=float)  # the first, without assigning
    return first.reshape(patches.shape)


def _unpooled(g, x, kind, height, width, kh, kw, sh, sw):
    """∂L/∂X of a pooling: each window's gradient routed to its first maximum (max, which reads the input x)
    or spread equally over the window (avg, which needs no x: None)."""
    if kind == "max":
        routed = _first_maximum(_patches(x, kh, kw, sh, sw, 0, 0)) * g[None, None]
    else:
        routed = np.broadcast_to(g / (kh * kw), (kh, kw) + tuple(g.shape))
    return _unpatch(routed, height, width, sh, sw, 0, 0)


__all__ = ["Geometry", "check_image", "output_size", "pair"]
