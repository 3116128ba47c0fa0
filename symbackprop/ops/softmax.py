"""The softmax and log-softmax operations: what ``sbp.softmax`` / ``sbp.log_softmax`` build, their NumPy
kernels and element-by-element SymPy forms, their chain-rule steps and what each interpreter does with them
(the node types and their constructors are in :mod:`symbackprop.tensor.softmax`).

The kernels shift each slice by its largest entry before exponentiating, as
PyTorch does, so logits of ±800 give finite, exact results; generated code
passes NumPy's axis (−2 for the rows of a (…, rows, columns) array, −1 for its
columns; −rank + k for axis k of a tensor of rank 3 or more), so a leading
batch axis is carried along.  At the scalar level (SymPy
matrices) the entries are written out with LogSumExp, which carries the same
shift into the scalar level's program.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from .. import tensor as T
from ..errors import InvalidOperandError
from ..printing.precedence import Precedence, Printed
from ..registry import Product, Pull, interprets, register, served_generically, spec_function, takes_any_rank, vjp
from ..tensor.algebra import matmul, transpose
from ..tensor.axes import axis_sum
from ..tensor.hadamard import hadamard
from ..tensor.nodes import Ones, Tensor
from ..tensor.softmax import DOWN_COLUMNS, LogSoftmax, Normalised, Softmax, softmax_axis
from .stable import LogSumExp


def _softmax(z, axis):
    """The softmax of each slice along ``axis``, shifted by the slice's maximum (finite for any logits)."""
    exponentials = np.exp(z - np.max(z, axis=axis, keepdims=True))
    exponentials /= np.sum(exponentials, axis=axis, keepdims=True)  # in place: one array fewer to allocate
    return exponentials


def _log_softmax(z, axis):
    """Log-softmax of each slice along ``axis``: z − max − log Σ e^{z − max}."""
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def numpy_axis(axis: int, rank: int = 2) -> int:
    """The NumPy axis of a tensor's axis counted from the back, in arrays whose leading axis may be a batch's."""
    return axis - rank


# -- element by element -------------------------------------------------------------------------

def _slices(matrix: sp.MatrixBase, axis: int) -> list[list[tuple[int, int]]]:
    rows, columns = matrix.shape
    if axis == DOWN_COLUMNS:
        return [[(i, j) for i in range(rows)] for j in range(columns)]
    return [[(i, j) for j in range(columns)] for i in range(rows)]


def softmax_entries(matrix: sp.MatrixBase, axis: int) -> sp.ImmutableMatrix:
    """e^{zᵢ} / Σⱼ e^{zⱼ} per slice, the textbook form (exact for exact numbers)."""
    result = sp.zeros(*matrix.shape)
    for cells in _slices(matrix, axis):
        total = sp.Add(*(sp.exp(matrix[c]) for c in cells))
        for c in cells:
            result[c] = sp.exp(matrix[c]) / total
    return sp.ImmutableMatrix(result)


def log_softmax_entries(matrix: sp.MatrixBase, axis: int) -> sp.ImmutableMatrix:
    """zᵢ − log Σⱼ e^{zⱼ} per slice."""
    result = sp.zeros(*matrix.shape)
    for cells in _slices(matrix, axis):
        log_total = sp.log(sp.Add(*(sp.exp(matrix[c]) for c in cells)))
        for c in cells:
            result[c] = matrix[c] - log_total
    return sp.ImmutableMatrix(result)


def _written_out(matrix: sp.MatrixBase, axis: int, log: bool) -> sp.ImmutableMatrix:
    """The scalar level's entries: zᵢ − LogSumExp(z), whose derivative is the softmax itself."""
    result = sp.zeros(*matrix.shape)
    for cells in _slices(matrix, axis):
        log_total = LogSumExp(*(matrix[c] for c in cells))
        for c in cells:
            result[c] = matrix[c] - log_total if log else sp.exp(matrix[c] - log_total)
    return sp.ImmutableMatrix(result)


