"""``sbp.max_pool2d(x, kernel_size, stride=None)`` and ``sbp.avg_pool2d``: pooling, as ``F.max_pool2d`` and
``F.avg_pool2d``.

x is one image (C, H, W) or a batch (N, C, H, W) written into the shape; each k×k window (a pair (kh, kw)
too), stepped by ``stride`` (the window's size by default, as PyTorch's), is replaced by its largest entry or
its mean: (…, H′, W′) with H′ = (H − kh) // s + 1, no padding. Max pooling routes each window's gradient to
the window's maximum; at a tie to the first maximal entry in row-major order, as PyTorch's max_pool2d does
(its index is the first the scan meets); average pooling spreads it equally over the window's kh·kw entries.
Overlapping windows (a stride smaller than the window) add up what they send to an entry. Everything about
the operation is here; the kernels are windows.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..errors import UnsupportedRankError
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, spec_function, takes_any_rank, vjp
from .nodes import Shape, Tensor
from .windows import Geometry, _pooled, _unpooled, check_image, output_size, pair

KINDS = ("max", "avg")


@dataclass(frozen=True, eq=False, repr=False)
class Pool2d(Tensor):
    """Each window of ``operand`` replaced by its largest entry (``kind="max"``) or mean (``"avg"``)."""

    operand: Tensor
    kind: str
    geometry: Geometry

    @cached_property
    def shape(self) -> Shape:
        return (*self.operand.shape[:-2], *self.geometry.output(*self.operand.shape[-2:]))

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.operand,)

    def __repr__(self) -> str:
        return f"{self.kind}_pool2d({self.operand!r}, {self.geometry.text()})"


@dataclass(frozen=True, eq=False, repr=False)
class Unpool2d(Tensor):
    """∂L/∂X of a pooling, the input's shape: ``upstream`` routed to each window's first maximum of ``operand``
    (max) or spread equally over each window (avg, where ``operand`` is None: the input's values are not read)."""

    upstream: Tensor
    operand: Tensor | None
    kind: str
    image_shape: Shape
    geometry: Geometry

    @cached_property
    def shape(self) -> Shape:
        return self.image_shape

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.upstream,) + (() if self.operand is None else (self.operand,))

    def __repr__(self) -> str:
        return f"unpool_{self.kind}({', '.join(repr(child) for child in self.children)}, {self.geometry.text()})"


# -- the constructors ------------------------------------------------------------------------------

def _pool(kind: str, x: Any, kernel_size: Any, stride: Any) -> Tensor:
    what = f"{kind}_pool2d"
    check_image(x, what)
    kernel = pair(kernel_size, f"{what}: kernel_size", least=1)
    steps = kernel if stride is None else pair(stride, f"{what}: stride", least=1)
    geometry = Geometry(kernel, steps, (0, 0))
    output_size(x.shape, geometry, what)
    return Pool2d(x, kind, geometry)


@spec_function("max_pool2d")
def max_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> Tensor:
    """Each window's largest entry, as F.max_pool2d (stride defaults to kernel_size)."""
    return _pool("max", x, kernel_size, stride)


@spec_function("avg_pool2d")
def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> Tensor:
    """Each window's mean, as F.avg_pool2d (stride defaults to kernel_size)."""
    return _pool("avg", x, kernel_size, stride)


# -- the chain rule ------------------------------------------------------------------------------

register("max_pool2d",
         r"max pooling routes each window's gradient to the window's maximum, the first in row-major order at a "
         r"tie (as PyTorch's max pooling does); an entry in overlapping windows receives the sum of what each sends it",
         r"최대 풀링: 각 창의 gradient를 그 창의 최댓값으로 보내고, 같은 값이 여럿이면 행 우선 순서로 첫 번째로 "
         r"보냄 (PyTorch의 최대 풀링과 같음); 겹치는 창들이 같은 원소로 보내는 gradient는 더함")
