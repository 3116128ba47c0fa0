"""Network: named inputs, parameters, intermediate nodes and the loss.

A user writes each node as an expression of earlier quantities; the network
records it under its name, checks names and shapes, and hands back an object
to build the next node with:

* a scalar is a SymPy ``Symbol`` (so ``sp.sin(z)`` and ``sp.Rational(1, 2) * (h - y)**2`` work);
* a shaped quantity is a :class:`~symbackprop.tensor.Ref` (``W1 @ x + b1``);
* a quantity declared with ``elements=True`` is an explicit SymPy ``Matrix`` of
  scalar symbols, one per element: the scalar level, where every weight is its
  own symbol and every neuron its own node.

Definitions can only refer to quantities that already exist, so the order of
definition is a topological order of the graph.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from . import tensor as T
from .errors import (
    DuplicateNameError,
    ForeignQuantityError,
    InvalidOperandError,
    NetworkError,
    NonScalarLossError,
    UnknownNameError,
    UnsupportedRankError,
)
from .evaluable import check_expression, check_numbers, refuse_kinks
from .ops.scalar_extrema import scalar_extrema
from .ops.stable import relu_for_max
from .parsing import parse_assignment_name
from .registry import handles_any_rank
from .rules import tensor_ops  # noqa: F401 - the core types' ranks the checks read, whatever else is loaded

INPUT, PARAM, NODE, LOSS = "input", "param", "node", "loss"
_ARGUMENT = sp.Symbol("t", real=True)


check_name = parse_assignment_name


def normalize_shape(shape: Any) -> tuple[int, ...] | None:
    """None for a scalar, else (rows, columns); (n,) and n mean a column vector; three lengths or more
    are a tensor of that rank, (n, block, d)."""
    if shape is None or (isinstance(shape, (tuple, list)) and len(shape) == 0):
        return None
    if _dimension(shape) is not None:
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise NetworkError(f"invalid shape {shape!r}: use (rows,), (rows, columns) or more lengths, (n, block, d)")
    dims = tuple(_dimension(d) for d in shape) + ((1,) if len(shape) == 1 else ())
    if not all(d is not None and d > 0 for d in dims):
        raise NetworkError(f"invalid shape {shape!r}: dimensions must be positive integers")
    return None if dims == (1, 1) else dims


def _dimension(value: Any) -> int | None:
    """Any integer, NumPy's included (rng.integers returns them); never True/False or 2.0."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


@dataclass
class Quantity:
    """One named quantity.  ``shape`` is None for a scalar.

    ``definition`` is a SymPy scalar expression or a Tensor (nodes and the loss).
    A quantity declared element by element lists its element names in
    ``elements``; each element is a scalar quantity whose ``group`` and
    ``index`` say where it sits.
    """

    name: str
    kind: str
    shape: tuple[int, int] | None
    definition: Any = None
    elements: tuple[tuple[str, ...], ...] | None = None
    group: str | None = None
    index: tuple[int, int] | None = None
    symbol: sp.Symbol | None = None
    dependencies: tuple[str, ...] = field(default=())

    @property
    def is_scalar(self) -> bool:
        return self.shape is None

    @property
    def matrix_shape(self) -> tuple[int, int]:
        return self.shape or T.SCALAR_SHAPE

    @property
    def size(self) -> int:
        return math.prod(self.matrix_shape)


