"""Gradient checks against oracles that share nothing with the reverse sweep.

* central finite differences of the loss, computed from the forward pass only,
  for every element;
* ``sympy.diff`` of the loss written out in inputs and parameters, with our own
  functions first rewritten into SymPy primitives (ReLU as a Piecewise, σ as
  1/(1 + e^{−z})), so not even our derivative definitions are reused
  (:mod:`symbackprop.sympy_oracle`): by default for a deterministic sample of
  each parameter's elements, with ``thorough=True`` for every element.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .cost import scalar_operations
from .derivation import Derivation
from .errors import GradientCheckError, NetworkError, NonFiniteResultError, OptionError
from .network import INPUT, PARAM
from .numeric import Program
from .sympy_oracle import SYMPY_ORACLE_SAMPLE, leaf_value, sampled_elements, sympy_partial
from .values import conform_all

#: Above this many operations in the expanded loss, the sympy.diff oracle is skipped (it swells).
SYMPY_ORACLE_MAX_OPS = 4000


@dataclass(frozen=True)
class GradientRow:
    """One parameter: the derived gradient beside each oracle, and the worst relative error.

    ``sympy_diff`` holds the oracle's value at ``sympy_elements`` (indices into the
    parameter's shape) and NaN at the elements it did not derive; both are None
    where the oracle was skipped.
    """

    name: str
    derived: np.ndarray
    finite_differences: np.ndarray
    sympy_diff: np.ndarray | None
    max_relative_error: float
    passed: bool
    sympy_elements: tuple[tuple[int, ...], ...] | None = None

    @property
    def size(self) -> int:
        return int(np.asarray(self.derived).size)


@dataclass(frozen=True)
class GradientCheck:
    rows: tuple[GradientRow, ...]
    tolerance: float
    notes: tuple[str, ...] = ()
    #: At most this many elements of each parameter went through sympy.diff; None: every element.
    sympy_sample: int | None = None

    @property
    def sympy_checked(self) -> int:
        """How many parameter elements sympy.diff derived (0 where it was skipped)."""
        return sum(len(r.sympy_elements) for r in self.rows if r.sympy_elements is not None)

    @property
    def elements(self) -> int:
        return sum(r.size for r in self.rows)

    @property
    def sympy_sampled(self) -> bool:
        """Whether sympy.diff derived only a sample of the elements (finite differences saw them all)."""
        return 0 < self.sympy_checked < self.elements

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def __bool__(self) -> bool:
        return self.passed

    def raise_if_failed(self) -> GradientCheck:
        failed = [r for r in self.rows if not r.passed]
        if failed:
            detail = "; ".join(f"{r.name}: relative error {r.max_relative_error:.3g}" for r in failed)
            raise GradientCheckError(f"gradients disagree with the oracles (tolerance {self.tolerance:g}): {detail}")
        return self


def _is_positive_number(value: Any) -> bool:
    try:
        return not isinstance(value, bool) and math.isfinite(value) and value > 0
    except TypeError:
        return False


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a − b| / max(1, |b|) over the elements: relative for large values, absolute near 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


def check_gradients(derivation: Derivation, values: Mapping[str, Any], *, tolerance: float = 1e-5,
                    step: float = 1e-6, use_sympy: bool | None = None, strict: bool = False,
                    thorough: bool = False) -> GradientCheck:
    """Compare every parameter gradient with finite differences and with sympy.diff.

    ``use_sympy=None`` runs the sympy.diff oracle when the expanded loss is small
    enough (it is skipped, with a note, above ``SYMPY_ORACLE_MAX_OPS``).
    sympy.diff derives at most ``SYMPY_ORACLE_SAMPLE`` elements of each parameter
    (the first, the last and evenly spaced ones between, in row-major order);
    ``thorough=True`` derives every element.  Finite differences cover every element.
    With ``strict=True`` a disagreement raises :class:`GradientCheckError`.
    """
    for option, value in (("tolerance", tolerance), ("step", step)):
        if not _is_positive_number(value):
            raise OptionError(f"{option} must be a positive, finite number such as 1e-5; got {value!r}")
    if not derivation.network.params:
        raise NetworkError("the network has no parameters, so there is no gradient to check")
    arrays, batch_size = conform_all(derivation, values)
    derived = derivation.evaluate(values).grad
    for q in derivation.network.params:
        if not np.all(np.isfinite(derived[q.name])):
            raise NonFiniteResultError(f"at these values ∂{derivation.loss}/∂{q.name} is {derived[q.name]}, "
                                       "not finite: there is no gradient to check (a log or a division at 0?)")
    notes: list[str] = []
    symbolic = None
    per_parameter = None if thorough else SYMPY_ORACLE_SAMPLE
    if use_sympy is not False:
        symbolic = _sympy_gradients(derivation, arrays, batch_size, force=bool(use_sympy),
                                    per_parameter=per_parameter, notes=notes)
    rows = []
    loss = Program(derivation, outputs="loss")
    for q in derivation.network.params:
        fd = _finite_differences(loss, arrays, batch_size, q.name, step).reshape(q.shape or ())
        ours = np.asarray(derived[q.name], dtype=float)
        error = relative_error(ours, fd)
        oracle, elements = (None, None) if symbolic is None else symbolic[q.name]
        if oracle is not None:
            derived_at = np.asarray([ours[e] for e in elements], dtype=float)
            error = max(error, relative_error(derived_at, np.asarray([oracle[e] for e in elements], dtype=float)))
        rows.append(GradientRow(q.name, ours, fd, oracle, error, error <= tolerance, elements))
    report = GradientCheck(tuple(rows), tolerance, tuple(notes), per_parameter)
    return report.raise_if_failed() if strict else report


def _finite_differences(loss: Program, arrays: dict[str, np.ndarray], batch_size: int | None,
                        name: str, step: float) -> np.ndarray:
    """Central differences of the mean loss, from a program that runs the forward pass only."""
    base = arrays[name]
    result = np.zeros(base.shape)
    probe = dict(arrays)
    for index in np.ndindex(base.shape):
        losses = []
        for sign in (1, -1):
            shifted = base.copy()
            shifted[index] += sign * step
            probe[name] = shifted
            forward, _ = loss(probe, batch_size or 1)
            losses.append(float(np.mean(forward[loss.derivation.loss])))
        result[index] = (losses[0] - losses[1]) / (2 * step)
    return result


def _element_symbols(derivation: Derivation, name: str) -> list[list[Any]]:
    """The SymPy atoms standing for each element of a quantity in expanded closed forms."""
    q = derivation.network[name]
    if q.elements is not None:
        return [[derivation.network[e].symbol for e in row] for row in q.elements]
    if q.is_scalar:
        return [[q.symbol]]
    matrix = sp.MatrixSymbol(name, *q.shape)
    return [[matrix[i, j] for j in range(q.shape[1])] for i in range(q.shape[0])]


def _sympy_gradients(derivation: Derivation, arrays: dict[str, np.ndarray], batch_size: int | None,
                     *, force: bool, per_parameter: int | None, notes: list[str]
                     ) -> dict[str, tuple[np.ndarray, tuple[tuple[int, ...], ...]]] | None:
    """Each parameter's gradient by sympy.diff at the sampled elements (NaN elsewhere), and those elements."""
    loss = sp.sympify(derivation.forward_expression(derivation.loss, expand=True))
    # counted on SymPy's shared form: walking the tree itself can take exponential time in depth
    size = scalar_operations(loss)
    if size > SYMPY_ORACLE_MAX_OPS and not force:
        notes.append(f"sympy.diff oracle skipped: the expanded loss has {size:,} operations "
                     f"(limit {SYMPY_ORACLE_MAX_OPS:,}); finite differences still ran")
        return None
    network = derivation.network
    samples = []
    for n in range(batch_size or 1):
        table = {}
        for q in network.quantities(INPUT, PARAM):
            value = arrays[q.name]
            if q.kind == INPUT and batch_size is not None:
                value = value[n]
            for i, row in enumerate(_element_symbols(derivation, q.name)):
                for j, atom in enumerate(row):
                    table[atom] = leaf_value(value[i, j])
        samples.append(table)
    result = {}
    for q in network.params:
        atoms = _element_symbols(derivation, q.name)
        grad = np.full(q.matrix_shape, np.nan)
        chosen = sampled_elements(q.matrix_shape, per_parameter)
        for i, j in chosen:
            grad[i, j] = sum(sympy_partial(loss, table, atoms[i][j]) for table in samples) / len(samples)
        if not q.shape:
            result[q.name] = (grad.reshape(()), tuple(() for _ in chosen))
        else:
            result[q.name] = (grad, tuple(chosen))
    return result
