"""Vector/matrix expressions: the small tensor algebra a layer is written in.

SymPy's own matrix expressions cannot mix a 1×1 product with a scalar
(``W2 @ h1 + b2`` raises), cannot carry element-wise functions through
``lambdify`` and cannot differentiate a whole network (see docs/conventions.md).
So shaped quantities are :class:`Tensor` trees whose leaves name quantities of
the network, while scalars stay plain SymPy expressions.

Every tree is immutable and compares structurally, which is what lets the code
generator share repeated subexpressions.  Shapes are checked when a tree is
built, so a mismatch is reported where the user wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy as sp

from .errors import InvalidNumberError, InvalidOperandError, ShapeMismatchError, TensorInSymPyError

if TYPE_CHECKING:
    from .functions import Activation

Shape = tuple[int, int]
SCALAR_SHAPE: Shape = (1, 1)

#: N, the batch size, in batch-mode derivations (its assumptions keep it apart from a user's "N").
BATCH_SIZE = sp.Symbol("N", positive=True, integer=True)


def as_tensor(value: Any, beside: Tensor | None = None) -> Tensor:
    """Lift a Tensor, SymPy scalar or number into a Tensor (scalars become 1×1).

    ``beside`` is the other operand, named in the message when ``value`` does not fit.
    """
    if isinstance(value, Tensor):
        return value
    partner = "" if beside is None else f" {beside!r}"
    if isinstance(value, (sp.MatrixBase, sp.MatrixExpr)):
        raise InvalidOperandError(
            f"an explicit SymPy matrix cannot be combined with the symbackprop tensor{partner}: the matrix "
            f"(shape {value.shape}) is a quantity declared with elements=True or an sp.Matrix; declare every "
            "quantity with elements=True for a scalar-level network, or none of them"
        )
    if isinstance(value, (int, float, sp.Basic)) and not isinstance(value, bool):
        expr = sp.sympify(value)  # numbers and SymPy objects only: no text reaches sympify
        if not isinstance(expr, sp.Expr):
            raise InvalidOperandError(f"cannot use {value!r} in a tensor expression")
        return Scalar(expr)
    raise InvalidOperandError(f"cannot use {type(value).__name__} {value!r} in a tensor expression")


class Owner:
    """The network a handle belongs to: compared by identity, ignored by equality of trees."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<network {id(self):#x}>"


