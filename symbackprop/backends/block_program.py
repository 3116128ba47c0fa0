"""What each Dask task of ``sbp.dask_gradients`` runs: the batch program ``d.lambdify()`` runs, shipped as text.

``d.lambdify()`` runs a batch through a program written for it: the rows rewrite
(:mod:`symbackprop.codegen.rows`), or the grouped scalar level, taken directly on
arrays of the batch's layout (``.direct``).  :func:`shipped_program` learns that
program on the client from two made-up samples (its layout depends on the
arrays' axes, never on their numbers), and writes it as the text of a module of
its own, with the parameters already in its layout.  A worker compiles the text
once per process, keyed by its hash, and runs every block through it in slices
of :attr:`ShippedProgram.slice_size` samples: large blocks keep the scheduler's
cost per task small, small slices keep a call's arrays in the processor's cache
and below the allocator's threshold for mapping memory from the system on every
call.  A network no fast program covers (tensors of rank 3 or more run sample by
sample) ships the general program's text instead, as ``d.lambdify()`` falls back
to it.
"""

from __future__ import annotations

import hashlib
import time
import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..codegen.module import standalone_module
from ..compiled_gradient import STACKED_BATCH
from ..errors import SymbackpropError, UnsupportedFunctionError
from ..network import INPUT, PARAM
from ..signatures import signature
from .rows import made_up_values

if TYPE_CHECKING:
    from ..derivation import Derivation

#: A slice's widest value stays within this many bytes: glibc's default threshold for mapping an allocation
#: from the system (and unmapping it on free), and a fraction of a core's second-level cache.
SLICE_BYTES = 128 * 1024
#: Fewer samples per call than this and the program's few microseconds per line outweigh the saving.
SMALLEST_SLICE = 512
_COMPILED: dict[str, Any] = {}
_LEARNED: weakref.WeakKeyDictionary[Any, dict[tuple, tuple[ShippedProgram, dict]]] = weakref.WeakKeyDictionary()
_SECONDS_PER_SAMPLE: dict[tuple[str, int], float] = {}


@dataclass(frozen=True)
class ShippedProgram:
    """A program's module text and what a worker needs beside it, sent once per computation."""

    key: str  # the hash of the text and constants: a worker compiles each program once
    text: str
    function: str  # the name of the function the text defines
    constants: dict[str, np.ndarray]  # arrays the text names but cannot spell
    order: tuple[str, ...]  # every argument's name, inputs and parameters, in the program's order
    trailing: dict[str, tuple[int, ...]]  # each input's shape after the sample axis, as the program takes it
    params: dict[str, np.ndarray]  # the parameters, in the program's layout
    slice_size: int  # samples per call of the program
    by_sample: bool  # the general program, one sample at a time (tensors of rank 3 or more)


def shipped_program(derivation: Derivation, params: dict[str, np.ndarray],
                    features: dict[str, tuple[int, ...]], by_sample: bool) -> ShippedProgram:
    """The program ``d.lambdify()`` runs for batches of inputs shaped ``(samples, *features[name])``, learned
    once per derivation and shapes (a training loop's later calls only bring the parameters to its layout)."""
    signature = (tuple(features.items()), tuple((name, value.shape) for name, value in params.items()), by_sample)
    known = _LEARNED.setdefault(derivation, {}).get(signature)
    if known is None:
        program = _learned_program(derivation, params, features, by_sample)
        # kept without the parameters' numbers, which the next call replaces
        _LEARNED[derivation][signature] = (replace(program, params={}), {k: v.shape for k, v in program.params.items()})
        return program
    program, shapes = known
    return replace(program, params={name: params[name].reshape(shape) for name, shape in shapes.items()})


