"""``sbp.conv2d(x, w, b=None, stride=1, padding=0)``: a 2-D convolution, as ``torch.nn.functional.conv2d``.

x is one image (C, H, W) or a batch (N, C, H, W) written into the shape, w the filters (F, C, kh, kw) and b
a column (F, 1) of one bias per filter; the output is (F, H′, W′) or (N, F, H′, W′) with
H′ = (H + 2p − kh) // s + 1, a cross-correlation as PyTorch computes it. The chain rule is written in the
textbook's im2col form: with X_col = im2col(X), the (C·kh·kw, [N·]H′·W′) matrix whose columns are the
receptive fields, W_mat the filters as (F, C·kh·kw) rows and ∂L/∂Y_mat the upstream gradient as
(F, [N·]H′·W′), the layer is Y_mat = W_mat · X_col + b, so

    ∂L/∂W = reshape(∂L/∂Y_mat · X_colᵀ),  ∂L/∂X = col2im(W_matᵀ · ∂L/∂Y_mat),  ∂L/∂b = ∂L/∂Y_mat · 1,

each built from the matrix product, reshape and permute of the algebra and two node types of this module,
:class:`Im2Col` and its adjoint :class:`Col2Im`. Everything about the operation is here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sympy as sp

from ..errors import ShapeMismatchError, UnsupportedRankError
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, spec_function, takes_any_rank, vjp
from .algebra import as_tensor, matmul, transpose
from .base import shape_text
from .nodes import Ones, Shape, Tensor
from .permute import permute
from .reshape import reshape
from .windows import Geometry, _col2im, _conv2d, _im2col, check_image, output_size, pair


@dataclass(frozen=True, eq=False, repr=False)
class Conv2d(Tensor):
    """The filters ``weight`` slid over the image ``image``, plus ``bias`` (or None) at every position."""

    image: Tensor
    weight: Tensor
    bias: Tensor | None
    geometry: Geometry

    @cached_property
    def shape(self) -> Shape:
        height, width = self.geometry.output(*self.image.shape[-2:])
        return (*self.image.shape[:-3], self.weight.shape[0], height, width)

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.image, self.weight) + (() if self.bias is None else (self.bias,))

    def __repr__(self) -> str:
        bias = "" if self.bias is None else f", {self.bias!r}"
        return f"conv2d({self.image!r}, {self.weight!r}{bias}, {self.geometry.text()})"


@dataclass(frozen=True, eq=False, repr=False)
class Im2Col(Tensor):
    """X_col: the receptive fields of ``operand`` as the columns of a (C·kh·kw, [N·]H′·W′) matrix."""

    operand: Tensor
    geometry: Geometry

    @cached_property
    def shape(self) -> Shape:
        height, width = self.geometry.output(*self.operand.shape[-2:])
        kh, kw = self.geometry.kernel
        return (self.operand.shape[-3] * kh * kw, math.prod(self.operand.shape[:-3]) * height * width)

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.operand,)

    def __repr__(self) -> str:
        return f"im2col({self.operand!r}, {self.geometry.text()})"


@dataclass(frozen=True, eq=False, repr=False)
class Col2Im(Tensor):
    """The adjoint of im2col: each column of ``operand`` added back into its receptive field of an image of
    shape ``image_shape``, overlapping fields adding up."""

    operand: Tensor
    image_shape: Shape
    geometry: Geometry

    @cached_property
    def shape(self) -> Shape:
        return self.image_shape

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.operand,)

    def __repr__(self) -> str:
        return f"col2im({self.operand!r}, {shape_text(self.image_shape)}, {self.geometry.text()})"


# -- the constructor -------------------------------------------------------------------------------

@spec_function("conv2d")
def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0) -> Tensor:
    """The filters w (F, C, kh, kw) slid over x (C, H, W) or (N, C, H, W), plus b (F, 1), as F.conv2d."""
    check_image(x, "conv2d")
    if not isinstance(w, Tensor) or w.rank != 4:
        shown = f"{w!r} of shape {shape_text(w.shape)}" if isinstance(w, Tensor) else repr(w)
        raise ShapeMismatchError(f"conv2d: the filters {shown} must be a tensor (F, C, kh, kw)")
    filters, channels, kh, kw = w.shape
    if channels != x.shape[-3]:
        raise ShapeMismatchError(
            f"conv2d: the input {x!r} of shape {shape_text(x.shape)} has {x.shape[-3]} channels but the filters "
            f"{w!r} of shape {shape_text(w.shape)} read {channels} (w is (F, C, kh, kw))")
    if isinstance(b, sp.Basic) and filters == 1:  # one filter's bias is a 1×1 quantity: the network's scalar
        b = as_tensor(b)
    if b is not None and (not isinstance(b, Tensor) or b.shape != (filters, 1)):
        shown = f"{b!r} of shape {shape_text(b.shape)}" if isinstance(b, Tensor) else repr(b)
        raise ShapeMismatchError(f"conv2d: the bias {shown} must be a column ({filters}, 1), one per filter")
    geometry = Geometry((kh, kw), pair(stride, "conv2d: stride", least=1),
                        pair(padding, "conv2d: padding", least=0))
    output_size(x.shape, geometry, "conv2d")
    return Conv2d(x, w, b, geometry)


# -- the chain rule ------------------------------------------------------------------------------

register("conv2d_weight",
         r"a convolution is, in the im2col form, the product $Y_{\mathrm{mat}} = W_{\mathrm{mat}} X_{\mathrm{col}}$ "
         r"of the filters as rows and the receptive fields as columns: the filters' gradient is "
         r"$\frac{\partial L}{\partial Y_{\mathrm{mat}}} X_{\mathrm{col}}^{\top}$, reshaped to the filters' shape",
         r"합성곱은 im2col 형태로 필터를 행으로, 수용 영역을 열로 놓은 곱 "
         r"$Y_{\mathrm{mat}} = W_{\mathrm{mat}} X_{\mathrm{col}}$: 필터의 gradient는 "
         r"$\frac{\partial L}{\partial Y_{\mathrm{mat}}} X_{\mathrm{col}}^{\top}$을 필터의 모양으로 되돌린 것")
register("conv2d_input",
         r"a convolution in the im2col form $Y_{\mathrm{mat}} = W_{\mathrm{mat}} X_{\mathrm{col}}$ sends its input "
         r"$\operatorname{col2im}(W_{\mathrm{mat}}^{\top} \frac{\partial L}{\partial Y_{\mathrm{mat}}})$: each "
         r"column goes back to the receptive field it was read from, overlapping fields adding up",
         r"im2col 형태의 합성곱 $Y_{\mathrm{mat}} = W_{\mathrm{mat}} X_{\mathrm{col}}$: 입력의 gradient는 "
         r"$\operatorname{col2im}(W_{\mathrm{mat}}^{\top} \frac{\partial L}{\partial Y_{\mathrm{mat}}})$, 각 열을 "
         r"읽어 온 수용 영역으로 되돌리고 겹치는 곳은 더함")
register("conv2d_bias",
         r"a convolution's bias is added at every position: its gradient is the sum of the upstream gradient "
         r"over the positions, $\frac{\partial L}{\partial Y_{\mathrm{mat}}} \mathbf{1}$ in the im2col form",
         r"합성곱의 bias는 모든 위치에 더해짐: gradient는 위치 전체에 걸친 upstream gradient의 합, im2col 형태로 "
         r"$\frac{\partial L}{\partial Y_{\mathrm{mat}}} \mathbf{1}$")


def _as_rows(g: Tensor, filters: int) -> Tensor:
    """∂L/∂Y as (F, [N·]H′·W′), one row per filter, the columns in X_col's order."""
    if g.rank == 4:  # the filters' axis first, so that each filter's gradients over the batch form one row
        g = permute(g, (1, 0, 2, 3))
    return reshape(g, filters, -1)