def _shape_text(shape: Shape) -> str:
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
        return transpose(self)

    def __add__(self, other: Any) -> Tensor:
        return add(self, as_tensor(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return add(as_tensor(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return add(self, scale(-1, as_tensor(other, self)))

    def __rsub__(self, other: Any) -> Tensor:
        return add(as_tensor(other, self), scale(-1, self))

    def __neg__(self) -> Tensor:
        return scale(-1, self)

    def __pos__(self) -> Tensor:
        return self

    def __mul__(self, other: Any) -> Tensor:
        return multiply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return multiply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            raise InvalidOperandError(
                f"cannot divide {self!r} by the tensor {other!r}: division by a tensor is not supported; "
                "multiply by a scalar instead"
            )
        divisor = as_tensor(other, self).expr
        if divisor == 0:
            raise InvalidNumberError(f"cannot divide {self!r} by zero")
        return scale(1 / divisor, self)

    def __rtruediv__(self, other: Any) -> Tensor:
        raise InvalidOperandError(
            f"cannot divide by the tensor {self!r}: division by a tensor is not supported; "
            "multiply by a scalar instead"
        )

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, as_tensor(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(as_tensor(other, self), self)

    def __pow__(self, exponent: Any) -> Tensor:
        return power(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        raise InvalidOperandError(
            f"cannot raise {base!r} to the power of the tensor {self!r}: an exponent must be a constant number"
        )

    def _sympy_(self) -> sp.Basic:
        # SymPy asks this when a tensor is handed to it (sp.exp(x)); its own message would
        # only say that sympify failed.
        raise TensorInSymPyError(
            f"the tensor {self!r} of shape {_shape_text(self.shape)} was given to SymPy, whose functions "
            f"take scalars; apply a function element by element with sbp.elementwise, as in "
            f"sbp.elementwise(sp.exp)({self!r}), or use an activation such as sbp.sigmoid({self!r})"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.shape}"


@dataclass(frozen=True, eq=True, repr=False)
class Ref(Tensor):
    """A named quantity of the network: an input, a parameter or a node."""

    name: str
    ref_shape: Shape
    owner: Owner | None = field(default=None, compare=False)

    @property
    def shape(self) -> Shape:
        return self.ref_shape

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=True, repr=False)
class Adjoint(Tensor):
    """∂L/∂name: the gradient of the loss with respect to a named quantity."""

    name: str
    ref_shape: Shape

    @property
    def shape(self) -> Shape:
        return self.ref_shape

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
class MatMul(Tensor):
    left: Tensor
    right: Tensor

    @property
    def shape(self) -> Shape:
        return (self.left.shape[0], self.right.shape[1])

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.left, self.right)

    def __repr__(self) -> str:
        return f"({self.left!r} @ {self.right!r})"


@dataclass(frozen=True, eq=True, repr=False)
class Add(Tensor):
    """Sum of two tensors; a 1×1 operand broadcasts over the other."""

    left: Tensor
    right: Tensor

    @property
    def shape(self) -> Shape:
        return self.right.shape if self.left.is_scalar else self.left.shape

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.left, self.right)

    def __repr__(self) -> str:
        return f"({self.left!r} + {self.right!r})"


@dataclass(frozen=True, eq=True, repr=False)
class Hadamard(Tensor):
    """Element-wise product ⊙; a 1×1 operand broadcasts over the other."""

    left: Tensor
    right: Tensor

    @property
    def shape(self) -> Shape:
        return self.right.shape if self.left.is_scalar else self.left.shape

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.left, self.right)

    def __repr__(self) -> str:
        return f"({self.left!r} * {self.right!r})"


@dataclass(frozen=True, eq=True, repr=False)
class Scale(Tensor):
    """A constant factor times a tensor (−x is Scale(−1, x))."""

    factor: sp.Expr
    operand: Tensor

    @property
    def shape(self) -> Shape:
        return self.operand.shape

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.operand,)

    def __repr__(self) -> str:
        return f"{self.factor}*{self.operand!r}"


@dataclass(frozen=True, eq=True, repr=False)
class Transpose(Tensor):
    operand: Tensor

    @property
    def shape(self) -> Shape:
        return (self.operand.shape[1], self.operand.shape[0])

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.operand,)

    def __repr__(self) -> str:
        return f"{self.operand!r}.T"


@dataclass(frozen=True, eq=True, repr=False)
class Elementwise(Tensor):
    """An activation applied to every element."""

    function: Activation
    operand: Tensor

    @property
    def shape(self) -> Shape:
        return self.operand.shape

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.operand,)

    def __repr__(self) -> str:
        return f"{self.function.name}({self.operand!r})"


@dataclass(frozen=True, eq=True, repr=False)
class Power(Tensor):
    """Element-wise power by a constant exponent."""

    operand: Tensor
    exponent: sp.Expr

    @property
    def shape(self) -> Shape:
        return self.operand.shape

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.operand,)

    def __repr__(self) -> str:
        return f"{self.operand!r}**{self.exponent}"


@dataclass(frozen=True, eq=True, repr=False)
class Sum(Tensor):
    """The sum of all elements: a 1×1 result."""

    operand: Tensor

    @property
    def shape(self) -> Shape:
        return SCALAR_SHAPE

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.operand,)

    def __repr__(self) -> str:
        return f"sum({self.operand!r})"


