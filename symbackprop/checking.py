"""Gradient checks against oracles that share nothing with the reverse sweep.

* central finite differences of the loss, computed from the forward pass only;
* ``sympy.diff`` of the loss written out with one element as the only symbol,
  with our own functions first rewritten into SymPy primitives (ReLU as a
  Piecewise, σ as 1/(1 + e^{−z})), so not even our derivative definitions are
  reused (:mod:`symbackprop.sympy_oracle`).

Each oracle looks at a deterministic sample of the elements chosen by work
(:mod:`symbackprop.check_plan`): finite differences at every element unless the
network is very large, ``sympy.diff`` at as many as its work bound pays for,
cheapest first; ``thorough=True`` derives every element with ``sympy.diff``.
Elements an oracle did not look at hold NaN in its array and print as "—".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from . import sample_batches
from .check_plan import finite_difference_plan, nan_entries, sympy_plan
from .cost import count_operations
from .derivation import Derivation
from .errors import GradientCheckError, NetworkError, NonFiniteResultError, OptionError
from .network import INPUT, NODE, PARAM
from .numeric import Program
from .sympy_oracle import element_partial, leaf_value
from .values import conform_all

Elements = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class GradientRow:
    """One parameter: the derived gradient beside each oracle, and the worst relative error.

    ``finite_differences`` and ``sympy_diff`` hold each oracle's value at the elements it
    looked at (``finite_elements`` and ``sympy_elements``: indices into the parameter's
    shape) and NaN elsewhere; ``sympy_diff`` and ``sympy_elements`` are None where that
    oracle was skipped, ``finite_elements`` is None when finite differences saw every element.
    """

    name: str
    derived: np.ndarray
    finite_differences: np.ndarray
    sympy_diff: np.ndarray | None
    max_relative_error: float
    passed: bool
    sympy_elements: Elements | None = None
    finite_elements: Elements | None = None

    @property
    def size(self) -> int:
        return int(np.asarray(self.derived).size)

    @property
    def finite_checked(self) -> int:
        return self.size if self.finite_elements is None else len(self.finite_elements)

    @property
    def sympy_checked(self) -> int:
        return 0 if self.sympy_elements is None else len(self.sympy_elements)


@dataclass(frozen=True)
class GradientCheck:
    rows: tuple[GradientRow, ...]
    tolerance: float
    notes: tuple[str, ...] = ()
    #: At most this many elements of one parameter went through sympy.diff; None: every element.
    sympy_sample: int | None = None

    @property
    def sympy_checked(self) -> int:
        """How many parameter elements sympy.diff derived (0 where it was skipped)."""
        return sum(r.sympy_checked for r in self.rows)

    @property
    def finite_checked(self) -> int:
        """How many parameter elements finite differences checked."""
        return sum(r.finite_checked for r in self.rows)

    @property
    def elements(self) -> int:
        return sum(r.size for r in self.rows)

    @property
    def sympy_sampled(self) -> bool:
        """Whether sympy.diff derived only a sample of the elements."""
        return 0 < self.sympy_checked < self.elements

    @property
    def sympy_skipped(self) -> bool:
        return all(r.sympy_elements is None for r in self.rows)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def __bool__(self) -> bool:
        return self.passed

    def coverage(self, lang: str = "en") -> str:
        """What each oracle covered: "sympy.diff: 24 of 1,476 elements; finite differences: 1,476 of 1,476"."""
        from .printing.check_text import coverage

        return coverage(self, lang)

    def summary(self, lang: str = "en") -> str:
        from .printing.check_text import check_table

        return check_table(self, lang)

    def __str__(self) -> str:
        return self.summary()

    def _repr_markdown_(self) -> str:
        from .printing.check_text import check_markdown

        return check_markdown(self)

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

    Each oracle checks a deterministic sample of elements chosen by work (see
    :mod:`symbackprop.check_plan`; finite differences see every element of all but
    very large networks); ``thorough=True`` derives every element with sympy.diff.
    ``use_sympy=False`` leaves the sympy.diff oracle out (``None`` and ``True`` run it).
    :meth:`GradientCheck.coverage` says what each oracle covered.  With
    ``strict=True`` a disagreement raises :class:`GradientCheckError`.
    """
    for option, value in (("tolerance", tolerance), ("step", step)):
        if not _is_positive_number(value):
            raise OptionError(f"{option} must be a positive, finite number such as 1e-5; got {value!r}")
    if not derivation.network.params:
        raise NetworkError("the network has no parameters, so there is no gradient to check")
    arrays, batch_size = conform_all(derivation, values)
    samples = batch_size or 1
    evaluation = derivation.evaluate(values)  # what the user gets is what is checked
    derived = evaluation.grad
    for q in derivation.network.params:
        if not np.all(np.isfinite(derived[q.name])):
            raise NonFiniteResultError(f"at these values ∂{derivation.loss}/∂{q.name} is {derived[q.name]}, "
                                       "not finite: there is no gradient to check (a log or a division at 0?)")
    counts = count_operations(derivation)
    network = derivation.network
    notes: list[str] = []
    finite_plan = finite_difference_plan(network, counts.forward, samples)
    symbolic = None
    if use_sympy is not False and any(q.shape is not None and len(q.shape) > 2 for q in network.quantities()):
        notes.append("sympy.diff is not run: it writes the loss out element by element as matrices, and this "
                     "network holds a tensor of rank 3 or more; finite differences check the gradients")
    elif use_sympy is not False:
        symbolic = _sympy_gradients(derivation, arrays, evaluation.forward, batch_size,
                                    dict(counts.per_node), thorough=thorough, notes=notes)
    rows = []
    loss = _loss_program(derivation)
    for q in network.params:
        # a tensor of rank 3 or more is checked as the matrix of its first axis by the rest
        shape = q.shape if q.shape is None or len(q.shape) <= 2 else (q.shape[0], math.prod(q.shape[1:]))
        shape = shape or ()
        positions = finite_plan.positions[q.name]
        fd = _finite_differences(loss, arrays, samples, q.name, step, positions).reshape(shape)
        ours = np.asarray(derived[q.name], dtype=float).reshape(shape)
        finite_elements = None if finite_plan.complete else tuple(_index(p, shape) for p in positions)
        at = [_index(p, shape) for p in positions]
        error = relative_error(np.asarray([ours[e] for e in at]), np.asarray([fd[e] for e in at]))
        oracle, elements = (None, None) if symbolic is None else symbolic[q.name]
        if oracle is not None:
            derived_at = np.asarray([ours[e] for e in elements], dtype=float)
            error = max(error, relative_error(derived_at, np.asarray([oracle[e] for e in elements], dtype=float)))
        rows.append(GradientRow(q.name, ours, fd, oracle, error, error <= tolerance, elements, finite_elements))
    sympy_sample = None
    if symbolic is not None and any(len(e) < r.size for r, (_, e) in zip(rows, symbolic.values())):
        sympy_sample = max(len(e) for _, e in symbolic.values())
    report = GradientCheck(tuple(rows), tolerance, tuple(notes), sympy_sample)
    return report.raise_if_failed() if strict else report


