"""Numbers for the worked example: taken from ``Derivation.evaluate`` and written as LaTeX.

Exact inputs (ints, Fractions, SymPy rationals) are evaluated exactly and
print as fractions; anything else prints with ``digits`` significant digits, or with
at most ``decimals`` places after the point where that is given (1.2, 1.78, −1.22, as the page
prints them).
Element quantities of a scalar-level network read their number out of their
whole quantity's array, so every printer can ask for any name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from numbers import Integral
from typing import Any

import numpy as np
import sympy as sp

from .. import tensor as T
from ..derivation import Derivation, Step
from ..errors import UnsupportedRankError, ValuesError
from ..explicit import to_explicit
from ..worked import WorkedNumbers, worked_numbers
from .scalars import Shown
from .widths import ROW_WIDTH, printed_width


def is_exact(values: Mapping[str, Any]) -> bool:
    """Whether every number given is an integer or a fraction (so exact arithmetic applies)."""

    def exact(value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if isinstance(value, (Integral, Fraction, sp.Rational)):
            return True
        if isinstance(value, np.ndarray):
            return value.dtype.kind in "iu" or (value.dtype == object and all(exact(v) for v in value.flat))
        if isinstance(value, (list, tuple)):
            return all(exact(v) for v in value)
        return False

    return all(exact(v) for v in values.values())


class NumberFormat:
    """LaTeX for one number or one matrix of numbers."""

    def __init__(self, *, exact: bool, digits: int, decimals: int | None = None) -> None:
        self.exact = exact
        self.digits = digits
        self.decimals = decimals
        self.rounded = False  # whether any number printed was rounded (the document says so)

    def number(self, value: Any, *, in_matrix: bool = False) -> str:
        value = _plain(value)
        if isinstance(value, sp.Rational):
            if value.q == 1:
                return str(value.p)
            sign = "-" if value < 0 else ""
            fraction = r"\dfrac" if in_matrix else r"\frac"  # full size: a matrix would shrink \frac
            return rf"{sign}{fraction}{{{abs(value.p)}}}{{{value.q}}}"
        return self._decimal(float(value))

    def _decimal(self, value: float) -> str:
        if value == 0:
            return "0"
        if not math.isfinite(value):  # math mode would set "inf" as the product i·n·f
            return r"\mathrm{NaN}" if math.isnan(value) else (r"\infty" if value > 0 else r"-\infty")
        text = self._rounded(value)
        if float(text) != value:
            self.rounded = True
        if "e" in text:
            mantissa, exponent = text.split("e")
            return rf"{mantissa} \times 10^{{{int(exponent)}}}"
        return text

    def _rounded(self, value: float) -> str:
        if self.decimals is None:
            return f"{value:.{self.digits}g}"
        if abs(value) < 0.5 * 10.0 ** -self.decimals:
            # a number too small for the places shown keeps as many significant digits, never reads "0.00"
            return f"{value:.{max(self.decimals, 1)}g}"
        if abs(value) >= 1e16:  # beyond float's exact integers: a mantissa and a power of ten
            return f"{value:.{self.decimals + 1}e}"
        text = f"{value:.{self.decimals}f}"
        # at most that many places, as the page prints 1.2 and 3 beside 1.78
        return text.rstrip("0").rstrip(".") if "." in text else text

    def shown(self, value: Any) -> Shown:
        """A scalar as text for the scalar printer, marked negative where it needs parentheses."""
        value = _plain(value)
        return Shown(self.number(value), negative=_is_negative(value))

    def matrix(self, value: Any) -> str:
        """A bmatrix, or a plain number for a scalar or 1×1 value; a big matrix shows its corners."""
        array = _as_array(value)
        if array.size == 1:
            return self.number(array.flat[0])
        if array.ndim > 2:
            return self._slices(array)
        text = self._matrix(array, elided_indices(array.shape[1]))
        if array.shape[1] > 5 and printed_width(text) > ROW_WIDTH:  # wider than the line: fewer columns
            text = self._matrix(array, [0, 1, 2, None, array.shape[1] - 2, array.shape[1] - 1])
        return text

    def _slices(self, array: np.ndarray) -> str:
        """A tensor of rank 3 or more as the list of its slices along the first axis, [M₀, M₁, …, Mₙ₋₁], each
        a matrix (or, from rank 4, such a list); beyond three slices the middle ones are elided."""
        count = array.shape[0]
        shown = list(range(count)) if count <= SLICE_LIMIT else [0, 1, None, count - 1]
        parts = [r"\ldots" if k is None else self.matrix(array[k]) for k in shown]
        return r"\left[ " + r", \; ".join(parts) + r" \right]"

    def _matrix(self, array: np.ndarray, column_indices: list[int | None]) -> str:
        row_indices = elided_indices(array.shape[0])
        rows = []
        for i in row_indices:
            cells = []
            for j in column_indices:
                if i is None:
                    cells.append(r"\ddots" if j is None else r"\vdots")
                else:
                    cells.append(r"\cdots" if j is None else self.number(array[i, j], in_matrix=True))
            rows.append(" & ".join(cells))
        separator = r" \\[6pt] " if any(r"\dfrac" in row for row in rows) else r" \\ "  # room for fractions
        return r"\begin{bmatrix} " + separator.join(rows) + r" \end{bmatrix}"

    def negative_scalar(self, value: Any) -> bool:
        array = _as_array(value)
        return array.size == 1 and _is_negative(_plain(array.flat[0]))


#: Rows or columns beyond which a matrix is shown by its first and last entries (four, ⋯, the last two):
#: at most 8 columns print, within amsmath's default of 10 where a fragment is included elsewhere (the
#: standalone document raises it), and a row of them is broken at its = or scaled to the line.
MATRIX_LIMIT = 8
#: Slices of a tensor of rank 3 or more beyond which only the first two and the last are shown.
SLICE_LIMIT = 3


def elided_indices(count: int) -> list[int | None]:
    """Indices to print along one axis; None stands for the elided middle."""
    if count <= MATRIX_LIMIT:
        return list(range(count))
    return [0, 1, 2, 3, None, count - 2, count - 1]


def _plain(value: Any) -> Any:
    """A Python or SymPy number out of NumPy scalars and 0-d arrays."""
    if isinstance(value, np.ndarray):
        value = value.reshape(()).item() if value.size == 1 else value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, int) and not isinstance(value, bool):
        return sp.Integer(value)
    if isinstance(value, sp.Basic) and not isinstance(value, sp.Rational):
        return float(value)  # an exact irrational (σ(1/2) …) prints as a decimal
    return value


def _exact_rate(rate: Any) -> sp.Expr:
    """η as an exact number: a float is read as the decimal it prints as (0.01 is 1/100)."""
    if isinstance(rate, float):
        return sp.Rational(repr(rate))
    if isinstance(rate, Fraction):
        return sp.Rational(rate.numerator, rate.denominator)
    return sp.nsimplify(rate)


def transposed(value: Any) -> Any:
    """A matrix value transposed (a SymPy matrix or an array, its last two axes); a scalar as it is."""
    if isinstance(value, np.ndarray):
        return np.swapaxes(value, -1, -2) if value.ndim >= 2 else value
    return value.T if isinstance(value, sp.MatrixBase) else value


def _is_negative(value: Any) -> bool:
    return bool(value < 0)


def _as_array(value: Any) -> np.ndarray:
    if isinstance(value, sp.MatrixBase):
        return np.array(value.tolist(), dtype=object)
    array = np.asarray(value, dtype=object)
    return array.reshape(1, 1) if array.ndim == 0 else array


class WorkedValues:
    """Every forward value and gradient of a derivation at the given values."""

    def __init__(self, derivation: Derivation, values: Mapping[str, Any], *, digits: int,
                 learning_rate: Any, decimals: int | None = None, numbers: WorkedNumbers | None = None) -> None:
        """``numbers`` are the program's numbers at ``values`` where the reports have them already."""
        self.derivation = derivation
        self.network = derivation.network
        exact = is_exact(values)
        self.partials: dict[int, Any] = {}
        self.locals: dict[int, Any] = {}
        self.per_sample: dict[str, Any] = {}
        evaluation = None
        if exact:
            try:
                evaluation = derivation.evaluate(values, exact=True)
            except (ValuesError, UnsupportedRankError):
                exact = False  # exact evaluation takes one sample of matrices; a batch or a tensor is in floats
        if evaluation is None:
            if numbers is None or not numbers.are_at(derivation, values):
                numbers = worked_numbers(derivation, values)
            evaluation, self.partials, self.locals = numbers.evaluation, numbers.partials, numbers.locals
            self.per_sample = numbers.samples
        self.evaluation = evaluation
        self.exact = exact
        self.batch_size = evaluation.batch_size
        self.format = NumberFormat(exact=exact, digits=digits, decimals=decimals)
        self.learning_rate = _exact_rate(learning_rate) if exact else float(learning_rate)

    @property
    def batched(self) -> bool:
        return self.batch_size is not None

    # -- lookups by name (element quantities included) ------------------------------------------

    def forward(self, name: str) -> Any:
        return self._lookup(self.evaluation.forward, name)

    def gradient(self, name: str) -> Any:
        return self._lookup(self.evaluation.grad, name)

    def _lookup(self, table: Mapping[str, Any], name: str) -> Any:
        quantity = self.network[name]
        if quantity.group is not None:
            i, j = quantity.index
            whole = table[quantity.group]  # indexed where it is: converting all of it per element is quadratic
            whole = whole if isinstance(whole, np.ndarray) else np.asarray(whole, dtype=object)
            return self._sympy(whole[..., i, j])
        return self._sympy(table[name])

    def _sympy(self, value: Any) -> Any:
        """Exact numbers as SymPy scalars and matrices; floats as they come from the program (a float, an array)."""
        if not self.exact:
            array = np.asarray(value, dtype=float)
            return float(array) if array.ndim == 0 else array
        array = np.asarray(value, dtype=object)
        if array.ndim == 0:
            value = array.item()
            return value if isinstance(value, sp.Basic) else sp.nsimplify(value)
        if array.ndim == 2:
            return sp.ImmutableMatrix([[v if isinstance(v, sp.Basic) else sp.nsimplify(v) for v in row]
                                       for row in array])
        return array  # a batch: printed sample by sample

    def samples(self, name: str) -> list[Any]:
        """The values of an input or node for each sample of a batch (one entry when not batched)."""
        value = self.forward(name)
        return list(value) if self.is_batched(name) else [value]

    def sample_gradients(self, name: str) -> list[Any]:
        """∂Lᵢ/∂θ for each sample i of a batch, whose mean is ∂L/∂θ (empty when not batched)."""
        if not self.batched or name not in self.per_sample:
            return []
        array = np.asarray(self.per_sample[name], dtype=float)
        array = np.broadcast_to(array, (self.batch_size, *array.shape[-2:])) if array.ndim < 3 else array
        return [self._sympy(a.reshape(()) if self.network[name].shape is None else a) for a in array]

    def is_batched(self, name: str, gradient: bool = False) -> bool:
        """Whether the value has a batch axis in front of its declared shape."""
        value = self.gradient(name) if gradient else self.forward(name)
        shape = self.network[name].shape
        declared = 0 if shape is None else max(2, len(shape))  # a tensor of rank 3 is no batch of matrices
        return isinstance(value, np.ndarray) and value.ndim > declared

    # -- what a step computes, for the example's intermediate factors ---------------------------

    def step_value(self, step: Step) -> Any:
        """The number a step's result stands for: the evaluated gradient, or the part it contributes."""
        if step.complete:
            return self.gradient(step.target)
        return self._exact(step.result) if self.exact else self._sympy(self.partials[step.index])

    def local_value(self, step: Step) -> Any:
        """A step's local factor at these values (ReLU′ at z₁ = 1.78 is 1)."""
        return self._exact(step.local) if self.exact else self._sympy(self.locals[step.index])

    def _exact(self, expression: Any) -> Any:
        """A step's expression in exact arithmetic, element by element (the exact path has no program)."""
        value = to_explicit(expression, self.forward, self.gradient)
        return value.subs(T.BATCH_SIZE, 1) if isinstance(value, sp.Basic) else value

    def updated(self, name: str) -> Any:
        """θ − η ∂L/∂θ for a parameter (whole, not element by element)."""
        value = self.forward(name)
        gradient = self.gradient(name)
        if isinstance(value, sp.MatrixBase):
            return sp.ImmutableMatrix(value - self.learning_rate * gradient)
        return value - self.learning_rate * gradient  # floats: NumPy's arithmetic, as the program's
