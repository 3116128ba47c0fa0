"""The base of every node of the tensor algebra: operators, structural equality, cached shape and hash."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from types import ModuleType
from typing import Any, ClassVar

import sympy as sp

from ..errors import InvalidOperandError

#: A tensor's lengths, one per axis: (rows, columns) for a matrix, a vector being a column (n, 1);
#: tensors of rank 3 or more, such as a batch of sequences of embeddings (n, block, d), have more.
Shape = tuple[int, ...]
SCALAR_SHAPE: Shape = (1, 1)


def _algebra() -> ModuleType:
    from . import algebra  # the constructors build node types defined on this base: looked up when first used

    return algebra


def _division() -> ModuleType:
    from . import division  # a node type on this base, with its constructor: looked up when first used

    return division


def shape_text(shape: Shape) -> str:
    return f"({', '.join(str(d) for d in shape)})"


def broadcast_lengths(*shapes: Shape) -> Shape:
    """The shape NumPy broadcasts ``shapes`` to, aligned from the last axis; the caller has checked that every
    axis agrees or has length 1."""
    rank = max(len(shape) for shape in shapes)
    padded = [(1,) * (rank - len(shape)) + tuple(shape) for shape in shapes]
    return tuple(max(lengths) for lengths in zip(*padded))


_COMPARED_FIELDS: dict[type, tuple[str, ...]] = {}


def _compared_fields(node_type: type) -> tuple[str, ...]:
    names = _COMPARED_FIELDS.get(node_type)
    if names is None:
        names = _COMPARED_FIELDS[node_type] = tuple(f.name for f in fields(node_type) if f.compare)
    return names


@dataclass(frozen=True, eq=False)
class Tensor:
    """Base of every node of the tensor algebra; operators build new trees.

    Trees compare structurally.  A node's shape and hash are computed once, when it is built, from
    its operands' (already computed) ones, and equality walks both trees with an explicit stack:
    so neither grows the call stack with the depth of a tree, however long a chain of operations.
    """

    # Above SymPy matrices' 10.01, so that sp.Matrix(...) + x reaches the tensor's refusal.
    _op_priority = 20.0
    #: LaTeX: as a factor of ⊙ the node is parenthesised (a matrix product, a quotient, a sum along an axis).
    grouped_in_hadamard: ClassVar[bool] = False
    #: LaTeX: the node is an element-wise product, which a product around it parenthesises.
    hadamard_product: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self.shape  # noqa: B018 - cached now, while every operand's shape is cached already
        try:
            hash(self)
        except TypeError:  # an unhashable option: such a node is never a key, and says so if it is used as one
            pass

    @cached_property
    def shape(self) -> Shape:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def compared(self) -> tuple[Any, ...]:
        """The values of the fields equality compares, in declaration order."""
        return tuple(getattr(self, name) for name in _compared_fields(type(self)))

    def __hash__(self) -> int:
        cached = self.__dict__.get("_hash")
        if cached is None:  # from the type and the compared fields; an operand's hash is cached already
            cached = self.__dict__["_hash"] = hash((type(self).__name__, self.compared()))
        return cached

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tensor):
            return NotImplemented
        pending: list[tuple[Any, Any]] = [(self, other)]
        while pending:
            a, b = pending.pop()
            if a is b:
                continue
            if isinstance(a, Tensor):
                known = a.__dict__.get("_hash"), b.__dict__.get("_hash")  # None for a node that cannot be hashed
                if type(a) is not type(b) or None not in known and known[0] != known[1]:
                    return False
                pending.extend(zip(a.compared(), b.compared()))
            elif isinstance(a, tuple) and isinstance(b, tuple):
                if len(a) != len(b):
                    return False
                pending.extend(zip(a, b))
            elif isinstance(b, Tensor) or a != b:
                return False
        return True

    def __getstate__(self) -> dict[str, Any]:
        # hashes of strings differ from process to process: a copy computes its own
        return {key: value for key, value in self.__dict__.items() if key != "_hash"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def children(self) -> tuple[Tensor, ...]:
        return ()

    @property
    def is_scalar(self) -> bool:
        return self.shape == SCALAR_SHAPE

    @property
    def rank(self) -> int:
        """The number of axes: 2 for a matrix, a vector (a column) and a scalar (1×1); 3 or more beyond."""
        return len(self.shape)

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's spelling
        return _algebra().transpose(self)

    def reshape(self, *shape: Any) -> Tensor:
        """The same entries in row-major order under another shape, one length may be -1 (``torch.reshape``)."""
        from .reshape import reshape  # a node type on this base: looked up when first used

        return reshape(self, *shape)

    def permute(self, *axes: Any) -> Tensor:
        """The axes reordered, as ``torch.permute``: axis i of the result is axis ``axes[i]`` of this tensor."""
        from .permute import permute

        return permute(self, *axes)

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
        from .hadamard import multiply  # a node type on this base: looked up when first used

        return multiply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        from .hadamard import multiply

        return multiply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _division().divide(self, _algebra().as_tensor(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return _division().divide(_algebra().as_tensor(other, self), self)

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
