"""Indexing by an integer input: an embedding's rows ``C[idx]`` and one entry per row ``x[range(n), y]``.

``C[idx]`` with ``idx`` an (n, 1) column of integers picks rows of C: the (n, d) matrix whose row i is
row idxᵢ of C, as ``F.embedding``; with ``idx`` an (n, k) matrix of integers it is the (n, k, d) tensor
whose entry [i, j] is row idx[i, j] of C (each sample's k tokens embedded, as ``F.embedding``).
``x[range(n), y]`` with ``y`` an (n, 1) column of integers picks x[i, yᵢ] from each row, an (n, 1)
column, as ``x[torch.arange(n), y]``. The gradient goes back to the rows (entries) that were picked: a
scatter-add, written with the one-hot matrix E of the indices (E[i, k] = 1 where idxᵢ = k) —
∂L/∂C = Eᵀ·∂L/∂emb, so a row picked twice adds up both gradients. The indices are an input: they get
no gradient, and values that are not integers from 0 to the bound
are refused when the values are read. Everything about the operation is here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from ..errors import InvalidIndexError
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, takes_any_rank, vjp
from .algebra import matmul, transpose, walk
from .axes import broadcast_to
from .base import shape_text
from .hadamard import hadamard
from .nodes import Ref, Shape, Tensor
from .reshape import reshape


@dataclass(frozen=True, eq=False, repr=False)
class OneHot(Tensor):
    """E with E[i, k] = 1 where the index in row i is k: (n, classes), from an (n, 1) column of integers."""

    index: Tensor
    classes: int

    @cached_property
    def shape(self) -> Shape:
        if is_column(self.index):
            return (self.index.shape[0], self.classes)
        return (*self.index.shape, self.classes)  # one one-hot row per index, a rank more than the indices

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.index,)

    def __repr__(self) -> str:
        return f"onehot({self.index!r}, {self.classes})"


@dataclass(frozen=True, eq=False, repr=False)
class GatherRows(Tensor):
    """Rows of ``table`` chosen by the integers of ``index``: row i is ``table[index[i]]``."""

    grouped_in_hadamard: ClassVar[bool] = False
    table: Tensor
    index: Tensor

    @cached_property
    def shape(self) -> Shape:
        if is_column(self.index):
            return (self.index.shape[0], self.table.shape[1])
        return (*self.index.shape, self.table.shape[1])  # a row of the table in place of each index

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.table, self.index)

    def __repr__(self) -> str:
        return f"{self.table!r}[{self.index!r}]"


@dataclass(frozen=True, eq=False, repr=False)
class PickColumns(Tensor):
    """One entry per row of ``operand``: row i's entry in column ``index[i]``, an (n, 1) column."""

    grouped_in_hadamard: ClassVar[bool] = False
    operand: Tensor
    index: Tensor

    @cached_property
    def shape(self) -> Shape:
        return (self.operand.shape[0], 1)

    @property
    def children(self) -> tuple[Tensor, ...]:
        return (self.operand, self.index)

    def __repr__(self) -> str:
        return f"{self.operand!r}[range({self.operand.shape[0]}), {self.index!r}]"


def is_column(index: Tensor) -> bool:
    """Whether the indices are an (n, 1) column (one row of the table each), not a matrix or more of them."""
    return index.rank == 2 and index.shape[1] == 1


# -- constructors -----------------------------------------------------------------------------

def is_index_key(key: Any) -> bool:
    """Whether ``operand[key]`` indexes by a tensor of integers (rows, or one column per row)."""
    if isinstance(key, Tensor):
        return True
    return isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], Tensor)


def indexed(operand: Tensor, key: Any) -> Tensor:
    """``C[idx]`` (rows picked by an input of integers) or ``x[range(n), y]`` (one entry per row)."""
    what = repr(operand)
    if isinstance(key, Tensor):
        if operand.rank != 2:
            raise InvalidIndexError(f"{what} of shape {shape_text(operand.shape)} is indexed by {key!r}: the rows "
                                    "picked by indices are the rows of a matrix (a table of embeddings)")
        return GatherRows(operand, _index_input(key, what))
    rows, index = key
    n = operand.shape[0]
    if not (isinstance(rows, range) and (rows.start, rows.stop, rows.step) == (0, n, 1)):
        raise InvalidIndexError(
            f"cannot index {what} of shape {shape_text(operand.shape)} with ({rows!r}, {index!r}): one entry "
            f"per row is picked as {what}[range({n}), y], with y an ({n}, 1) column of integers"
        )
    index = _index_column(index, what)
    if operand.rank != 2:
        raise InvalidIndexError(f"{what}[range({n}), {index!r}]: one entry per row is picked from a matrix, and "
                                f"{what} has shape {shape_text(operand.shape)}")
    if index.shape[0] != n:
        raise InvalidIndexError(
            f"{what}[range({n}), {index!r}]: the indices are a column of {index.shape[0]} rows, "
            f"one for each of the {n} rows of {what}"
        )
    return PickColumns(operand, index)