@vjp(Conv2d)
def _conv2d_vjp(op: Conv2d, g: Tensor) -> list[Pull]:
    filters = op.weight.shape[0]
    upstream = _as_rows(g, filters)
    fields = transpose(Im2Col(op.image, op.geometry))
    filter_rows = reshape(op.weight, filters, -1)
    pulls = [Pull(op.image, Col2Im(matmul(transpose(filter_rows), upstream), op.image.shape, op.geometry),
                  "conv2d_input", transpose(filter_rows), Product.OTHER),
             Pull(op.weight, reshape(matmul(upstream, fields), *op.weight.shape), "conv2d_weight", fields,
                  Product.OTHER)]
    if op.bias is not None:
        ones = Ones((upstream.shape[1], 1))
        pulls.append(Pull(op.bias, matmul(upstream, ones), "conv2d_bias", ones, Product.RIGHT))
    return pulls


# -- the interpreters (the kernels are windows.py's) --------------------------------------------------

@interprets("code", Conv2d)
def _conv2d_code(emitter: Any, node: Conv2d) -> Any:
    emitter.namespace["_conv2d"] = _conv2d
    bias = emitter.constant(None) if node.bias is None else emitter.tensor(node.bias)
    return emitter.call("_conv2d", emitter.tensor(node.image), emitter.tensor(node.weight), bias,
                        *(emitter.constant(n) for n in (*node.geometry.stride, *node.geometry.padding)))


