"""The node types of the tensor algebra: immutable trees that compare structurally.

Operators on a :class:`Tensor` build new trees through :mod:`.algebra`, where
shapes are checked and trivial trees folded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp

from .base import SCALAR_SHAPE, Shape, Tensor, broadcast_lengths

if TYPE_CHECKING:
    from ..ops.record import Activation
    from .algebra import Owner


#: N, the batch size, in batch-mode derivations (its assumptions keep it apart from a user's "N").
BATCH_SIZE = sp.Symbol("N", positive=True, integer=True)


@dataclass(frozen=True, eq=False, repr=False)
class Named(Tensor):
    """A leaf that stands for a named quantity (or its gradient) of a declared shape."""

    name: str
    ref_shape: Shape

    @cached_property
    def shape(self) -> Shape:
        return self.ref_shape


@dataclass(frozen=True, eq=False, repr=False)
class Ref(Named):
    """A named quantity of the network: an input, a parameter or a node."""

    owner: Owner | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False, repr=False)
class Adjoint(Named):
    """∂L/∂name: the gradient of the loss with respect to a named quantity."""

    def __repr__(self) -> str:
        return f"dL/d{self.name}"


@dataclass(frozen=True, eq=False, repr=False)
class Scalar(Tensor):
    """A SymPy scalar expression used inside a tensor expression (broadcasts)."""

    expr: sp.Expr

    @cached_property
    def shape(self) -> Shape:
        return SCALAR_SHAPE

    def __repr__(self) -> str:
        return str(self.expr)


@dataclass(frozen=True, eq=False, repr=False)
class Binary(Tensor):
    """A node of two tensor operands, written ``(left symbol right)``."""

    symbol: ClassVar[str] = "?"
    left: Tensor
    right: Tensor

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.left, self.right)

    def __repr__(self) -> str:
        return f"({self.left!r} {self.symbol} {self.right!r})"


@dataclass(frozen=True, eq=False, repr=False)
class MatMul(Binary):
    symbol: ClassVar[str] = "@"
    grouped_in_hadamard: ClassVar[bool] = True

    @cached_property
    def shape(self) -> Shape:
        # a stack of matrices (…, m, k) times one matrix (k, n) is the stack of products, as torch.matmul
        if self.right.rank == 2:
            return (*self.left.shape[:-1], self.right.shape[-1])
        # two stacks, matrix by matrix, their leading axes broadcast: (…, m, k) @ (…, k, n) is (…, m, n)
        leading = broadcast_lengths(self.left.shape[:-2], self.right.shape[:-2])
        return (*leading, self.left.shape[-2], self.right.shape[-1])


@dataclass(frozen=True, eq=False, repr=False)
class Broadcasting(Binary):
    """An element-wise operation of two tensors; a scalar, a row or a column broadcasts as in NumPy."""

    @cached_property
    def shape(self) -> Shape:
        if self.left.rank == self.right.rank == 2:  # the common case, kept cheap
            (a, b), (c, d) = self.left.shape, self.right.shape
            return (max(a, c), max(b, d))  # the constructors admit only lengths that agree or are 1
        return broadcast_lengths(self.left.shape, self.right.shape)


@dataclass(frozen=True, eq=False, repr=False)
class Add(Broadcasting):
    """Sum of two tensors."""

    symbol: ClassVar[str] = "+"


@dataclass(frozen=True, eq=False, repr=False)
class AddAll(Tensor):
    """The sum of several tensors kept flat, ``a + b + c + …``: one node however many terms.

    The gradient of a quantity used at every step of a sequence has one term per step; as a chain
    of two-term sums it would nest as deep as the sequence is long.
    """

    terms: tuple[Tensor, ...]

    @cached_property
    def shape(self) -> Shape:
        # the constructor admits only lengths that agree or are 1
        return broadcast_lengths(*(t.shape for t in self.terms))

    @property
    def children(self) -> tuple[Tensor, ...]:
        return self.terms

    def __repr__(self) -> str:
        return f"({' + '.join(repr(t) for t in self.terms)})"


class Unary(Tensor):
    """A node of one tensor operand, ``operand`` (each subclass places it among its fields)."""

    operand: Tensor

    @cached_property
    def shape(self) -> Shape:
        return self.operand.shape

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False, repr=False)
class Scale(Unary):
    """A constant factor times a tensor (−x is Scale(−1, x))."""

    factor: sp.Expr
    operand: Tensor

    def __repr__(self) -> str:
        return f"{self.factor}*{self.operand!r}"


@dataclass(frozen=True, eq=False, repr=False)
class Transpose(Unary):
    operand: Tensor

    @cached_property
    def shape(self) -> Shape:
        return (self.operand.shape[1], self.operand.shape[0])

    def __repr__(self) -> str:
        return f"{self.operand!r}.T"


@dataclass(frozen=True, eq=False, repr=False)
class Elementwise(Unary):
    """An activation applied to every element."""

    function: Activation
    operand: Tensor

    def __repr__(self) -> str:
        return f"{self.function.name}({self.operand!r})"


@dataclass(frozen=True, eq=False, repr=False)
class Power(Unary):
    """Element-wise power by a constant exponent."""

    operand: Tensor
    exponent: sp.Expr

    def __repr__(self) -> str:
        return f"{self.operand!r}**{self.exponent}"


@dataclass(frozen=True, eq=False, repr=False)
class Sum(Unary):
    """The sum of all elements: a 1×1 result."""

    operand: Tensor

    @cached_property
    def shape(self) -> Shape:
        return SCALAR_SHAPE

    def __repr__(self) -> str:
        return f"sum({self.operand!r})"


@dataclass(frozen=True, eq=False, repr=False)
class LossNode(Tensor):
    """A loss of a prediction against a target: a 1×1 result.

    ``kind`` names a loss record of :data:`symbackprop.ops.LOSS_OPS`.
    """

    kind: str
    prediction: Tensor
    target: Tensor
    options: tuple[tuple[str, Any], ...] = field(default=())

    @cached_property
    def shape(self) -> Shape:
        return SCALAR_SHAPE

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.prediction, self.target)

    def __repr__(self) -> str:
        return f"{self.kind}({self.prediction!r}, {self.target!r})"


@dataclass(frozen=True, eq=False, repr=False)
class Ones(Tensor):
    """A matrix of ones: what a 1×1 gradient becomes when it flows back into a sum."""

    ones_shape: Shape

    @cached_property
    def shape(self) -> Shape:
        return self.ones_shape

    def __repr__(self) -> str:
        return f"ones{self.ones_shape}"


@dataclass(frozen=True, eq=False, repr=False)
class LossGradient(Tensor):
    """∂loss/∂prediction or ∂loss/∂target of a :class:`LossNode`, per unit upstream gradient.

    Its formula is its loss record's ``prediction`` or ``target`` gradient.
    """

    kind: str
    wrt: str  # "prediction" or "target"
    prediction: Tensor
    target: Tensor
    options: tuple[tuple[str, Any], ...] = field(default=())  # its loss node's

    @cached_property
    def shape(self) -> Shape:
        return self.prediction.shape

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.prediction, self.target)

    def __repr__(self) -> str:
        return f"d{self.kind}/d{self.wrt}({self.prediction!r}, {self.target!r})"


class AdjointSymbol(sp.Symbol):
    """∂L/∂name as a SymPy scalar: the named upstream gradient of a scalar quantity."""

    def __new__(cls, of: str):
        return super().__new__(cls, f"dL/d{of}", real=True)

    @property
    def of(self) -> str:
        return self.name[len("dL/d"):]

    def __getnewargs_ex__(self):
        return (self.of,), {}