# -- what users call ----------------------------------------------------------------------------

def _apply(name: str, z: Any, axis: Any, log: bool) -> Any:
    axis = softmax_axis(axis, name, z.rank if isinstance(z, T.Tensor) else 2)
    if isinstance(z, T.Tensor):
        return T.log_softmax(z, axis) if log else T.softmax(z, axis)
    if isinstance(z, sp.MatrixBase):
        return _written_out(z, axis, log)
    raise InvalidOperandError(
        f"{name} takes a vector or matrix of the network (or, at the scalar level, a SymPy matrix), "
        f"not {type(z).__name__} {z!r}: the softmax of a single number is 1"
    )


@spec_function("softmax")
def softmax(z: Any, axis: Any = DOWN_COLUMNS) -> Any:
    """The softmax of each column of ``z`` (``axis=0``, a column vector's entries) or each row (``axis=1``);
    along any axis of a tensor of rank 3 or more, as ``torch.softmax(z, dim=axis)``."""
    return _apply("softmax", z, axis, log=False)


@spec_function("log_softmax")
def log_softmax(z: Any, axis: Any = DOWN_COLUMNS) -> Any:
    """Log-softmax of each column of ``z`` (``axis=0``) or each row (``axis=1``), or along any axis of a tensor
    of rank 3 or more, as ``torch.log_softmax``."""
    return _apply("log_softmax", z, axis, log=True)


#: The kernels by the names generated code calls them.
SOFTMAX_KERNELS = {f.__name__: f for f in (_softmax, _log_softmax)}


# -- the chain rule -------------------------------------------------------------------------------

# The rules of softmax and log-softmax, written as the textbook writes them, with 1 a vector of ones.
#
# For s = softmax(z) of a column, ∂L/∂z = s ⊙ (g − 1 (sᵀ g)): the Jacobian
# diag(s) − s sᵀ applied to g, without forming it.  Row by row, for a matrix
# A = softmax(Z) (attention), ∂L/∂Z = A ⊙ (G − (G ⊙ A) 1 1ᵀ); column by column,
# A ⊙ (G − 1 (1ᵀ (G ⊙ A))).  For log-softmax, whose Jacobian is I − 1 sᵀ,
# ∂L/∂z = g − s (1ᵀ g), and G − softmax(Z) ⊙ (G 1 1ᵀ) row by row.  Where the
# softmax is a named node, s is that node's stored value.

register("softmax",
         r"softmax passes $s \odot (g - \mathbf{1} (s^{\top} g))$: the gradient minus its $s$-weighted mean, "
         r"times $s$",
         r"소프트맥스: gradient에서 $s$로 가중한 평균을 빼고 $s$를 원소별로 곱함, "
         r"$s \odot (g - \mathbf{1} (s^{\top} g))$")
register("softmax_rows",
         r"softmax row by row passes $A \odot (G - (G \odot A) \mathbf{1} \mathbf{1}^{\top})$: in each row the "
         r"gradient minus its $A$-weighted mean, times $A$",
         r"행별 소프트맥스: 각 행에서 gradient의 $A$ 가중 평균을 빼고 $A$를 원소별로 곱함, "
         r"$A \odot (G - (G \odot A) \mathbf{1} \mathbf{1}^{\top})$")
register("softmax_columns",
         r"softmax column by column passes $A \odot (G - \mathbf{1} (\mathbf{1}^{\top} (G \odot A)))$: in each "
         r"column the gradient minus its $A$-weighted mean, times $A$",
         r"열별 소프트맥스: 각 열에서 gradient의 $A$ 가중 평균을 빼고 $A$를 원소별로 곱함, "
         r"$A \odot (G - \mathbf{1} (\mathbf{1}^{\top} (G \odot A)))$")