def _index_input(index: Tensor, what: str) -> Tensor:
    if not isinstance(index, Ref):
        raise InvalidIndexError(
            f"{what} is indexed by {index!r}: the indices must be an input holding integers "
            "(net.input(\"idx\", (n, 1))), not a computed value"
        )
    return index


def _index_column(index: Tensor, what: str) -> Tensor:
    index = _index_input(index, what)
    if not is_column(index):
        raise InvalidIndexError(
            f"{what} is indexed by {index!r} of shape {shape_text(index.shape)}: one entry per row takes an "
            "(n, 1) column of indices, one for each row"
        )
    return index


def check_indices(network: Any, arrays: dict[str, np.ndarray]) -> None:
    """Refuse indices that are not integers from 0 to the bound, naming the input, the value and the bound."""
    for name, bound, what in index_inputs(network):
        if name not in arrays or indices_fit(arrays[name], bound):
            continue
        for value in np.asarray(arrays[name], dtype=object).flat:
            if not is_index(value, bound):
                raise InvalidIndexError(
                    f"value of {name!r}: {value} is not an index of {what}, which takes integers from 0 to "
                    f"{bound - 1}")


def indices_fit(values: Any, bound: int) -> bool:
    """Whether an array of integers or floats holds only integers from 0 to ``bound`` − 1, in a few whole-array
    passes (False for any other kind of array: each of its values is then judged by :func:`is_index`)."""
    array = values if isinstance(values, np.ndarray) else np.asarray(values)
    if array.size == 0:
        return True
    if array.dtype.kind in "iu" and array.dtype.isnative:  # read as unsigned, a negative index is larger than any
        return bool(np.maximum.reduce(array.view(f"u{array.dtype.itemsize}"), None) < bound)  # bound: one pass
    if array.dtype.kind in "iu":
        return bool(array.min() >= 0 and array.max() < bound)
    if array.dtype.kind == "f":
        return bool(array.min() >= 0 and array.max() < bound and np.array_equal(array, np.floor(array)))
    return False


def is_index(value: Any, bound: int) -> bool:
    """Whether a number given for indices is an integer from 0 to ``bound`` − 1 (a float or an exact number)."""
    number = value if isinstance(value, float) else sp.sympify(value)
    integer = number.is_integer() if isinstance(number, float) else bool(number.is_integer)
    return integer and 0 <= number < bound


def index_inputs(network: Any) -> list[tuple[str, int, str]]:
    """The inputs used as indices in ``network``: (name, number of choices, what they index)."""
    found = []
    for quantity in network.quantities():
        if isinstance(quantity.definition, Tensor):
            for node in walk(quantity.definition):
                if isinstance(node, GatherRows):
                    found.append((node.index.name, node.table.shape[0], f"the rows of {node.table!r}"))
                elif isinstance(node, PickColumns):
                    found.append((node.index.name, node.operand.shape[1], f"the columns of {node.operand!r}"))
    return found


# -- the chain rule ------------------------------------------------------------------------------

register("gather_rows",
         r"rows picked by indices send their gradient back to the rows they came from, added up where a row "
         r"is picked more than once (a scatter-add)",
         r"인덱스로 고른 행: gradient를 원래 행으로 되돌려 보내고, 같은 행을 여러 번 골랐으면 더함 (scatter-add)")
register("pick_columns",
         r"one entry picked from each row sends its gradient back to that entry, zero elsewhere",
         r"각 행에서 고른 원소: gradient를 그 원소로 보내고, 나머지는 0")


@vjp(GatherRows)
def _gather_vjp(op: GatherRows, g: Tensor) -> list[Pull]:
    chosen = OneHot(op.index, op.table.shape[0])
    if not is_column(op.index):  # every index's one-hot row and gradient row, each laid out as one matrix
        picks = math.prod(op.index.shape)
        chosen, g = reshape(chosen, picks, op.table.shape[0]), reshape(g, picks, op.table.shape[1])
    return [Pull(op.table, matmul(transpose(chosen), g), "gather_rows", transpose(chosen), Product.LEFT)]


@vjp(PickColumns)
def _pick_vjp(op: PickColumns, g: Tensor) -> list[Pull]:
    chosen = OneHot(op.index, op.operand.shape[1])
    return [Pull(op.operand, hadamard(broadcast_to(g, op.operand.shape), chosen), "pick_columns", chosen,
                 Product.OTHER)]


# -- the NumPy kernels (on (…, rows, columns) arrays) --------------------------------------------------

def _one_hot_rows(index, classes):
    """(…, n, classes): 1 in row i at column index[i], written without assigning (every backend traces it)."""
    return np.asarray(np.asarray(index)[..., 0:1] == np.arange(classes), dtype=float)


def _gather_rows(table, index):
    """Row i of the result is row index[i] of the table (a batch of indices picks from the one table)."""
    return np.matmul(_one_hot_rows(index, np.shape(table)[-2]), table)


