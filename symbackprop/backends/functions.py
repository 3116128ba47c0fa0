"""``d.lambdify(backend="jax" | "torch")``: the generated program run on another array library.

The program is the NumPy one, the same ``ast`` from the same emitter
(:class:`~symbackprop.numeric.Program`); only the namespace it is executed in
differs (:mod:`.porting`).  A batch runs, as on NumPy, the program rewritten with
samples as rows (:mod:`.rows`), built once per layout of the inputs' axes, and so
does one sample where NumPy's would.  Values are brought to the program's layout by their
shapes alone — (rows, columns), or (N, rows, columns) for a batch of an input,
with the same spellings and the same errors as NumPy's ``lambdify`` — so the
whole call can be traced by ``jax.jit`` or ``torch.compile``; their numbers are
not inspected (NaN and infinity pass through, as in any array library), except that
torch refuses class indices given as 64-bit integers outside 0 … C − 1 (the bounds
check of the scatter that subtracts their one-hot).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..compiled_gradient import CALLS_BEFORE_ROWS
from ..errors import ExtraValueError, MissingValueError, ValueShapeError
from ..network import INPUT, PARAM, Quantity
from ..ops.softmax_targets import read_only_as_class_indices
from ..sample_batches import parameter_gradients, runs_sample_by_sample
from ..threads import SYNTAX_TREES
from .porting import port_namespace
from .rows import rows_on_backend
from .torch_arrays import fresh, torch_compiling
from .xla_rows import TRANSPOSED_BATCH

if TYPE_CHECKING:
    from ..derivation import Derivation


def layout(quantity: Quantity, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int | None]:
    """The program's shape for a value of ``shape`` and its batch size, as ``values.conform`` reads them."""
    if quantity.shape is not None and len(quantity.shape) > 2:  # a tensor of rank 3 or more: (N, *shape) batched
        if tuple(shape) == quantity.shape:
            return quantity.shape, None
        if quantity.kind == INPUT and tuple(shape[1:]) == quantity.shape:
            return tuple(shape), shape[0]
        raise ValueShapeError(f"value of {quantity.kind} {quantity.name!r} has shape {shape}; expected shape "
                              f"{quantity.shape}" + (" (or with a leading batch axis)" if quantity.kind == INPUT
                                                     else ", a parameter takes no batch axis"))
    rows, columns = quantity.matrix_shape
    batchable = quantity.kind == INPUT
    if quantity.is_scalar:
        if shape in ((), (1,), (1, 1)):
            return (1, 1), None
        if batchable and (len(shape) == 1 or shape[1:] in ((1,), (1, 1))):
            return (shape[0], 1, 1), shape[0]
    else:
        if shape == (rows, columns) or (shape == (rows * columns,) and 1 in (rows, columns)):
            return (rows, columns), None
        if batchable and shape[1:] == (rows, columns) and len(shape) == 3:
            return shape, shape[0]
        if batchable and columns == 1 and len(shape) == 2 and shape[1] == rows:
            return (shape[0], rows, 1), shape[0]
    declared = "a scalar" if quantity.is_scalar else f"shape {quantity.shape}"
    batch = " (or with a leading batch axis)" if batchable else ""
    raise ValueShapeError(f"value of {quantity.kind} {quantity.name!r} has shape {shape}; expected {declared}{batch}")