register("log_softmax",
         r"log-softmax passes $g - \operatorname{softmax}(z) (\mathbf{1}^{\top} g)$: the gradient minus softmax "
         r"times its sum",
         r"로그 소프트맥스: gradient에서 $\operatorname{softmax}(z)$와 gradient 합의 곱을 뺌, "
         r"$g - \operatorname{softmax}(z) (\mathbf{1}^{\top} g)$")
register("log_softmax_rows",
         r"log-softmax row by row passes $G - \operatorname{softmax}(Z) \odot (G \mathbf{1} \mathbf{1}^{\top})$: "
         r"in each row the gradient minus softmax times the row's sum",
         r"행별 로그 소프트맥스: 각 행에서 gradient에서 softmax와 그 행 합의 곱을 뺌, "
         r"$G - \operatorname{softmax}(Z) \odot (G \mathbf{1} \mathbf{1}^{\top})$")
register("log_softmax_columns",
         r"log-softmax column by column passes "
         r"$G - \operatorname{softmax}(Z) \odot (\mathbf{1} (\mathbf{1}^{\top} G))$: in each column the gradient minus "
         r"softmax times the column's sum",
         r"열별 로그 소프트맥스: 각 열에서 gradient에서 softmax와 그 열 합의 곱을 뺌, "
         r"$G - \operatorname{softmax}(Z) \odot (\mathbf{1} (\mathbf{1}^{\top} G))$")
register("softmax_axis",
         r"softmax along an axis passes $S \odot (G - \textstyle\sum_{\mathrm{axis}} (G \odot S))$: along each "
         r"slice the gradient minus its $S$-weighted sum, times $S$",
         r"한 축을 따른 소프트맥스: 각 조각에서 gradient의 $S$ 가중 합을 빼고 $S$를 원소별로 곱함, "
         r"$S \odot (G - \textstyle\sum_{\mathrm{axis}} (G \odot S))$")
register("log_softmax_axis",
         r"log-softmax along an axis passes $G - \operatorname{softmax}(Z) \odot \textstyle\sum_{\mathrm{axis}} G$: "
         r"along each slice the gradient minus softmax times the slice's sum",
         r"한 축을 따른 로그 소프트맥스: 각 조각에서 gradient에서 softmax와 그 조각 합의 곱을 뺌, "
         r"$G - \operatorname{softmax}(Z) \odot \textstyle\sum_{\mathrm{axis}} G$")


def _ones(length: int) -> Tensor:
    return Ones((length, 1))


def _rule(op: Normalised, log: bool) -> str:
    name = "log_softmax" if log else "softmax"
    if op.operand.rank > 2:
        return name + "_axis"
    if op.along_vector:
        return name
    return name + ("_columns" if op.axis == DOWN_COLUMNS else "_rows")


def _weighted_sums(op: Normalised, g: Tensor, weights: Tensor | None) -> Tensor:
    """Each slice's Σ weightsᵢ gᵢ (Σ gᵢ without weights), repeated over the slice: 1 (sᵀ g), (G ⊙ A) 1 1ᵀ, …

    At rank 3 or more the sum along the axis keeps it with length 1, and broadcasting repeats it over the slice
    (no matrix of ones has a place there)."""
    if op.operand.rank > 2:
        return axis_sum(g if weights is None else hadamard(g, weights), op.axis)
    ones = _ones(op.length)
    if op.along_vector:
        if op.axis == DOWN_COLUMNS:  # a column: 1 (sᵀ g), or 1 (1ᵀ g)
            inner = matmul(transpose(ones if weights is None else weights), g)
            return matmul(ones, inner)
        inner = matmul(g, ones if weights is None else transpose(weights))  # a row: (g sᵀ) 1ᵀ
        return matmul(inner, transpose(ones))
    weighted = g if weights is None else hadamard(g, weights)
    if op.axis == DOWN_COLUMNS:
        return matmul(ones, matmul(transpose(ones), weighted))
    return matmul(matmul(weighted, ones), transpose(ones))