def _one_hot_each(index, classes):
    """(…, n, k, classes) for (…, n, k) indices: a one-hot row in place of each index."""
    return np.asarray(np.asarray(index)[..., np.newaxis] == np.arange(classes), dtype=float)


def _gather_each(table, index):
    """The row of the table each index names, in place of that index: (…, n, k, d) for (…, n, k) indices."""
    return np.matmul(_one_hot_each(index, np.shape(table)[-2]), table)


def _pick_columns(x, index):
    """Row i's entry in column index[i], an (…, n, 1) column."""
    return np.sum(x * _one_hot_rows(index, np.shape(x)[-1]), axis=-1, keepdims=True)


# -- the interpreters ----------------------------------------------------------------------------

@interprets("code", OneHot)
def _one_hot_code(emitter: Any, node: OneHot) -> Any:
    kernel = _one_hot_rows if is_column(node.index) else _one_hot_each
    emitter.namespace[kernel.__name__] = kernel
    return emitter.call(kernel.__name__, emitter.tensor(node.index), emitter.constant(node.classes))


@interprets("code", GatherRows)
def _gather_code(emitter: Any, node: GatherRows) -> Any:
    kernel = _gather_rows if is_column(node.index) else _gather_each
    emitter.namespace[kernel.__name__] = kernel
    return emitter.call(kernel.__name__, emitter.tensor(node.table), emitter.tensor(node.index))


@interprets("code", PickColumns)
def _pick_code(emitter: Any, node: PickColumns) -> Any:
    emitter.namespace["_pick_columns"] = _pick_columns
    return emitter.call("_pick_columns", emitter.tensor(node.operand), emitter.tensor(node.index))


@interprets("explicit", OneHot)
def _one_hot_explicit(closed: Any, node: OneHot) -> sp.ImmutableMatrix:
    index = closed.visit(node.index)
    return sp.ImmutableMatrix(*node.shape, lambda i, k: sp.KroneckerDelta(index[i, 0], k))


@interprets("explicit", GatherRows)
def _gather_explicit(closed: Any, node: GatherRows) -> sp.ImmutableMatrix:
    table, index = closed.visit(node.table), closed.visit(node.index)
    return sp.ImmutableMatrix(*node.shape, lambda i, j: sp.Add(
        *(sp.KroneckerDelta(index[i, 0], k) * table[k, j] for k in range(table.rows))))


@interprets("explicit", PickColumns)
def _pick_explicit(closed: Any, node: PickColumns) -> sp.ImmutableMatrix:
    operand, index = closed.visit(node.operand), closed.visit(node.index)
    return sp.ImmutableMatrix(*node.shape, lambda i, _: sp.Add(
        *(sp.KroneckerDelta(index[i, 0], k) * operand[i, k] for k in range(operand.cols))))


@interprets("count", OneHot, GatherRows, PickColumns)
def _count(counter: Any, node: Tensor) -> int:
    return sum(counter.count(child) for child in node.children)  # choosing is no arithmetic


@interprets("latex", OneHot)
def _one_hot_latex(printer: Any, node: OneHot) -> Printed:
    return Printed(rf"E_{{{printer.print(node.index).text}}}", Precedence.ATOM)


@interprets("latex", GatherRows)
def _gather_latex(printer: Any, node: GatherRows) -> Printed:
    table = printer.wrapped(node.table, Precedence.ATOM)
    return Printed(rf"{table}\left[{printer.print(node.index).text}\right]", Precedence.ATOM)


@interprets("latex", PickColumns)
def _pick_latex(printer: Any, node: PickColumns) -> Printed:
    operand = printer.wrapped(node.operand, Precedence.ATOM)
    index = printer.print(node.index).text
    return Printed(rf"{operand}\left[i, {index}_{{i}}\right]", Precedence.ATOM)


@interprets("dot", GatherRows)
def _gather_dot(writer: Any, node: GatherRows) -> str:
    return writer.apply("rows by index", [node.table, node.index])


@interprets("dot", PickColumns)
def _pick_dot(writer: Any, node: PickColumns) -> str:
    return writer.apply("pick per row", [node.operand, node.index])


@interprets("dot", OneHot)
def _one_hot_dot(writer: Any, node: OneHot) -> str:
    return writer.gradient_side(node)


@interprets("page_graph", GatherRows)
def _gather_page_graph(section: Any, node: GatherRows) -> Any:
    return section.along(r"[\cdot]", [node.table])


@interprets("page_graph", PickColumns)
def _pick_page_graph(section: Any, node: PickColumns) -> Any:
    return section.along(r"[i, y_i]", [node.operand])


served_generically(("factor_text", "upstream"), OneHot, GatherRows, PickColumns)


takes_any_rank(GatherRows, OneHot)

__all__ = ["GatherRows", "OneHot", "PickColumns", "check_indices", "index_inputs", "indexed", "is_index",
           "is_index_key"]
