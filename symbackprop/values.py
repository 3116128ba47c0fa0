"""Values: what a user supplies for inputs and parameters, checked and brought to the network's shapes.

Every value becomes a (rows, columns) array, or (N, rows, columns) for a batch
of an input; names, shapes, numbers and batch sizes are checked here, once,
so that the generated program can assume well-formed arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from .errors import (
    ComplexValueError,
    ExtraValueError,
    MissingValueError,
    NonFiniteValueError,
    ValuesError,
    ValueShapeError,
)
from .network import INPUT, PARAM, Quantity
from .ops.softmax_targets import check_class_indices
from .tensor.gather import check_indices

if TYPE_CHECKING:
    from .derivation import Derivation


_EXACT_TYPES = (int, Fraction, sp.Rational, sp.Integer)


def _to_array(name: str, value: Any, exact: bool, check_finite: bool = True) -> np.ndarray:
    if isinstance(value, (str, bytes)):
        raise ValuesError(f"value of {name!r} must be numbers, not text")
    if value is None:
        raise MissingValueError(f"value of {name!r} is None; give a number or an array of numbers")
    if getattr(value, "requires_grad", False) and callable(getattr(value, "detach", None)):
        value = value.detach()  # a PyTorch tensor in an autograd graph: its numbers are what is read
    try:
        raw = np.asarray(value)
        if raw.dtype.kind in "USa" or (raw.dtype.kind == "O" and any(isinstance(v, (str, bytes)) for v in raw.flat)):
            raise ValuesError(f"value of {name!r} must be numbers, not text: {value!r:.60}")
        if raw.dtype.kind == "O" and any(v is None for v in raw.flat):
            raise MissingValueError(f"value of {name!r} has None in place of a number: {value!r}")
        complex_numbers = [v for v in raw.flat if _is_complex(v)] if raw.dtype.kind in "cO" else []
        if complex_numbers:  # NumPy would keep the real part and only warn
            shown = next((v for v in complex_numbers if complex(v).imag != 0), complex_numbers[0])
            raise ComplexValueError(f"value of {name!r} holds the complex number {shown}; "
                                    "symbackprop works with real numbers only")
        array = raw.astype(object) if exact else np.asarray(raw, dtype=float)
    except ValuesError:
        raise
    except OverflowError:
        raise NonFiniteValueError(f"value of {name!r} holds a number too large for a float (beyond 1.8e308)") from None
    except (TypeError, ValueError) as error:
        raise ValuesError(f"value of {name!r} is not a number or a rectangular array of numbers ({error})") from None
    if raw.dtype.kind == "b" or (raw.dtype.kind == "O" and any(isinstance(v, (bool, np.bool_)) for v in raw.flat)):
        raise ValuesError(f"value of {name!r} must be numbers, not True/False")
    if exact:
        try:
            array = np.vectorize(_exact_number, otypes=[object])(array) if array.size else array
        except (TypeError, ValueError) as error:
            raise ValuesError(f"value of {name!r}: {error}") from None
        finite = all(sp.sympify(v).is_finite for v in array.flat)
    else:
        finite = not check_finite or bool(np.isfinite(array).all())
    if not finite:
        raise NonFiniteValueError(f"value of {name!r} contains NaN or infinity: {value!r}")
    return array


def _is_complex(v: Any) -> bool:
    if isinstance(v, (complex, np.complexfloating)):
        return True
    return isinstance(v, sp.Expr) and v.is_number and v.is_extended_real is False


def _exact_number(v: Any) -> sp.Expr:
    if isinstance(v, bool):
        raise TypeError(f"{v!r} is not a number")
    if isinstance(v, float):
        return sp.Rational(repr(v))  # the decimal it prints as: 0.1 means 1/10
    if isinstance(v, (int, Fraction)):
        return sp.Rational(v)
    if isinstance(v, np.generic):
        return _exact_number(v.item())
    if isinstance(v, sp.Expr) and v.is_number:
        return v
    raise TypeError(f"{v!r} is not a number")


def conform(quantity: Quantity, value: Any, exact: bool = False, *, finite: bool = True
            ) -> tuple[np.ndarray, int | None]:
    """The value as a (rows, columns) or (N, rows, columns) array, and N (None if unbatched).

    A flat list is one vector: a column for shape (n, 1), a row for shape (1, n).
    Inputs may carry a leading batch axis; a batch of columns may also be written
    (N, n), but a batch of rows only (N, 1, n), since (N, n) already reads as N
    columns' worth of numbers for a column input and a row input must not mean otherwise.
    """
    array = _to_array(quantity.name, value, exact, finite)
    if quantity.shape is not None and len(quantity.shape) > 2:
        return _conform_tensor(quantity, array)
    rows, columns = quantity.matrix_shape
    shape = array.shape
    batchable = quantity.kind == INPUT
    if quantity.is_scalar:
        if shape in ((), (1,), (1, 1)):
            return array.reshape(1, 1), None
        if batchable and (len(shape) == 1 or shape[1:] in ((1,), (1, 1))):
            return array.reshape(shape[0], 1, 1), shape[0]
    else:
        if shape == (rows, columns):
            return array, None
        if shape == (rows * columns,) and 1 in (rows, columns):
            return array.reshape(rows, columns), None
        if batchable and shape[1:] == (rows, columns) and len(shape) == 3:
            return array, shape[0]
        if batchable and columns == 1 and len(shape) == 2 and shape[1] == rows:
            return array.reshape(shape[0], rows, 1), shape[0]
    declared = "a scalar" if quantity.is_scalar else f"shape {quantity.shape}"
    batch = " (or with a leading batch axis)" if batchable else ""
    raise ValueShapeError(
        f"value of {quantity.kind} {quantity.name!r} has shape {shape}; expected {declared}{batch}"
    )


def _conform_tensor(quantity: Quantity, array: np.ndarray) -> tuple[np.ndarray, int | None]:
    """A tensor of rank 3 or more takes its declared shape, or an input one more, leading batch axis (N, *shape)
    (its network's batch runs a sample at a time, :mod:`symbackprop.sample_batches`)."""
    if array.shape == quantity.shape:
        return array, None
    batch = len(array.shape) == len(quantity.shape) + 1 and array.shape[1:] == quantity.shape
    if batch and quantity.kind == INPUT:
        return array, array.shape[0]
    raise ValueShapeError(
        f"value of {quantity.kind} {quantity.name!r} has shape {array.shape}; expected shape {quantity.shape}"
        + (" (or with a leading batch axis)" if quantity.kind == INPUT else
           ": a parameter is shared by every sample and takes no batch axis" if batch else "")
    )


def missing_names(network: Any, values: Mapping[str, Any]) -> list[str]:
    """The inputs and parameters of ``network`` that ``values`` gives nothing for, in definition order."""
    return [q.name for q in network.quantities(INPUT, PARAM) if q.name not in values]


def conform_all(derivation: Derivation, values: Mapping[str, Any], exact: bool = False, *, finite: bool = True
                ) -> tuple[dict[str, np.ndarray], int | None]:
    """Check names, shapes and numbers of all values (NaN and infinity too unless ``finite`` is
    False); return them conformed and the batch size."""
    if not isinstance(values, Mapping):
        raise ValuesError(f"values must be a mapping of names to numbers, got {type(values).__name__}")
    not_text = [key for key in values if not isinstance(key, str)]
    if not_text:
        raise ValuesError(f"values must be keyed by names (text); got the key {not_text[0]!r}")
    network = derivation.network
    needed = [q for q in network.quantities(INPUT, PARAM)]
    needed_names = {q.name for q in needed}
    extra = sorted(set(values) - needed_names)
    if extra:
        kinds = {n: network[n].kind for n in extra if n in network}
        detail = ", ".join(f"{n!r}" + (f" (a {kinds[n]}, which is computed)" if n in kinds else "") for n in extra)
        raise ExtraValueError(f"values given for names that are not inputs or parameters: {detail}")
    missing = missing_names(network, values)
    if missing:
        raise MissingValueError(f"missing values for {', '.join(repr(n) for n in missing)}")
    arrays: dict[str, np.ndarray] = {}
    batch_sizes: dict[str, int] = {}
    for quantity in needed:
        arrays[quantity.name], size = conform(quantity, values[quantity.name], exact, finite=finite)
        if size is not None:
            batch_sizes[quantity.name] = size
    check_class_indices(network, arrays)
    check_indices(network, arrays)
    batched_inputs = {q.name for q in network.inputs}
    if batch_sizes:
        sizes = set(batch_sizes.values())
        if 0 in sizes:  # a mean over no samples has no value
            empty = next(n for n, size in batch_sizes.items() if size == 0)
            raise ValueShapeError(f"the batch of {empty!r} holds no samples (N=0); give at least one")
        unbatched = sorted(batched_inputs - set(batch_sizes))
        if sizes == {1}:  # a (1, 1) value is one sample or a batch of one: the same numbers
            for name in unbatched:
                arrays[name] = arrays[name][np.newaxis]
            unbatched = []
        if len(sizes) > 1 or unbatched:
            described = ", ".join(f"{n}: N={s}" for n, s in batch_sizes.items())
            described += "".join(f", {n}: no batch axis" for n in unbatched)
            raise ValueShapeError(f"inputs disagree about the batch size ({described})")
        return arrays, sizes.pop()
    return arrays, None