class Network:
    """A computation from inputs and parameters through named nodes to a scalar loss."""

    def __init__(self) -> None:
        self._quantities: dict[str, Quantity] = {}
        self._by_symbol: dict[sp.Symbol, str] = {}
        self._selections: dict[tuple, list[Quantity]] = {}
        self.loss_name: str | None = None
        # Marks this network's tensor handles, so that one of another network is recognised
        # even when its name and shape match (handles compare by name and shape).
        self._owner = T.Owner()

    # -- declaring --------------------------------------------------------------------

    def input(self, name: str, shape: Any = None, *, elements: bool = False) -> Any:
        """A value supplied at evaluation time (may carry a leading batch axis)."""
        return self._leaf(name, INPUT, shape, elements)

    def param(self, name: str, shape: Any = None, *, elements: bool = False) -> Any:
        """A trainable parameter: the loss is differentiated with respect to it."""
        return self._leaf(name, PARAM, shape, elements)

    def node(self, name: str, value: Any) -> Any:
        """A named intermediate, stored by the forward pass."""
        return self._define(name, NODE, value)

    def loss(self, name: str, value: Any) -> Any:
        """The scalar loss; defined last."""
        if self.loss_name is not None:
            raise DuplicateNameError(f"the network already has a loss, {self.loss_name!r}")
        if isinstance(value, sp.MatrixBase):
            if value.shape != (1, 1):
                raise NonScalarLossError(f"loss {name!r} has shape {value.shape}; a loss must be a scalar")
            value = value[0, 0]
        if isinstance(value, T.Tensor) and not value.is_scalar:
            raise NonScalarLossError(
                f"loss {name!r} has shape {value.shape}; a loss must be a scalar "
                "(sum it with sbp.total or use a loss such as sbp.half_squared_error)"
            )
        handle = self._define(name, LOSS, value)
        self.loss_name = name
        return handle

    # -- looking up -------------------------------------------------------------------

    def __getitem__(self, name: str) -> Quantity:
        try:
            return self._quantities[name]
        except KeyError:
            raise UnknownNameError(f"unknown name {name!r}; the network has {self._known()}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._quantities

    def __iter__(self) -> Iterator[Quantity]:
        return iter(self._quantities.values())

    def __len__(self) -> int:
        return len(self._quantities)

    def __repr__(self) -> str:
        def shape(q: Quantity) -> str:
            return "" if q.is_scalar else f"[{'x'.join(str(d) for d in q.shape)}]"

        parts = [f"{q.name}{shape(q)} = {q.definition!r}" if q.definition is not None
                 else f"{q.kind} {q.name}{shape(q)}" for q in self.quantities()]
        return "Network(" + "; ".join(parts) + ")"

    def quantities(self, *kinds: str, elements: bool = False) -> list[Quantity]:
        """Quantities in definition order; element quantities only when asked."""
        key = (kinds, elements)
        if key not in self._selections:  # evaluation asks for the same lists on every call
            self._selections[key] = [
                q for q in self._quantities.values()
                if (not kinds or q.kind in kinds) and (elements or q.group is None)
            ]
        return list(self._selections[key])

    @property
    def inputs(self) -> list[Quantity]:
        return self.quantities(INPUT)

    @property
    def params(self) -> list[Quantity]:
        return self.quantities(PARAM)

    @property
    def nodes(self) -> list[Quantity]:
        return self.quantities(NODE, LOSS)

    def graph_order(self) -> list[Quantity]:
        """The quantities the derivation walks: scalars and unsplit tensors, in definition order."""
        return [q for q in self._quantities.values() if q.elements is None]

    def name_of(self, symbol: sp.Symbol) -> str:
        return self._by_symbol[symbol]

    def leaf_name(self, node: Any) -> str | None:
        """The quantity a leaf of a definition stands for (a Ref, a wrapped symbol or a symbol), else None."""
        if isinstance(node, T.Ref):
            return node.name
        if isinstance(node, T.Scalar):
            node = node.expr
        return self._by_symbol.get(node) if isinstance(node, sp.Symbol) else None

    def handle(self, name: str) -> Any:
        """The object that stands for a quantity in expressions."""
        quantity = self[name]
        if quantity.elements is not None:
            return sp.ImmutableMatrix([[self[e].symbol for e in row] for row in quantity.elements])
        if quantity.is_scalar:
            return quantity.symbol
        return T.Ref(name, quantity.shape, owner=self._owner)

    def _known(self) -> str:
        names = [q.name for q in self.quantities()]
        return ", ".join(names) if names else "no quantities yet"

    # -- building ---------------------------------------------------------------------

    def _claim(self, name: str) -> str:
        check_name(name)
        if name in self._quantities:
            raise DuplicateNameError(f"name {name!r} is already defined (as {self._quantities[name].kind})")
        if self.loss_name is not None:
            raise NetworkError(f"cannot define {name!r} after the loss {self.loss_name!r}")
        return name

    def _add(self, quantity: Quantity) -> None:
        self._quantities[quantity.name] = quantity
        self._selections.clear()
        if quantity.symbol is not None:
            self._by_symbol[quantity.symbol] = quantity.name

    def _leaf(self, name: str, kind: str, shape: Any, elements: bool) -> Any:
        self._claim(name)
        dims = normalize_shape(shape)
        if elements and dims is not None and len(dims) > 2:
            raise UnsupportedRankError(f"{name!r} of shape {dims}: elements=True names the entries of a vector "
                                       "or a matrix; a tensor of rank 3 or more is declared without it")
        if elements and dims is not None:
            rows, columns = dims
            names = tuple(
                tuple(_element_name(name, i, j, dims) for j in range(columns)) for i in range(rows)
            )
            for row in names:
                for element in row:
                    self._claim(element)
            self._add(Quantity(name, kind, dims, elements=names))
            for i, row in enumerate(names):
                for j, element in enumerate(row):
                    self._add(Quantity(element, kind, None, group=name, index=(i, j),
                                       symbol=sp.Symbol(element, real=True)))
            return self.handle(name)
        symbol = sp.Symbol(name, real=True) if dims is None else None
        self._add(Quantity(name, kind, dims, symbol=symbol))
        return self.handle(name)

    def _define(self, name: str, kind: str, value: Any) -> Any:
        self._claim(name)
        if isinstance(value, sp.MatrixBase) and value.shape != (1, 1):
            return self._define_elements(name, kind, value)
        if isinstance(value, sp.MatrixBase):
            value = value[0, 0]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = sp.sympify(value)
        if isinstance(value, str):
            raise InvalidOperandError(
                f"node {name!r}: got the text {value!r}; pass a SymPy expression built from the network's "
                "handles (x = net.input('x'); net.node('h', x + 1)), or write the network as a spec file "
                "to give expressions as text (see docs/spec-format.md)"
            )
        if isinstance(value, T.Tensor):
            dependencies = self._check_tensor(name, value)
            shape = None if value.is_scalar else value.shape
        elif isinstance(value, sp.Expr):
            # max(a, 0) takes ReLU′(0) = 0 here as in an element-wise function; any other max or min of
            # scalars shares its gradient at a tie
            value = scalar_extrema(relu_for_max(value))
            dependencies = self._check_scalar(name, value)
            shape = None
        else:
            raise InvalidOperandError(
                f"node {name!r}: expected a SymPy expression or a tensor expression, "
                f"got {type(value).__name__}"
            )
        symbol = sp.Symbol(name, real=True) if shape is None else None
        self._add(Quantity(name, kind, shape, definition=value, symbol=symbol, dependencies=dependencies))
        return self.handle(name)

    def _define_elements(self, name: str, kind: str, value: sp.MatrixBase) -> Any:
        rows, columns = value.shape
        dims = (rows, columns)
        value = value.applyfunc(lambda e: scalar_extrema(relu_for_max(sp.sympify(e))))
        names = tuple(tuple(_element_name(name, i, j, dims) for j in range(columns)) for i in range(rows))
        checked = [[self._check_scalar(names[i][j], value[i, j]) for j in range(columns)] for i in range(rows)]
        for row in names:
            for element in row:
                self._claim(element)
        self._add(Quantity(name, kind, dims, elements=names))
        for i in range(rows):
            for j in range(columns):
                element = names[i][j]
                self._add(Quantity(element, kind, None, definition=sp.sympify(value[i, j]),
                                   group=name, index=(i, j), symbol=sp.Symbol(element, real=True),
                                   dependencies=checked[i][j]))
        return self.handle(name)

    # -- validation -------------------------------------------------------------------

    def _check_scalar(self, name: str, expr: Any) -> tuple[str, ...]:
        expr = sp.sympify(expr) if isinstance(expr, (int, float)) else expr
        if not isinstance(expr, sp.Expr):
            raise InvalidOperandError(
                f"node {name!r}: expected a scalar SymPy expression, got {type(expr).__name__}"
            )
        if expr.has(sp.MatrixSymbol):
            raise InvalidOperandError(
                f"node {name!r}: SymPy matrix symbols are not supported; declare shapes with net.input/param"
            )
        refuse_kinks(name, expr)
        check_expression(expr, f"node {name!r}")
        check_numbers(name, expr)
        return self._dependencies(name, expr.free_symbols)

    def _check_tensor(self, name: str, value: T.Tensor) -> tuple[str, ...]:
        names: list[str] = []
        for node in T.walk(value):
            if isinstance(node, T.Ref):
                quantity = self._quantities.get(node.name)
                if quantity is None or quantity.shape != node.shape or quantity.elements is not None:
                    raise UnknownNameError(
                        f"node {name!r} uses {node.name!r}, which is not a quantity of this network"
                    )
                if node.owner is not None and node.owner is not self._owner:
                    raise ForeignQuantityError(
                        f"node {name!r} uses {node.name!r} of another network; use the handle this "
                        f"network returned for {node.name!r} (net[{node.name!r}] is its quantity, "
                        f"net.handle({node.name!r}) its handle)"
                    )
                names.append(node.name)
            if not handles_any_rank(type(node)) and any(t.rank > 2 for t in (node, *node.children)):
                raise UnsupportedRankError(_rank_refusal(name, node))
            if isinstance(node, T.Adjoint):
                raise NetworkError(f"node {name!r}: gradients cannot appear in a forward definition")
            elif isinstance(node, T.Scalar):
                self._check_scalar(name, node.expr)
            elif isinstance(node, T.Elementwise):  # an Activation made directly, not by sbp.elementwise
                check_expression(node.function.at(_ARGUMENT), f"node {name!r}")
                check_numbers(name, node.function.at(_ARGUMENT))
            elif isinstance(node, T.Scale):
                refuse_kinks(name, sp.sympify(node.factor))
                check_numbers(name, node.factor)
            elif isinstance(node, T.Power):
                check_numbers(name, node.exponent)
        names.extend(self._dependencies(name, T.free_scalars(value)))
        return tuple(dict.fromkeys(names))

    def _dependencies(self, name: str, symbols: set) -> tuple[str, ...]:
        found = []
        for symbol in sorted(symbols, key=str):
            owner = self._by_symbol.get(symbol)
            if owner is None:
                raise UnknownNameError(
                    f"node {name!r} uses {symbol}, which is not an input, param or node of this "
                    f"network (known: {self._known()})"
                )
            found.append(owner)
        return tuple(found)


def _rank_refusal(name: str, node: T.Tensor) -> str:
    high = next(t for t in (node, *node.children) if t.rank > 2)
    return (f"node {name!r}: {type(node).__name__} takes vectors and matrices only, and {high!r:.40} has shape "
            f"{T.shape_text(high.shape)}; at rank 3 or more the network takes element-wise operations and "
            "sbp.maximum, sums, means, max and min along any axis, softmax, reshape, permute, slices x[a:b, :, k], "
            "concat, C[idx], matmul of stacks, conv2d, pooling, and mse, ½‖h − y‖² and cross-entropy; "
            "reshape to a matrix first for the rest")


def _element_name(name: str, i: int, j: int, shape: tuple[int, int]) -> str:
    """z1_2 for the second element of a column vector, W1_2_1 for a matrix entry (1-based)."""
    return f"{name}_{i + 1}" if shape[1] == 1 else f"{name}_{i + 1}_{j + 1}"