@dataclass(frozen=True, eq=True, repr=False)
class LossOp(Tensor):
    """A loss of a prediction against a target: a 1×1 result.

    ``kind`` names an entry of :data:`symbackprop.functions.LOSSES`.
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


# -- constructors: the only places shapes are checked and trivial trees folded --


def _require_broadcastable(op: str, left: Tensor, right: Tensor) -> None:
    if left.shape != right.shape and not (left.is_scalar or right.is_scalar):
        raise ShapeMismatchError(
            f"cannot {op} {left!r} of shape {_shape_text(left.shape)} and "
            f"{right!r} of shape {_shape_text(right.shape)}: shapes differ"
        )


def add(left: Tensor, right: Tensor) -> Tensor:
    _require_broadcastable("add", left, right)
    return Add(left, right)


def matmul(left: Tensor, right: Tensor) -> Tensor:
    if left.shape[1] != right.shape[0]:
        raise ShapeMismatchError(
            f"cannot multiply {left!r} of shape {_shape_text(left.shape)} by "
            f"{right!r} of shape {_shape_text(right.shape)}: inner dimensions "
            f"{left.shape[1]} and {right.shape[0]} differ"
        )
    return MatMul(left, right)


def hadamard(left: Tensor, right: Tensor) -> Tensor:
    _require_broadcastable("multiply element-wise", left, right)
    if isinstance(left, Scalar):
        return scale(left.expr, right)
    if isinstance(right, Scalar):
        return scale(right.expr, left)
    return Hadamard(left, right)


def multiply(left: Any, right: Any) -> Tensor:
    """``*``: a scalar factor scales; two tensors multiply element-wise, as in NumPy."""
    if not isinstance(left, Tensor):
        return scale(sp.sympify(left), right) if _is_number_like(left) else hadamard(as_tensor(left, right), right)
    if not isinstance(right, Tensor):
        return scale(sp.sympify(right), left) if _is_number_like(right) else hadamard(left, as_tensor(right, left))
    return hadamard(left, right)


def _is_number_like(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or (
        isinstance(value, sp.Basic) and value.is_number
    )


def scale(factor: Any, operand: Tensor) -> Tensor:
    factor = sp.sympify(factor)
    if factor == 1:
        return operand
    if isinstance(operand, Scale):
        return scale(factor * operand.factor, operand.operand)
    if isinstance(operand, Scalar):
        return Scalar(factor * operand.expr)
    return Scale(factor, operand)


def transpose(operand: Tensor) -> Tensor:
    if isinstance(operand, Transpose):
        return operand.operand
    if isinstance(operand, Scalar):
        return operand
    return Transpose(operand)


def power(operand: Tensor, exponent: Any) -> Tensor:
    exponent = sp.sympify(exponent) if isinstance(exponent, (int, float, sp.Basic)) else exponent
    if not (isinstance(exponent, sp.Expr) and exponent.is_number and exponent.is_real):
        kind = "a tensor" if isinstance(exponent, Tensor) else (
            "a symbol" if isinstance(exponent, sp.Expr) and exponent.free_symbols else "not a real number")
        raise InvalidOperandError(
            f"cannot raise the tensor {operand!r} to the power {exponent!r} ({kind}): a tensor's exponent "
            "must be a constant real number, such as 2 or 0.5"
        )
    if exponent == 1:
        return operand
    return Power(operand, exponent)


def total(operand: Tensor) -> Tensor:
    return operand if operand.is_scalar else Sum(operand)


def walk(tensor: Tensor):
    """Every node of a tree, parents before children (a node may repeat)."""
    stack = [tensor]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def free_scalars(tensor: Tensor) -> set[sp.Symbol]:
    """The SymPy symbols used by the scalar leaves of a tree."""
    found: set[sp.Symbol] = set()
    for node in walk(tensor):
        if isinstance(node, Scalar):
            found |= node.expr.free_symbols
        elif isinstance(node, Scale):
            found |= node.factor.free_symbols
    return found


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

    Its formula is an entry of :data:`symbackprop.rules.LOSS_GRADIENTS`.
    """

    kind: str
    wrt: str  # "prediction" or "target"
    prediction: Tensor
    target: Tensor

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


def as_scalar_expr(value: Tensor) -> sp.Expr | None:
    """The SymPy scalar a 1×1 tree stands for, where that is immediate; else None."""
    if isinstance(value, Scalar):
        return value.expr
    if isinstance(value, Adjoint) and value.is_scalar:
        return AdjointSymbol(value.name)
    if isinstance(value, Scale):
        inner = as_scalar_expr(value.operand)
        return None if inner is None else value.factor * inner
    return None