def _loss_program(derivation: Derivation) -> Program:
    """The forward pass to the loss, built once per derivation for every check of it.  It runs once per
    probe of an element, which its few shared subexpressions would not repay the finding of."""
    program = derivation.__dict__.get("_loss_program")
    if program is None:
        program = derivation.__dict__["_loss_program"] = Program(derivation, cse=False, outputs="loss")
    return program


def _index(position: tuple[int, int], shape: tuple[int, ...]) -> tuple[int, ...]:
    return position if shape else ()


def _finite_differences(loss: Program, arrays: dict[str, np.ndarray], samples: int, name: str, step: float,
                        positions: list[tuple[int, int]]) -> np.ndarray:
    """Central differences of the mean loss at ``positions`` (NaN elsewhere), from a forward-only program."""
    base = np.asarray(arrays[name], dtype=float)
    as_matrix = base.reshape(base.shape if base.ndim == 2 else (base.shape[0], -1) if base.ndim > 2 else (1, 1))
    result = np.full(as_matrix.shape, np.nan)
    probe = dict(arrays)
    for i, j in positions:
        losses = []
        for sign in (1, -1):
            shifted = as_matrix.copy()
            shifted[i, j] += sign * step
            probe[name] = shifted.reshape(base.shape)
            if samples > 1 and sample_batches.runs_sample_by_sample(loss.network):
                losses.append(sample_batches.mean_loss(loss, loss.network, probe, samples))
                continue
            forward, _ = loss(probe, samples)
            losses.append(float(np.mean(forward[loss.derivation.loss])))
        result[i, j] = (losses[0] - losses[1]) / (2 * step)
    return result


