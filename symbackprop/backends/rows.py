"""The rows program on JAX and PyTorch: learnt from NumPy arrays of the call's shapes, run on the backend.

A batched call runs the program :mod:`symbackprop.codegen.rows` rewrites for samples as
rows (one GEMM per layer, activations inlined) — at the scalar level the grouped program —
instead of the general program's stacks of column vectors.  The rewrite learns each
value's layout from its axes alone, so NumPy arrays of the call's shapes teach it as well
as the call's own: random numbers, and zeros for indices (always in range).  Under
``jax.jit`` the call's arrays are tracers whose numbers do not exist yet, and a torch
tensor need not leave its device.  The rewrite is asked for no branch on an array's
numbers, and its text runs in the backend's ported namespace (:mod:`.porting`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..network import INPUT, PARAM
from ..ops.softmax_targets import class_indices
from ..tensor.gather import index_inputs
from .porting import ArrayBackend, port_namespace
from .xla_rows import TRANSPOSED_BATCH, for_xla

if TYPE_CHECKING:
    from ..derivation import Derivation
    from ..numeric import Program


def made_up_values(network: Any, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Arrays of these shapes by name, for learning a program's layout or timing it: numbers inside every
    activation's domain (in [0.1, 0.9]), zeros where indices go (always in range)."""
    indices = {name for name, _, _ in [*class_indices(network), *index_inputs(network)]}
    rng = np.random.default_rng(0)
    return {name: np.zeros(shape) if name in indices else rng.uniform(0.1, 0.9, shape)
            for name, shape in shapes.items()}


def learning_arrays(derivation: Derivation, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Made-up arrays of these shapes for the program's arguments, in their order."""
    leaves = [q.name for q in derivation.network.quantities(INPUT, PARAM)]
    return list(made_up_values(derivation.network, dict(zip(leaves, shapes))).values())


def rows_on_backend(derivation: Derivation, program: Program, shapes: list[tuple[int, ...]], batch_size: int,
                    backend: ArrayBackend) -> Callable | None:
    """The rows (or grouped) program for arguments of these shapes, compiled in ``backend``'s namespace;
    None where the rewrite has no rule for a line or writes no matrix product for the rows (a matrix input's
    network: its lines computed as the general program computes them, with an axis more to carry)."""
    from ..compiled_gradient import fast_function

    arrays = learning_arrays(derivation, shapes)
    xla = backend.name == "JAX"  # XLA pays for joins and for each operation where NumPy does not (xla_rows)
    stacked = batch_size <= TRANSPOSED_BATCH if xla else True  # eager torch pays more per operation than a copy
    numpy_function = fast_function(derivation, program, arrays, batch_size, traced=True, stacked=stacked)
    if numpy_function is None or getattr(numpy_function, "products", None) == 0:
        return None  # no rule for a line, or no product with samples as rows: the general program is as fast
    source = numpy_function.source
    if xla:
        from ..compiled_gradient import LEARNING_SAMPLES, learning_samples

        few = [*learning_samples(derivation, arrays, batch_size), min(batch_size, LEARNING_SAMPLES)]
        source = for_xla(source, numpy_function.helpers, numpy_function.namespace, few)
    scope = port_namespace(numpy_function.namespace, backend)
    for identifier, value in numpy_function.namespace.items():
        if isinstance(value, np.ndarray):  # the grouped program's gathers: their indices, once on the backend
            scope[identifier] = backend.arrays.asarray(value)
    text = source + "\n\n" + numpy_function.helpers
    if backend.rewrite is not None:
        text = backend.rewrite(text)
    exec(compile(text, f"<symbackprop generated, {backend.name} rows>", "exec"), scope)  # our trees' text
    function: Any = scope[numpy_function.__name__]
    function.source = source
    return function