class BackendGradientFunction:
    """``grad(**values) -> {param: ∂L/∂param}`` on JAX arrays or torch tensors (float64).

    ``function`` is the compiled callable (``jax.jit`` of the whole call for JAX;
    the plain function for torch, which ``torch.compile`` takes); ``source`` is
    the generated program, the NumPy backend's.
    """

    def __init__(self, derivation: Derivation, backend: str, *, cse: bool = True) -> None:
        from ..numeric import Program
        from . import jax_arrays, torch_arrays

        module = {"jax": jax_arrays, "torch": torch_arrays}[backend]
        arrays = module.jax_backend() if backend == "jax" else module.torch_backend()
        self.derivation = derivation
        self.backend = backend
        self.program = Program(derivation, cse=cse, outputs="parameters")
        self.source = self.program.source
        self._arrays = arrays
        self.namespace = port_namespace(self.program.namespace, arrays)
        scope = dict(self.namespace)
        exec(compile(self.program.freeing_source, f"<symbackprop generated, {backend}>", "exec"), scope)
        self._derivation = self._one_sample = scope["derivation"]
        if hasattr(module, "one_sample_source"):  # an eager library: the program for N = 1 without its products by 1
            scope = dict(self.namespace)
            exec(compile(module.one_sample_source(self.program.freeing_source),
                         f"<symbackprop generated, {backend}, one sample>", "exec"), scope)
            self._one_sample = scope["derivation"]
        self._leaves = list(derivation.network.quantities(INPUT, PARAM))
        integers = getattr(module, "to_backend_indices", module.to_backend)
        indices = read_only_as_class_indices(derivation.network)
        self._converters = [(integers if q.name in indices else module.to_backend, q.name) for q in self._leaves]
        self._copies_views = backend == "torch"  # its kernels may return an argument itself for a batch of one
        self._params = list(derivation.network.params)
        self._shapes = [(q.name, tuple(q.shape) if q.shape else ()) for q in self._params]
        self._sample_by_sample = runs_sample_by_sample(derivation.network)
        self._plans: dict[tuple, tuple] = {}  # the given shapes → the reshapes to the program's layout, batch size
        self._inputs = [i for i, q in enumerate(self._leaves) if q.kind == INPUT]
        self._rows: dict[tuple[int, ...], Any] = {}  # the rows program of each layout of the inputs' axes
        # One sample runs as a batch of one where NumPy's lambdify does (every quantity a matrix of the vector
        # level); a jax.jit trace is already a one-off cost, torch first waits for a few calls as NumPy does.
        network = derivation.network
        self._one_sample_as_rows = bool(self._inputs) and all(
            q.elements is None and (q.shape is None or len(q.shape) <= 2) for q in network.quantities())
        self._single_calls = CALLS_BEFORE_ROWS if backend == "jax" else 0
        self.function = module.compile_function(self.gradients)

    def __call__(self, /, **values: Any) -> dict[str, Any]:
        return self.function(**values)

    def gradients(self, /, **values: Any) -> dict[str, Any]:
        """The uncompiled call, for a caller's own ``jax.jit``, ``jax.vmap`` or ``torch.compile``."""
        arrays, batch_size = self._conform(values)
        if batch_size is None and self._one_sample_as_rows:
            if self._single_calls < CALLS_BEFORE_ROWS:  # a one-off call is not worth building the rewrite
                self._single_calls += 1
            else:
                inputs = set(self._inputs)
                batched = [a.reshape((1, *a.shape)) if i in inputs else a for i, a in enumerate(arrays)]
                if self._rows_function(batched, 1) is self._derivation:  # its axis of 1 would gain nothing
                    self._one_sample_as_rows = False
                else:
                    arrays, batch_size = batched, 1
        if batch_size is not None and self._sample_by_sample:
            gradient = parameter_gradients(lambda sample: self._one_sample(*sample, 1), self.derivation.network,
                                           arrays, batch_size)
        elif batch_size is not None:
            _, gradient = self._rows_function(arrays, batch_size)(*arrays, batch_size)
        else:
            _, gradient = self._one_sample(*arrays, 1)
        if self._copies_views and batch_size in (None, 1) and not torch_compiling():
            gradient = fresh(gradient, arrays)
        return {name: value if value.shape == shape else value.reshape(shape)
                for name, shape in self._shapes for value in (gradient[name],)}

    def _rows_function(self, arrays: list[Any], batch_size: int) -> Any:
        """The rows program for these arrays' layout, built on its first call (the general program where the
        rewrite has no rule); chosen by the arrays' shapes alone, so that a trace of the call takes it."""
        # on JAX a small batch's program stacks the steps and a larger one's keeps them apart (xla_rows)
        key = (*(arrays[i].ndim for i in self._inputs), self.backend == "jax" and batch_size <= TRANSPOSED_BATCH)
        rows = self._rows.get(key)
        if rows is None:
            with SYNTAX_TREES:  # the first of the threads calling at once builds it; the others wait
                rows = self._rows.get(key)
                if rows is None:
                    shapes = [tuple(a.shape) for a in arrays]
                    rows = self._rows[key] = rows_on_backend(self.derivation, self.program, shapes, batch_size,
                                                             self._arrays) or self._derivation
        return rows

    def _conform(self, values: dict[str, Any]) -> tuple[list[Any], int | None]:
        """The arrays in the program's layout and the batch size; a training loop's shapes, seen before, go
        straight to their reshapes."""
        if len(values) == len(self._converters):
            try:
                arrays = [convert(values[name]) for convert, name in self._converters]
            except KeyError:  # a name missing: the checks below say which
                arrays = []
            plan = self._plans.get(tuple([a.shape for a in arrays]))  # torch.Size hashes and compares as a tuple
            if plan is not None:
                reshapes, batch_size = plan
                for i, shape in reshapes:
                    arrays[i] = arrays[i].reshape(shape)
                return arrays, batch_size
        arrays, batch_size = self._checked(values)
        given = tuple(tuple(convert(values[name]).shape) for convert, name in self._converters)
        self._plans[given] = (tuple((i, tuple(a.shape)) for i, a in enumerate(arrays) if tuple(a.shape) != given[i]),
                              batch_size)
        return arrays, batch_size

    def _checked(self, values: dict[str, Any]) -> tuple[list[Any], int | None]:
        names = {q.name for q in self._leaves}
        extra = sorted(set(values) - names)
        if extra:
            raise ExtraValueError(f"values given for names that are not inputs or parameters: {extra}")
        missing = [q.name for q in self._leaves if q.name not in values]
        if missing:
            raise MissingValueError(f"missing values for {', '.join(repr(n) for n in missing)}")
        arrays, sizes = [], {}
        for q, (convert, _) in zip(self._leaves, self._converters):
            array = convert(values[q.name])
            shape, size = layout(q, tuple(array.shape))
            arrays.append(array if tuple(array.shape) == shape else array.reshape(shape))
            if size is not None:
                sizes[q.name] = size
        if not sizes:
            return arrays, None
        unbatched = [i for i, q in enumerate(self._leaves) if q.kind == INPUT and q.name not in sizes]
        if set(sizes.values()) == {1}:
            for i in unbatched:
                arrays[i] = arrays[i].reshape((1, *arrays[i].shape))
            unbatched = []
        if len(set(sizes.values())) > 1 or unbatched:
            described = ", ".join(f"{n}: N={s}" for n, s in sizes.items())
            raise ValueShapeError(f"inputs disagree about the batch size ({described}, "
                                  f"{len(unbatched)} without a batch axis)")
        return arrays, next(iter(sizes.values()))