@interprets("code", Im2Col)
def _im2col_code(emitter: Any, node: Im2Col) -> Any:
    emitter.namespace["_im2col"] = _im2col
    return emitter.call("_im2col", emitter.tensor(node.operand),
                        *(emitter.constant(n) for n in node.geometry.arguments()))


@interprets("code", Col2Im)
def _col2im_code(emitter: Any, node: Col2Im) -> Any:
    emitter.namespace["_col2im"] = _col2im
    return emitter.call("_col2im", emitter.tensor(node.operand), emitter.constant(tuple(node.image_shape)),
                        *(emitter.constant(n) for n in node.geometry.arguments()))


@interprets("explicit", Conv2d, Im2Col, Col2Im)
def _explicit(closed: Any, node: Tensor) -> Any:
    raise UnsupportedRankError("closed forms are written for matrices; a convolution reads images of rank 3 or 4")


@interprets("count", Conv2d)
def _conv2d_count(counter: Any, node: Conv2d) -> int:
    reads = math.prod(node.weight.shape[1:])  # a multiplication and an addition per entry of a window
    arithmetic = counter.size(node.shape) * (2 * reads - 1 + (node.bias is not None))
    return arithmetic + sum(counter.count(child) for child in node.children)


@interprets("count", Im2Col)
def _im2col_count(counter: Any, node: Im2Col) -> int:
    return counter.count(node.operand)  # laying the fields out is no arithmetic


@interprets("count", Col2Im)
def _col2im_count(counter: Any, node: Col2Im) -> int:
    return counter.size(node.operand.shape) + counter.count(node.operand)  # an addition per entry put back


@interprets("latex", Conv2d)
def _conv2d_latex(printer: Any, node: Conv2d) -> Printed:
    operands = ", ".join(printer.print(child).text for child in node.children)
    return Printed(rf"\operatorname{{conv2d}}_{{{node.geometry.latex()}}}\left({operands}\right)", Precedence.ATOM)


@interprets("latex", Im2Col)
def _im2col_latex(printer: Any, node: Im2Col) -> Printed:
    return Printed(rf"\operatorname{{im2col}}_{{{node.geometry.latex()}}}\left({printer.print(node.operand).text}"
                   r"\right)", Precedence.ATOM)


@interprets("latex", Col2Im)
def _col2im_latex(printer: Any, node: Col2Im) -> Printed:
    return Printed(rf"\operatorname{{col2im}}_{{{node.geometry.latex()}}}\left({printer.print(node.operand).text}"
                   r"\right)", Precedence.ATOM)


@interprets("dot", Conv2d)
def _conv2d_dot(writer: Any, node: Conv2d) -> str:
    return writer.apply(f"conv2d {node.geometry.text()}", list(node.children), ordered=True)


@interprets("dot", Im2Col, Col2Im)
def _gradient_side_dot(writer: Any, node: Tensor) -> str:
    return writer.gradient_side(node)


@interprets("page_graph", Conv2d)
def _page_graph(section: Any, node: Conv2d) -> Any:
    return section.along(r"\operatorname{conv2d}", list(node.children))


served_generically(("factor_text", "upstream"), Conv2d, Im2Col, Col2Im)


takes_any_rank(Conv2d, Im2Col, Col2Im)


__all__ = ["Col2Im", "Conv2d", "Im2Col", "conv2d"]