register("avg_pool2d",
         r"average pooling spreads each window's gradient equally over the window, $1/(k_h k_w)$ to each entry; "
         r"an entry in overlapping windows receives the sum of what each sends it",
         r"평균 풀링: 각 창의 gradient를 창의 원소들에 똑같이 나누어 각각 $1/(k_h k_w)$씩 보냄; 겹치는 창들이 같은 "
         r"원소로 보내는 gradient는 더함")


@vjp(Pool2d)
def _pool_vjp(op: Pool2d, g: Tensor) -> list[Pull]:
    read = op.operand if op.kind == "max" else None
    return [Pull(op.operand, Unpool2d(g, read, op.kind, op.operand.shape, op.geometry), f"{op.kind}_pool2d", None,
                 Product.OTHER)]


# -- the interpreters ----------------------------------------------------------------------------

@interprets("code", Pool2d)
def _pool_code(emitter: Any, node: Pool2d) -> Any:
    emitter.namespace["_pooled"] = _pooled
    kh, kw, sh, sw, _, _ = node.geometry.arguments()
    return emitter.call("_pooled", emitter.tensor(node.operand), emitter.constant(node.kind),
                        *(emitter.constant(n) for n in (kh, kw, sh, sw)))


@interprets("code", Unpool2d)
def _unpool_code(emitter: Any, node: Unpool2d) -> Any:
    emitter.namespace["_unpooled"] = _unpooled
    kh, kw, sh, sw, _, _ = node.geometry.arguments()
    operand = emitter.constant(None) if node.operand is None else emitter.tensor(node.operand)
    return emitter.call("_unpooled", emitter.tensor(node.upstream), operand, emitter.constant(node.kind),
                        *(emitter.constant(n) for n in (*node.image_shape[-2:], kh, kw, sh, sw)))


@interprets("explicit", Pool2d, Unpool2d)
def _explicit(closed: Any, node: Tensor) -> Any:
    raise UnsupportedRankError("closed forms are written for matrices; a pooling reads images of rank 3 or 4")


@interprets("count", Pool2d)
def _pool_count(counter: Any, node: Pool2d) -> int:
    kh, kw = node.geometry.kernel
    return counter.size(node.shape) * kh * kw + counter.count(node.operand)  # a comparison or addition per read


@interprets("count", Unpool2d)
def _unpool_count(counter: Any, node: Unpool2d) -> int:
    kh, kw = node.geometry.kernel
    routed = counter.size(node.upstream.shape) * kh * kw  # a choice or a share per entry of each window
    return routed + sum(counter.count(child) for child in node.children)


@interprets("latex", Pool2d)
def _pool_latex(printer: Any, node: Pool2d) -> Printed:
    return Printed(rf"\operatorname{{{node.kind}pool}}_{{{node.geometry.latex()}}}\left("
                   rf"{printer.print(node.operand).text}\right)", Precedence.ATOM)


@interprets("latex", Unpool2d)
def _unpool_latex(printer: Any, node: Unpool2d) -> Printed:
    operands = "; ".join(printer.print(child).text for child in node.children)
    kind = r"\max" if node.kind == "max" else r"\mathrm{avg}"
    return Printed(rf"\operatorname{{unpool}}^{{{kind}}}_{{{node.geometry.latex()}}}\left({operands}\right)",
                   Precedence.ATOM)


@interprets("dot", Pool2d)
def _pool_dot(writer: Any, node: Pool2d) -> str:
    return writer.apply(f"{node.kind} pool {node.geometry.text()}", [node.operand])


@interprets("dot", Unpool2d)
def _unpool_dot(writer: Any, node: Unpool2d) -> str:
    return writer.gradient_side(node)


@interprets("page_graph", Pool2d)
def _page_graph(section: Any, node: Pool2d) -> Any:
    return section.along(rf"\operatorname{{{node.kind}pool}}", [node.operand])


served_generically(("factor_text", "upstream"), Pool2d, Unpool2d)


takes_any_rank(Pool2d, Unpool2d)

__all__ = ["KINDS", "Pool2d", "Unpool2d", "avg_pool2d", "max_pool2d"]
