"""``sbp.dask_gradients(d, data, params)``: the batch-mean gradient over Dask arrays, block by block.

Each task runs the batch program ``d.lambdify()`` runs (:mod:`.block_program`:
shipped as the text of a module of its own, compiled once per worker process) on
a block of consecutive samples and gives its parameter gradients summed over
them.  The sums are added eight at a time and the total is divided by the
number of samples, so blocks of unequal size weigh what their samples weigh.
The graph uses only ``dask.delayed`` and ``dask.compute``: it runs on whatever
scheduler is in force — Dask's threads, processes or synchronous scheduler, or
a ``distributed`` client — unchanged.

A task costs the scheduler a few milliseconds whatever it holds, so a block is
several of the data's chunks when they are small: enough samples for about
:data:`TASK_SECONDS` of work (timed on one slice of made-up samples, once per
program and process), and as many tasks as a multiple of the workers, so that
none waits at the end.  Chunks are never split or copied into larger ones: a
task receives its chunks where they live (read, made or kept in memory by the
workers), and once per computation the program's text and the parameters; it
sends back one array per parameter.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BackendUnavailableError, ExtraValueError, MissingValueError, ValuesError, ValueShapeError
from ..network import INPUT
from ..sample_batches import runs_sample_by_sample
from ..values import conform
from .block_program import added, block_sum, seconds_per_sample, shipped_program

if TYPE_CHECKING:
    from ..derivation import Derivation

INSTALL_DASK = "pip install 'symbackprop[dask]'"

#: The work a task is given when the blocks are chosen: the scheduler's few milliseconds per task stay under 5 %.
TASK_SECONDS = 0.25
#: At most this many bytes of inputs per chosen block: what a worker holds at once for a task.
TASK_BYTES = 256 * 2 ** 20
#: Partial sums added by one task.
FAN_IN = 8


def dask_gradients(derivation: Derivation, data: Mapping[str, Any], params: Mapping[str, Any], *,
                   block_size: int | str | None = None, **compute_options: Any) -> dict[str, np.ndarray]:
    """``{param: ∂L/∂param}``, the mean over every sample of ``data``.

    ``data`` maps each input's name to a dask array with the samples on its first
    axis (chunked along it; every input is brought to the first one's chunks),
    ``params`` each parameter's name to a NumPy array.  Build the arrays where the
    data lives — ``da.from_zarr``, ``da.from_delayed`` of a loader per file,
    ``da.random``, or an array already ``persist()``-ed on the workers — so that
    the client sends none of it: only the program and the parameters travel.

    ``block_size`` (keyword only) is how many samples one task takes: by default
    consecutive chunks are grouped until a task holds about ``TASK_SECONDS`` of
    work (its samples timed once on made-up numbers, at most ``TASK_BYTES`` of
    inputs), rounded so the tasks are a multiple of the workers; an integer
    groups them until a task holds that many samples; ``"chunks"`` gives one
    task per chunk, as the data is chunked.  Chunks larger than a block are
    taken whole.  Every other keyword goes to ``dask.compute``
    (``scheduler="processes"``, for instance); without one the scheduler in force
    is used, a ``distributed`` client's when one is active.

    On ``distributed``, the Nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_`` at 64 KiB, which
    also fixes glibc's threshold for mapping memory at 128 KiB: every larger array of every call is then
    mapped from the system and faulted in again, 1.6–3.6 times the time of the same program
    elsewhere.  Raise both before the workers start, in their environment or with
    ``dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 256 * 2**20,
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 32 * 2**20})``.
    """
    try:
        import dask
        import dask.array as da
    except ImportError:
        raise BackendUnavailableError(f"dask_gradients needs Dask: {INSTALL_DASK}") from None

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
    chunks_by_input, features = [], {}
    for q in inputs:
        array = _as_dask(da, q.name, data[q.name])
        features[q.name] = _features(q, array.shape)
        if array.shape[0] != samples:
            raise ValueShapeError(f"inputs disagree about the number of samples ({inputs[0].name}: {samples}, "
                                  f"{q.name}: {array.shape[0]})")
        array = array.rechunk((chunks, *((-1,) * (array.ndim - 1))))
        chunks_by_input.append(list(array.to_delayed().reshape(-1)))
    if samples == 0:
        raise ValuesError("data has no samples")
    program = shipped_program(derivation, conformed, features, runs_sample_by_sample(network))
    if block_size is None:
        bytes_per_sample = 8 * sum(math.prod(shape) for shape in features.values())
        block_size = _chosen_block_size(seconds_per_sample(program, derivation), bytes_per_sample, samples,
                                        _workers(compute_options), chunks)
    groups = _groups(chunks, block_size)
    shared = dask.delayed(program, pure=True, traverse=False)
    partial_sums = [dask.delayed(block_sum, pure=True)(shared, *[blocks[start:stop] for blocks in chunks_by_input])
                    for start, stop in groups]
    while len(partial_sums) > 1:
        partial_sums = [dask.delayed(added, pure=True)(*partial_sums[i:i + FAN_IN])
                        for i in range(0, len(partial_sums), FAN_IN)]
    (total,) = dask.compute(partial_sums[0], **compute_options)
    return {q.name: _shaped(q, total[q.name] / samples) for q in parameters}


def _chosen_block_size(seconds: float, bytes_per_sample: int, samples: int, workers: int,
                       chunks: tuple[int, ...] = ()) -> int:
    """Samples per task: about ``TASK_SECONDS`` of work, within ``TASK_BYTES``, the tasks a multiple of the workers.

    Chunks of one size (the last may be shorter) are grouped a whole number at a time, the tasks as many as a
    multiple of the workers: blocks of equal work, so that no worker is left with a larger last one."""
    size = min(math.ceil(TASK_SECONDS / max(seconds, 1e-9)), max(1, TASK_BYTES // bytes_per_sample))
    chunk = chunks[0] if chunks else 0
    if len(chunks) > 1 and chunk < size and all(c == chunk for c in chunks[:-1]) and chunks[-1] <= chunk:
        most = max(1, TASK_BYTES // bytes_per_sample // chunk)
        per_block = _chunks_per_block(len(chunks), size / chunk, workers, most)
        if per_block is not None:
            return per_block * chunk
    tasks = math.ceil(samples / size)
    if tasks > 1:
        tasks = math.ceil(tasks / workers) * workers
    return max(1, math.ceil(samples / tasks))


def _chunks_per_block(count: int, ideal: float, workers: int, most: int) -> int | None:
    """Of the whole numbers of chunks per block up to ``most`` (and 2 × ``ideal``) that divide the chunks into
    tasks as many as a multiple of the workers, the one nearest ``ideal`` (as a ratio); None if none does."""
    fits = [k for k in range(1, min(most, max(1, math.ceil(2 * ideal))) + 1)
            if count % k == 0 and (count // k) % workers == 0]
    return min(fits, key=lambda k: abs(math.log(k / ideal)), default=None)


def _groups(chunks: tuple[int, ...], block_size: int | str) -> list[tuple[int, int]]:
    """Consecutive chunks as ``(first, last)`` ranges: each chunk joins the block its first sample falls in."""
    if block_size == "chunks":
        return [(i, i + 1) for i in range(len(chunks))]
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValuesError(f"block_size must be a positive number of samples, \"chunks\" or None, got {block_size!r}")
    groups: list[tuple[int, int, int]] = []  # first chunk, one past the last, the block's number
    start = 0
    for index, size in enumerate(chunks):
        block = start // block_size
        if groups and groups[-1][2] == block:
            groups[-1] = (groups[-1][0], index + 1, block)
        else:
            groups.append((index, index + 1, block))
        start += size
    return [(first, last) for first, last, _ in groups]


def _workers(compute_options: Mapping[str, Any]) -> int:
    """How many tasks run at once: an active ``distributed`` client's threads, else the local scheduler's."""
    scheduler = compute_options.get("scheduler")
    if scheduler in ("sync", "synchronous", "single-threaded"):
        return 1
    if scheduler is None:
        try:
            from distributed import default_client

            return max(1, sum(default_client().nthreads().values()))
        except (ImportError, ValueError):
            pass
    return compute_options.get("num_workers") or os.cpu_count() or 1


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


def _shaped(q: Any, array: np.ndarray) -> np.ndarray:
    return array.reshape(()) if q.is_scalar else array
