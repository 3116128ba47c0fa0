"""Values checked once per shape signature: the fast path of a compiled gradient's calls.

A training loop calls the same function thousands of times with arrays of the
same shapes.  The first call of each signature — the names given, each value a
float64 ndarray of a given shape — runs every check of :func:`~symbackprop.values.conform_all`
and records what it did (which values it reshaped, to what, and the batch size);
later calls with that signature repeat only that, and the finiteness check,
which depends on the numbers.  Indices (class indices, and those of C[idx] or x[range(n), y]) may be
integer arrays; their numbers are checked on every call, in whole-array passes, and they reach the
program as float64 as the full path gives them.  Anything else (lists, other dtypes, new shapes) takes
the full path.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from .network import INPUT, PARAM
from .ops.softmax_targets import class_indices, read_only_as_class_indices
from .tensor.gather import index_inputs, indices_fit
from .values import conform_all

if TYPE_CHECKING:
    from .derivation import Derivation

_FLOAT = np.dtype(np.float64)
_NDARRAY = {np.ndarray}
_SHAPE, _DTYPE = attrgetter("shape"), attrgetter("dtype")

#: Arrays up to this many numbers are checked for NaN and infinity together, in one reduction.
_SMALL = 4096
#: From this many small arrays on, they are joined for the finiteness check (one copy costs less than a call each).
_JOINED = 5
#: Up to this many numbers the finiteness check sums squares with one BLAS call (see :func:`_squares`).
_DOT = 8192


class SignatureCache:
    """``arguments(values) -> (arrays in the program's order, batch size or None)``, checked as
    ``conform_all`` checks them; ``check=False`` lets NaN and infinity through uninspected."""

    def __init__(self, derivation: Derivation, *, check: bool = True) -> None:
        network = derivation.network
        self.derivation = derivation
        self.check = check
        self.names = tuple(q.name for q in network.quantities(INPUT, PARAM))
        self._name_set = frozenset(self.names)
        self._in_order = itemgetter(*self.names) if len(self.names) > 1 else (lambda values: (values[self.names[0]],))
        bounds: dict[str, int] = {}
        for name, bound, _ in [*class_indices(network), *index_inputs(network)]:
            bounds[name] = min(bound, bounds.get(name, bound))
        # class indices the network computes are refused by the full path, every time
        self._remembers = all(name in self._name_set for name in bounds)
        self._indices = tuple((i, bounds[name]) for i, name in enumerate(self.names) if name in bounds)
        self._index_positions = frozenset(i for i, _ in self._indices)
        kept = read_only_as_class_indices(network)  # a cross-entropy's kernel reads them as positions: no conversion
        self._kept_integers = frozenset(i for i, name in enumerate(self.names) if name in kept)
        self._layouts: dict[tuple, tuple[tuple, int | None, tuple[int, ...], tuple[int, ...]]] = {}

    def arguments(self, values: Mapping[str, Any]) -> tuple[list[np.ndarray], int | None]:
        given = self._given(values)
        layout = self._layouts.get(tuple(map(_SHAPE, given))) if given is not None else None
        if layout is None:
            return self._first(values, given)
        shapes, batch_size, small, large = layout
        if self.check and not _all_finite(given, small, large):
            return self._first(values, given)  # the full check names the value (or finds an overflowing sum)
        if not self.indices_fit(given):
            return self._first(values, given)  # which names the index and its bound
        arrays = [v if shape is None else v.reshape(shape) for v, shape in zip(given, shapes)]
        return self.as_floats(arrays), batch_size

    def indices_fit(self, given: list[np.ndarray]) -> bool:
        """Whether every array of indices holds integers within its bound (checked on every call)."""
        return all(indices_fit(given[i], bound) for i, bound in self._indices)

    def as_floats(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Integer arrays of indices as float64, as the full path gives every value to the program."""
        for i in self._index_positions:
            if arrays[i].dtype != _FLOAT:
                arrays[i] = arrays[i].astype(_FLOAT)
        return arrays

    def ordered(self, values: Mapping[str, Any]) -> list[np.ndarray] | None:
        """The values in order if every one is an ndarray and the names are exactly ours (of any dtype: a fast
        program is found by the dtypes too, and remembered only for those :meth:`_given` accepts)."""
        if not self._remembers or not isinstance(values, dict) or values.keys() != self._name_set:
            return None
        given = self._in_order(values)  # C loops: this runs on every call of a training loop
        return list(given) if set(map(type, given)) == _NDARRAY else None

    def _given(self, values: Mapping[str, Any]) -> list[np.ndarray] | None:
        """The values in order if every one is a float64 ndarray (or integers, as indices) and the names are
        exactly ours."""
        given = self.ordered(values)
        if given is not None and set(map(_DTYPE, given)) != {_FLOAT} and any(
                value.dtype != _FLOAT and (i not in self._index_positions or value.dtype.kind not in "iu")
                for i, value in enumerate(given)):
            return None
        return given

    def index_plan(self, given: list[np.ndarray]) -> tuple[tuple, tuple, tuple[int, ...]]:
        """How a signature's indices are checked and converted on every call: the native integer arrays in one
        pass each, read as unsigned (a negative index is then larger than any bound); the others as
        :func:`indices_fit` judges them; and the positions of the integer arrays that reach the program as
        float64 (all but those read only as a cross-entropy's class indices, which its kernel takes as they are)."""
        unsigned, others = [], []
        for i, bound in self._indices:
            dtype = given[i].dtype
            if dtype.kind in "iu" and dtype.isnative and given[i].size:
                unsigned.append((i, np.dtype(f"u{dtype.itemsize}"), bound))
            elif given[i].size:
                others.append((i, bound))
        integers = tuple(i for i in self._index_positions - self._kept_integers if given[i].dtype != _FLOAT)
        return tuple(unsigned), tuple(others), integers

    def _first(self, values: Mapping[str, Any], given: list[np.ndarray] | None
               ) -> tuple[list[np.ndarray], int | None]:
        conformed, batch_size = conform_all(self.derivation, values, finite=self.check)
        arrays = [conformed[n] for n in self.names]
        if given is not None:  # float64 arrays are only reshaped (or given a batch axis of 1): repeatable
            shapes = tuple(None if a is v or a.shape == v.shape else a.shape for a, v in zip(arrays, given))
            numbers = [(i, v.size) for i, v in enumerate(given) if v.dtype == _FLOAT]  # an integer is finite
            small = tuple(i for i, size in numbers if size <= _SMALL)
            large = tuple(i for i, size in numbers if size > _SMALL)
            self._layouts[tuple(v.shape for v in given)] = (shapes, batch_size, small, large)
        return arrays, batch_size


def signature(given: list[np.ndarray]) -> tuple:
    """The key of a fast program: the given arrays' shapes and dtypes."""
    return (*map(_SHAPE, given), *map(_DTYPE, given))


def indices_fit_planned(given: list[np.ndarray], unsigned: tuple, others: tuple) -> bool:
    """Whether every array of indices holds integers within its bound, as :meth:`SignatureCache.index_plan` says."""
    for i, dtype, bound in unsigned:
        if np.maximum.reduce(given[i].view(dtype), None) >= bound:
            return False
    return not others or all(indices_fit(given[i], bound) for i, bound in others)


def _all_finite(given: list[np.ndarray], small: tuple[int, ...], large: tuple[int, ...]) -> bool:
    """True if no value holds NaN or infinity (False may also mean a sum overflowed: check each then).

    Called inside the compiled gradient's ``np.errstate(all="ignore")``, so an overflowing sum warns nobody."""
    if len(small) >= _JOINED:
        total = _squares(np.concatenate([given[i].ravel() for i in small]))
    else:
        large = small + large
        total = 0.0
    for i in large:
        total = total + _squares(given[i].ravel())
    total = float(total)  # a Python float: inf − inf is NaN without a warning, inside an errstate or not
    return total - total == 0  # NaN for NaN or infinity


def _squares(numbers: np.ndarray) -> float:
    """A sum that is NaN or infinite if any of ``numbers`` is: up to _DOT numbers their squares' (a BLAS dot
    product, on one thread: OpenBLAS threads it above 10,000 numbers, four times slower on a busy machine), beyond
    that their own. Squares overflow above 1.3e154: the full check then finds the values finite."""
    return np.vdot(numbers, numbers) if numbers.size <= _DOT else np.add.reduce(numbers)