@vjp(Softmax, with_output=True)
def _softmax_vjp(op: Softmax, g: Tensor, output: Tensor) -> list[Pull]:
    s = output
    weighted = _weighted_sums(op, g, s)
    return [Pull(op.operand, hadamard(s, g - weighted), _rule(op, log=False), None, Product.OTHER)]


@vjp(LogSoftmax)
def _log_softmax_vjp(op: LogSoftmax, g: Tensor) -> list[Pull]:
    s = T.softmax(op.operand, op.axis)
    sums = _weighted_sums(op, g, None)
    if op.operand.rank > 2:  # the slices' sums (length 1 along the axis) broadcast over softmax(z)
        spread = hadamard(s, sums)
    elif op.along_vector:  # s (1ᵀ g) for a column, (g 1) s for a row: a vector times a scalar
        scalar = sums.left if op.axis != DOWN_COLUMNS else sums.right
        spread = matmul(s, scalar) if op.axis == DOWN_COLUMNS else matmul(scalar, s)
    else:
        spread = hadamard(s, sums)
    return [Pull(op.operand, g - spread, _rule(op, log=True), None, Product.OTHER)]


# -- the interpreters ----------------------------------------------------------------------------

@interprets("code", Softmax, LogSoftmax)
def _code(emitter: Any, node: Normalised) -> Any:
    kernel = f"_{node.name}"
    emitter.namespace[kernel] = SOFTMAX_KERNELS[kernel]
    axis = numpy_axis(node.axis, node.operand.rank)
    return emitter.call(kernel, emitter.tensor(node.operand), emitter.constant(axis))


@interprets("explicit", Softmax)
def _explicit_softmax(closed: Any, node: Softmax) -> sp.ImmutableMatrix:
    return softmax_entries(closed.visit(node.operand), node.axis)


@interprets("explicit", LogSoftmax)
def _explicit_log_softmax(closed: Any, node: LogSoftmax) -> sp.ImmutableMatrix:
    return log_softmax_entries(closed.visit(node.operand), node.axis)


@interprets("count", Softmax, LogSoftmax)
def _count(counter: Any, node: Normalised) -> int:
    # per entry one exponential, per slice (length − 1) additions; then per entry a division
    # (softmax) or per slice a logarithm and per entry a subtraction (log-softmax)
    size, slices = counter.size(node.shape), node.slices
    sums = slices * (node.length - 1)
    finish = size if isinstance(node, Softmax) else slices + size
    return size + sums + finish + counter.count(node.operand)


@interprets("latex", Softmax, LogSoftmax)
def _latex(printer: Any, node: Normalised) -> Printed:
    name = r"\operatorname{softmax}" if isinstance(node, Softmax) else r"\log \operatorname{softmax}"
    if node.operand.rank > 2:  # a tensor: name the axis each distribution runs along
        name += rf"_{{\mathrm{{axis}}\,{node.axis}}}"
    elif not node.along_vector:  # a matrix: say which way each distribution runs
        name += r"_{\mathrm{row}}" if node.axis == 1 else r"_{\mathrm{col}}"
    return Printed(rf"{name}\left({printer.function_argument(node.operand)}\right)", Precedence.ATOM)


@interprets("dot", Softmax, LogSoftmax)
def _dot(writer: Any, node: Normalised) -> str:
    label = node.name.replace("_", " ")
    if node.operand.rank > 2:
        return writer.apply(f"{label}\naxis {node.axis}", [node.operand])
    return writer.apply(label if node.along_vector else f"{label}\n{'rows' if node.axis == 1 else 'columns'}",
                        [node.operand])


served_generically(("factor_text", "upstream"), Softmax, LogSoftmax)

#: Every interpreter above and both rules take a tensor of rank 3 or more along any of its axes.
takes_any_rank(Softmax, LogSoftmax)

__all__ = ["SOFTMAX_KERNELS", "log_softmax", "log_softmax_entries", "numpy_axis", "softmax", "softmax_entries"]