def _leaves(derivation: Derivation, arrays: dict[str, np.ndarray], forward_values: dict[str, Any],
            batch_size: int | None) -> list[dict[str, Any]]:
    """Per sample, every input, parameter and node as SymPy numbers (element quantities by their own names)."""
    network = derivation.network
    samples = []
    for n in range(batch_size or 1):
        table: dict[str, Any] = {}
        for q in network.quantities(INPUT, PARAM, NODE):
            value = arrays[q.name] if q.kind != NODE else forward_values.get(q.name)
            if value is None:
                continue
            value = np.asarray(value, dtype=float)
            if batch_size is not None and value.size == batch_size * q.size:  # one value per sample
                value = value.reshape((batch_size, *q.matrix_shape))[n]
            value = value.reshape(q.matrix_shape)
            if q.elements is not None:
                for i, row in enumerate(q.elements):
                    for j, element in enumerate(row):
                        table[element] = leaf_value(value[i, j])
            elif q.is_scalar:
                table[q.name] = leaf_value(value[0, 0])
            else:
                table[q.name] = sp.ImmutableMatrix(*q.matrix_shape, [leaf_value(v) for v in value.ravel()])
        samples.append(table)
    return samples


def _sympy_gradients(derivation: Derivation, arrays: dict[str, np.ndarray], forward_values: dict[str, Any],
                     batch_size: int | None, node_operations: dict[str, int], *, thorough: bool,
                     notes: list[str]) -> dict[str, tuple[np.ndarray, Elements]]:
    """Each parameter's gradient by sympy.diff at the elements the plan chose (NaN elsewhere), and those elements."""
    from .check_plan import downstream

    network = derivation.network
    program = derivation._program  # evaluate's, which the check ran already

    def dependent_entries(parameter: str) -> int:
        probe = dict(arrays)  # one element made NaN: the forward entries it reaches turn NaN
        poisoned = np.array(arrays[parameter], dtype=float)
        poisoned.reshape(-1)[0] = np.nan
        probe[parameter] = poisoned
        reached, _ = program(probe, batch_size or 1)
        return sum(nan_entries(v) for name, v in reached.items() if network[name].kind != PARAM)

    plan, _ = sympy_plan(derivation, node_operations, dependent_entries, thorough=thorough, samples=batch_size or 1)
    # every value as SymPy numbers, only where sympy.diff has an element to differentiate
    every_sample = _leaves(derivation, arrays, forward_values, batch_size) if any(plan.values()) else []
    result = {}
    for q in network.params:
        grad = np.full(q.matrix_shape, np.nan)
        positions = plan[q.name]
        if positions:
            # the nodes the element reaches are written out again; the parameter's other elements stay numbers
            reached = downstream(network, q.name) - {q.name, *(e for row in q.elements or () for e in row)}
            samples = [{k: v for k, v in leaves.items() if k not in reached} for leaves in every_sample]
            try:
                for i, j in positions:
                    grad[i, j] = element_partial(derivation, samples, q.name, (i, j))
            except RecursionError:  # an expression nested deeper than Python's stack: say so, keep the rest
                notes.append(f"sympy.diff could not differentiate {q.name}: its expression is nested too deeply")
                grad[:] = np.nan
                positions = []
        shape = q.shape or ()
        result[q.name] = (grad.reshape(shape), tuple(_index(p, shape) for p in positions))
    return result