def _learned_program(derivation: Derivation, params: dict[str, np.ndarray],
                     features: dict[str, tuple[int, ...]], by_sample: bool) -> ShippedProgram:
    network = derivation.network
    order = tuple(q.name for q in network.quantities(INPUT, PARAM))
    gradient = derivation.lambdify(check=False)
    fast = None if by_sample else _fast_program(gradient, params, features, order)
    if fast is None:
        function, trailing, in_layout = gradient.program.function, features, params
        name, text, constants = "derivation", gradient.program.source, {}
    else:
        function, trailing, in_layout = fast
        name = function.__name__
        text, constants = _module_text(function)
    key = hashlib.sha256(text.encode("utf-8") + b"".join(
        n.encode() + a.tobytes() for n, a in sorted(constants.items()))).hexdigest()
    # a sample's widest value: an input, or a layer's output (its parameters' longer side, W x or x W alike)
    widest = max([int(np.prod(shape)) for shape in trailing.values()] + [max(p.shape) for p in in_layout.values()
                                                                          if p.ndim])
    slice_size = 1 if by_sample else max(SMALLEST_SLICE, 1 << max(0, (SLICE_BYTES // (8 * widest)).bit_length() - 1))
    return ShippedProgram(key, text, name, constants, order, dict(trailing), in_layout, slice_size, by_sample)


def _fast_program(gradient: Any, params: dict[str, np.ndarray], features: dict[str, tuple[int, ...]],
                  order: tuple[str, ...]) -> tuple[Any, dict[str, tuple[int, ...]], dict[str, np.ndarray]] | None:
    """The direct program of ``d.lambdify()``'s fast path for these features, as for a batch larger than
    ``STACKED_BATCH`` (a slice holds hundreds of samples: an RNN's steps one by one, not stacked)."""
    learning = _made_up(gradient.derivation.network, features, STACKED_BATCH + 1)
    given = {**learning, **params}
    try:
        gradient(**given)
    except SymbackpropError:  # made-up numbers a network refuses: the general program, which needs none
        return None
    fast = gradient._fast.get(signature([given[name] for name in order]))
    if fast is None:
        return None
    function, reshapes = fast[0], dict(fast[1])
    trailing = {name: tuple(reshapes.get(i, given[name].shape)[1:]) for i, name in enumerate(order)
                if name in features}
    in_layout = {name: given[name].reshape(reshapes[i]) if i in reshapes else given[name]
                 for i, name in enumerate(order) if name in params}
    return function, trailing, in_layout


def _made_up(network: Any, features: dict[str, tuple[int, ...]], samples: int) -> dict[str, np.ndarray]:
    """Inputs of ``samples`` samples for learning and timing (:func:`.rows.made_up_values`)."""
    return made_up_values(network, {name: (samples, *shape) for name, shape in features.items()})


def _module_text(function: Any) -> tuple[str, dict[str, np.ndarray]]:
    """The function's text as a module of its own, and the arrays it names (sent beside the text)."""
    constants = {k: v for k, v in function.namespace.items() if isinstance(v, np.ndarray)}
    resolved = {k: v for k, v in function.namespace.items() if k not in constants and not k.startswith("__")}
    try:
        text = standalone_module(function.source + "\n\n" + function.helpers, resolved,
                                 "A batch program generated by symbackprop, for samples as rows.")
    except UnsupportedFunctionError as error:  # our programs name only what a module can import or define
        raise UnsupportedFunctionError(f"the batch program cannot be sent to Dask's workers: {error}") from None
    return text, constants


def seconds_per_sample(program: ShippedProgram, derivation: Derivation) -> float:
    """One sample's time through the program here, the best of three calls on one slice (kept per process)."""
    samples = max(program.slice_size, 64)
    remembered = _SECONDS_PER_SAMPLE.get((program.key, samples))
    if remembered is not None:
        return remembered
    blocks = _made_up(derivation.network, program.trailing, samples)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        block_sum(program, *[[blocks[name]] for name in program.trailing])
        best = min(best, time.perf_counter() - start)
    _SECONDS_PER_SAMPLE[(program.key, samples)] = best / samples
    return best / samples


def _compiled(program: ShippedProgram) -> Any:
    """The program's function, compiled once per process."""
    function = _COMPILED.get(program.key)
    if function is None:
        scope: dict[str, Any] = dict(program.constants)
        exec(compile(program.text, "<symbackprop generated>", "exec"), scope)  # our own generated module
        function = _COMPILED[program.key] = scope[program.function]
    return function


def block_sum(program: ShippedProgram, *chunks_by_input: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The parameter gradients summed over the samples of one task: each input's chunks, in the order of
    ``program.trailing``, run slice by slice (each slice's mean times its size)."""
    function = _compiled(program)
    names = list(program.trailing)
    arguments = [program.params.get(name) for name in program.order]
    positions = [program.order.index(name) for name in names]
    full: dict[str, np.ndarray] = {}  # the sum of the means of the slices of ``slice_size`` samples
    total: dict[str, np.ndarray] = {}  # the other slices' sums
    step = program.slice_size
    with np.errstate(all="ignore"):
        for chunks in zip(*chunks_by_input):
            size = chunks[0].shape[0]
            blocks = [np.asarray(chunk, dtype=np.float64).reshape((size, *program.trailing[name]))
                      for chunk, name in zip(chunks, names)]
            for start in range(0, size, step):
                for position, block in zip(positions, blocks):
                    arguments[position] = block[start] if program.by_sample else block[start:start + step]
                count = min(step, size - start)
                _, gradient = function(*arguments, count)
                into = full if count == step else total
                for name in program.params:
                    part = np.asarray(gradient[name], dtype=np.float64)
                    part = part if count == step else part * count
                    if name in into:
                        into[name] += part
                    else:
                        into[name] = part.copy()
    for name, value in full.items():
        total[name] = total[name] + value * step if name in total else value * step
    return total


def added(*partial_sums: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Several tasks' sums as one."""
    total = {name: value.copy() for name, value in partial_sums[0].items()}
    for partial in partial_sums[1:]:
        for name, value in partial.items():
            total[name] += value
    return total
