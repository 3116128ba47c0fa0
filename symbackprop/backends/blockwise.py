"""``sbp.dask_gradients(d, data, params)``: the batch-mean gradient over Dask arrays, block by block.

Each block of samples runs the generated NumPy program — shipped as the text of
its standalone module (:attr:`~symbackprop.numeric.Program.source`) and
compiled once per worker process — on that block and the parameters, and gives
its parameter gradients summed over its samples (the block's mean times its
size).  Those sums are added pairwise, a tree of depth log₂(blocks), and the
total is divided by the number of samples, so blocks of unequal size weigh what
their samples weigh.  The graph uses only ``dask.delayed`` and
``dask.compute``: it runs on whatever scheduler is in force — Dask's threads,
processes or synchronous scheduler, or a ``distributed`` client — unchanged.

Per task a worker receives its block of each input (one chunk along the sample
axis, read where the data lives), and once per worker the program's text and
the parameters; it sends back one array per parameter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BackendUnavailableError, ExtraValueError, MissingValueError, ValuesError, ValueShapeError
from ..network import INPUT, PARAM
from ..sample_batches import runs_sample_by_sample
from ..values import conform

if TYPE_CHECKING:
    from ..derivation import Derivation

INSTALL_DASK = "pip install 'symbackprop[dask]'"

_COMPILED: dict[str, Any] = {}


def dask_gradients(derivation: Derivation, data: Mapping[str, Any], params: Mapping[str, Any],
                   **compute_options: Any) -> dict[str, np.ndarray]:
    """``{param: ∂L/∂param}``, the mean over every sample of ``data``.

    ``data`` maps each input's name to a dask array with the samples on its first
    axis (chunked along it; every input is brought to the first one's chunks),
    ``params`` each parameter's name to a NumPy array.  ``compute_options`` go to
    ``dask.compute`` (``scheduler="processes"``, for instance); without them the
    scheduler in force is used, a ``distributed`` client's when one is active.
    """
    try:
        import dask
        import dask.array as da
    except ImportError:
        raise BackendUnavailableError(f"dask_gradients needs Dask: {INSTALL_DASK}") from None
    from ..numeric import Program

    network = derivation.network
    inputs, parameters = list(network.quantities(INPUT)), list(network.params)
    _check_names("data", data, {q.name for q in inputs}, "inputs")
    _check_names("params", params, {q.name for q in parameters}, "parameters")
    conformed = {}
    for q in parameters:
        array, _ = conform(q, params[q.name])
        conformed[q.name] = array
    first = _as_dask(da, inputs[0].name, data[inputs[0].name])
    samples, chunks = first.shape[0], first.chunks[0]
    blocks_by_input = []
    for q in inputs:
        array = _as_dask(da, q.name, data[q.name])
        features = _features(q, array.shape)
        if array.shape[0] != samples:
            raise ValueShapeError(f"inputs disagree about the number of samples ({inputs[0].name}: {samples}, "
                                  f"{q.name}: {array.shape[0]})")
        array = array.reshape((samples, *features)) if array.shape[1:] != features else array
        array = array.rechunk((chunks, *((-1,) * len(features))))
        blocks_by_input.append(list(array.to_delayed().reshape(-1)))
    if samples == 0:
        raise ValuesError("data has no samples")
    source = Program(derivation, outputs="parameters").source
    order = [q.name for q in network.quantities(INPUT, PARAM)]
    layout = {q.name: q.matrix_shape for q in inputs}
    program = dask.delayed(source, pure=True)
    shared = dask.delayed(conformed, pure=True)
    by_sample = runs_sample_by_sample(network)
    partial_sums = [dask.delayed(_block_sum, pure=True)(program, order, layout, shared, by_sample, *block)
                    for block in zip(*blocks_by_input)]
    while len(partial_sums) > 1:
        pairs = [dask.delayed(_add, pure=True)(a, b) for a, b in zip(partial_sums[::2], partial_sums[1::2])]
        partial_sums = pairs + ([partial_sums[-1]] if len(partial_sums) % 2 else [])
    (total,) = dask.compute(partial_sums[0], **compute_options)
    return {q.name: _shaped(q, total[q.name] / samples) for q in parameters}


def _check_names(argument: str, given: Mapping[str, Any], expected: set[str], kind: str) -> None:
    if not isinstance(given, Mapping):
        raise ValuesError(f"{argument} must be a mapping of names to arrays, got {type(given).__name__}")
    extra = sorted(set(given) - expected)
    if extra:
        raise ExtraValueError(f"{argument} gives values for names that are not its {kind}: {extra}")
    missing = sorted(expected - set(given))
    if missing:
        raise MissingValueError(f"{argument} is missing values for {', '.join(map(repr, missing))}")


def _as_dask(da: Any, name: str, value: Any) -> Any:
    if not isinstance(value, da.Array):
        raise ValuesError(f"data[{name!r}] must be a dask array with the samples on its first axis, "
                          f"not {type(value).__name__}")
    return value


def _features(q: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The per-sample shape the program takes, from a batch of ``shape`` (as lambdify reads batches)."""
    per_sample = shape[1:]
    if len(q.matrix_shape) > 2:  # a tensor of rank 3 or more: its declared shape, nothing else
        if tuple(per_sample) == q.shape:
            return q.shape
        raise ValueShapeError(f"data[{q.name!r}] has shape {shape}; expected (samples, {', '.join(map(str, q.shape))})")
    rows, columns = q.matrix_shape
    if per_sample == (rows, columns) or (per_sample in ((rows * columns,), ()) and rows * columns == 1) \
            or (columns == 1 and per_sample == (rows,)):
        return (rows, columns)
    raise ValueShapeError(f"data[{q.name!r}] has shape {shape}; expected (samples, {rows}, {columns})"
                          + (f" or (samples, {rows})" if columns == 1 else ""))


def _compiled(source: str) -> Any:
    """The program's function, compiled once per process."""
    key = hashlib.sha256(source.encode("utf-8")).hexdigest()
    function = _COMPILED.get(key)
    if function is None:
        scope: dict[str, Any] = {}
        exec(compile(source, "<symbackprop generated>", "exec"), scope)  # our own generated module
        function = _COMPILED[key] = scope["derivation"]
    return function


def _block_sum(source: str, order: list[str], layout: dict[str, tuple[int, ...]], params: dict[str, np.ndarray],
               by_sample: bool, *blocks: np.ndarray) -> dict[str, np.ndarray]:
    """One block's parameter gradients summed over its samples: the program's mean times the block's size, or
    (a network with tensors of rank 3 or more, :mod:`symbackprop.sample_batches`) the samples' own, one by one."""
    size = blocks[0].shape[0]
    arrays = {name: np.asarray(block, dtype=float).reshape((size, *layout[name]))
              for name, block in zip(layout, blocks)}
    function = _compiled(source)
    with np.errstate(all="ignore"):
        if not by_sample:
            _, gradient = function(*[arrays[name] if name in arrays else params[name] for name in order], size)
            return {name: np.asarray(gradient[name], dtype=float) * size for name in params}
        total = {name: 0.0 for name in params}
        for n in range(size):
            _, gradient = function(*[arrays[name][n] if name in arrays else params[name] for name in order], 1)
            total = {name: total[name] + np.asarray(gradient[name], dtype=float) for name in params}
    return total


def _add(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: a[name] + b[name] for name in a}


def _shaped(q: Any, array: np.ndarray) -> np.ndarray:
    return array.reshape(()) if q.is_scalar else array
