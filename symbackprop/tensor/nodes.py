"""The node types of the tensor algebra: immutable trees that compare structurally.

Operators on a :class:`Tensor` build new trees through :mod:`.algebra`, where
shapes are checked and trivial trees folded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp

from ..errors import InvalidOperandError

if TYPE_CHECKING:
    from ..ops.record import Activation
    from .algebra import Owner

Shape = tuple[int, int]
SCALAR_SHAPE: Shape = (1, 1)

#: N, the batch size, in batch-mode derivations (its assumptions keep it apart from a user's "N").
BATCH_SIZE = sp.Symbol("N", positive=True, integer=True)


def _algebra() -> ModuleType:
    from . import algebra  # the constructors build the nodes below, so they are looked up when first used

    return algebra


def shape_text(shape: Shape) -> str:
    return f"({shape[0]}, {shape[1]})"


@dataclass(frozen=True, eq=True)
class Tensor:
    """Base of every node of the tensor algebra; operators build new trees."""

    # Above SymPy matrices' 10.01, so that sp.Matrix(...) + x reaches the tensor's refusal.
    _op_priority = 20.0

    @property
    def shape(self) -> Shape:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @property
    def children(self) -> tuple[Tensor, ...]:
        return ()

    @property
    def is_scalar(self) -> bool:
        return self.shape == SCALAR_SHAPE

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's spelling
        return _algebra().transpose(self)

    def __add__(self, other: Any) -> Tensor:
        return _algebra().add(self, _algebra().as_tensor(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return _algebra().add(_algebra().as_tensor(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return _algebra().add(self, _algebra().scale(-1, _algebra().as_tensor(other, self)))

    def __rsub__(self, other: Any) -> Tensor:
        return _algebra().add(_algebra().as_tensor(other, self), _algebra().scale(-1, self))

    def __neg__(self) -> Tensor:
        return _algebra().scale(-1, self)

    def __pos__(self) -> Tensor:
        return self

    def __mul__(self, other: Any) -> Tensor:
        return _algebra().multiply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _algebra().multiply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _algebra().divide(self, _algebra().as_tensor(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return _algebra().divide(_algebra().as_tensor(other, self), self)

    def __matmul__(self, other: Any) -> Tensor:
        return _algebra().matmul_of(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _algebra().matmul_of(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return _algebra().power(self, exponent)

    def __getitem__(self, key: Any) -> Tensor:
        from . import indexing  # slices are node types built on this one, so they are looked up when used

        return indexing.select(self, key)

    # Indexing alone would make a tensor iterable row by row through the old sequence protocol.
    __iter__ = None

    def __rpow__(self, base: Any) -> Tensor:
        raise InvalidOperandError(
            f"cannot raise {base!r} to the power of the tensor {self!r}: an exponent must be a constant number"
        )

    def _sympy_(self) -> sp.Basic:
        # SymPy asks this when a tensor is handed to it (sp.exp(x)); its own message would
        # only say that sympify failed.
        from .sympy_guard import tensor_in_sympy  # it reads the operation records, which import this module

        raise tensor_in_sympy(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.shape}"


@dataclass(frozen=True, eq=True, repr=False)
class Named(Tensor):
    """A leaf that stands for a named quantity (or its gradient) of a declared shape."""

    name: str
    ref_shape: Shape

    @property
    def shape(self) -> Shape:
        return self.ref_shape


@dataclass(frozen=True, eq=True, repr=False)
class Ref(Named):
    """A named quantity of the network: an input, a parameter or a node."""

    owner: Owner | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=True, repr=False)
class Adjoint(Named):
    """∂L/∂name: the gradient of the loss with respect to a named quantity."""

    def __repr__(self) -> str:
        return f"dL/d{self.name}"


@dataclass(frozen=True, eq=True, repr=False)
class Scalar(Tensor):
    """A SymPy scalar expression used inside a tensor expression (broadcasts)."""

    expr: sp.Expr

    @property
    def shape(self) -> Shape:
        return SCALAR_SHAPE

    def __repr__(self) -> str:
        return str(self.expr)


@dataclass(frozen=True, eq=True, repr=False)
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


@dataclass(frozen=True, eq=True, repr=False)
class MatMul(Binary):
    symbol: ClassVar[str] = "@"

    @property
    def shape(self) -> Shape:
        return (self.left.shape[0], self.right.shape[1])


@dataclass(frozen=True, eq=True, repr=False)
class Broadcasting(Binary):
    """An element-wise operation of two tensors; a scalar, a row or a column broadcasts as in NumPy."""

    @property
    def shape(self) -> Shape:
        (a, b), (c, d) = self.left.shape, self.right.shape
        return (max(a, c), max(b, d))  # the constructors admit only lengths that agree or are 1


@dataclass(frozen=True, eq=True, repr=False)
class Add(Broadcasting):
    """Sum of two tensors."""

    symbol: ClassVar[str] = "+"


@dataclass(frozen=True, eq=True, repr=False)
class Hadamard(Broadcasting):
    """Element-wise product ⊙."""

    symbol: ClassVar[str] = "*"


class Unary(Tensor):
    """A node of one tensor operand, ``operand`` (each subclass places it among its fields)."""

    operand: Tensor

    @property
    def shape(self) -> Shape:
        return self.operand.shape

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=True, repr=False)
class Scale(Unary):
    """A constant factor times a tensor (−x is Scale(−1, x))."""

    factor: sp.Expr
    operand: Tensor

    def __repr__(self) -> str:
        return f"{self.factor}*{self.operand!r}"


@dataclass(frozen=True, eq=True, repr=False)
class Transpose(Unary):
    operand: Tensor

    @property
    def shape(self) -> Shape:
        return (self.operand.shape[1], self.operand.shape[0])

    def __repr__(self) -> str:
        return f"{self.operand!r}.T"


@dataclass(frozen=True, eq=True, repr=False)
class Elementwise(Unary):
    """An activation applied to every element."""

    function: Activation
    operand: Tensor

    def __repr__(self) -> str:
        return f"{self.function.name}({self.operand!r})"


@dataclass(frozen=True, eq=True, repr=False)
class Power(Unary):
    """Element-wise power by a constant exponent."""

    operand: Tensor
    exponent: sp.Expr

    def __repr__(self) -> str:
        return f"{self.operand!r}**{self.exponent}"


@dataclass(frozen=True, eq=True, repr=False)
class Sum(Unary):
    """The sum of all elements: a 1×1 result."""

    operand: Tensor

    @property
    def shape(self) -> Shape:
        return SCALAR_SHAPE

    def __repr__(self) -> str:
        return f"sum({self.operand!r})"


@dataclass(frozen=True, eq=True, repr=False)
class LossOp(Tensor):
    """A loss of a prediction against a target: a 1×1 result.

    ``kind`` names a loss record of :data:`symbackprop.ops.LOSS_OPS`.
    """

    kind: str
    prediction: Tensor
    target: Tensor
    options: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def shape(self) -> Shape:
        return SCALAR_SHAPE

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.prediction, self.target)

    def __repr__(self) -> str:
        return f"{self.kind}({self.prediction!r}, {self.target!r})"


@dataclass(frozen=True, eq=True, repr=False)
class Ones(Tensor):
    """A matrix of ones: what a 1×1 gradient becomes when it flows back into a sum."""

    ones_shape: Shape

    @property
    def shape(self) -> Shape:
        return self.ones_shape

    def __repr__(self) -> str:
        return f"ones{self.ones_shape}"


@dataclass(frozen=True, eq=True, repr=False)
class LossGradient(Tensor):
    """∂loss/∂prediction or ∂loss/∂target of a :class:`LossOp`, per unit upstream gradient.

    Its formula is its loss record's ``prediction`` or ``target`` gradient.
    """

    kind: str
    wrt: str  # "prediction" or "target"
    prediction: Tensor
    target: Tensor
    options: tuple[tuple[str, Any], ...] = field(default=())  # its loss node's

    @property
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
