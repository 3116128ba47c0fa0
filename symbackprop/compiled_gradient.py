"""The compiled gradient ``d.lambdify()``: the program, a fast path per shape signature, and the rows rewrite."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from . import sample_batches
from .collector import collector_paused
from .network import INPUT, PARAM
from .numeric import Program, evaluate
from .signatures import _FLOAT, _SHAPE, SignatureCache, _all_finite, indices_fit_planned, signature
from .threads import SYNTAX_TREES

#: How many samples of a batch the rows rewrite runs on to learn the layout of every value.
LEARNING_SAMPLES = 2
#: Up to this many samples NumPy runs the steps that share a weight (an RNN's) stacked into one product: the copies
#: cost less than the small products they save (measured for T = 16 to 256; at 32 samples T = 64 is slower stacked).
STACKED_BATCH = 16
#: Calls with one sample (no batch axis) that run the general program before the rows rewrite is built for them:
#: a training loop's later calls gain, a single call does not pay for the rewrite.
CALLS_BEFORE_ROWS = 3

def ignoring_errors(function: Any) -> Any:
    """``function`` run inside ``np.errstate(all="ignore")``: one context for the checks and the program, on a
    training loop's every call. NumPy 2's errstate as a decorator takes half the time of a with statement (made
    once, entered and left in one call, its token per call); NumPy 1's keeps its state on the one instance that
    every thread would share, so there it is a with statement."""
    if int(np.__version__.split(".")[0]) >= 2:
        return np.errstate(all="ignore")(function)

    def ignoring(*arguments: Any) -> Any:
        with np.errstate(all="ignore"):
            return function(*arguments)

    return ignoring


if TYPE_CHECKING:
    from .derivation import Derivation
    from .evaluation import Evaluation


class GradientFunction:
    """``grad(**values) -> {param: ∂L/∂param}``: the derivation compiled to NumPy.

    ``source`` is the generated code; :meth:`forward_and_gradients` also returns
    every forward value and every gradient.
    """

    def __init__(self, derivation: Derivation, *, cse: bool = True, check: bool = True) -> None:
        self.derivation = derivation
        self.program = Program(derivation, cse=cse, outputs="parameters")
        self.source = self.program.source
        self.check = check
        self._values = SignatureCache(derivation, check=check)
        self._ignoring_errors = ignoring_errors(self._gradient)
        self._outputs = [(q.name, q.is_scalar) for q in derivation.network.params]
        self._inputs = [i for i, q in enumerate(derivation.network.quantities(INPUT, PARAM)) if q.kind == INPUT]
        self._rows: dict[tuple[int, ...], Any] = {}  # the rows program of each layout of the inputs' axes
        self._final: set[int] = set()  # the rows programs whose dictionary is the answer (scalars reshaped to ())
        self._scalars = [name for name, scalar in self._outputs if scalar]
        self._one_samples: dict[tuple[int, ...], Any] = {}  # one sample's program of each layout of the inputs' axes
        self._fast: dict[tuple, tuple] = {}  # shapes and dtypes of the given arrays → the direct fast program, its plan
        # One sample runs as a batch of one through the rows program (its GEMMs and inlined activations, the same
        # numbers) where every quantity is a matrix of the vector level; the general program keeps the others.
        network = derivation.network
        self._single_calls = 0
        self._sample_by_sample = sample_batches.runs_sample_by_sample(network)
        self._one_sample_as_rows = bool(self._inputs) and all(
            q.elements is None and (q.shape is None or len(q.shape) <= 2) for q in network.quantities())

    def __reduce__(self) -> tuple[Any, ...]:  # compiled again where it is unpickled: code objects do not pickle
        return functools.partial(GradientFunction, cse=self.program.cse, check=self.check), (self.derivation,)

    def __call__(self, /, **values: Any) -> dict[str, np.ndarray]:  # "/": a quantity may be named self
        return self._ignoring_errors(values)

    def _gradient(self, values: dict[str, Any]) -> dict[str, np.ndarray]:
        """The call's work, inside ``np.errstate(all="ignore")`` (see ``__init__``)."""
        given = self._values.ordered(values)
        fast = self._fast.get(signature(given)) if given is not None else None
        if fast is not None:  # a signature seen before: its fast program on the arrays as given
            function, reshapes, small, large, batch_size, unsigned, others, integers = fast
            if (not self.check or _all_finite(given, small, large)) and indices_fit_planned(given, unsigned,
                                                                                              others):
                for i in integers:
                    given[i] = given[i].astype(_FLOAT)
                for i, shape in reshapes:
                    given[i] = given[i].reshape(shape)
                return self._answer(function(*given, batch_size)[1])
        given = self._values._given(values)
        arguments, batch_size = self._values.arguments(values)
        function = self.program.function
        if batch_size is not None and self._sample_by_sample:
            gradient = sample_batches.parameter_gradients(lambda sample: function(*sample, 1),
                                                          self.derivation.network, arguments, batch_size)
            return {name: np.asarray(gradient[name]).reshape(()) if scalar else np.asarray(gradient[name])
                    for name, scalar in self._outputs}
        if batch_size is None and self._one_sample_as_rows:
            if self._single_calls < CALLS_BEFORE_ROWS:  # a one-off call is not worth building the rewrite
                self._single_calls += 1
            else:
                single = self._one_sample(arguments)
                if single is not None:
                    if given is not None:
                        self._remember(given, arguments, single, 1)
                    return self._answer(single(*arguments, 1)[1])
                for i in self._inputs:
                    arguments[i] = arguments[i][np.newaxis]
                batch_size = 1
        if batch_size is not None:
            key = (*[arguments[i].ndim for i in self._inputs], batch_size <= STACKED_BATCH)
            rows = self._rows.get(key)
            if rows is None:
                with SYNTAX_TREES:  # the first of the threads calling at once builds it; the others wait
                    rows = self._rows[key] = self._rows.get(key) or self._rows_function(arguments, batch_size) \
                        or function
            if id(rows) in self._final:
                if given is not None:
                    self._remember(given, arguments, rows, batch_size)
                return self._answer(rows(*arguments, batch_size)[1])
            function = rows
        _, gradient = function(*arguments, batch_size or 1)
        return {name: np.asarray(gradient[name]).reshape(()) if scalar else np.asarray(gradient[name])
                for name, scalar in self._outputs}

    def _answer(self, gradient: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A fast program's dictionary as the answer: its scalars given the shape ()."""
        for name in self._scalars:
            gradient[name] = gradient[name].reshape(())
        return gradient

    def _is_answer(self, gradient: dict[str, Any]) -> bool:
        """Whether a program's dictionary is already the answer: fresh arrays of the declared shapes, in order."""
        shapes = {q.name: q.matrix_shape for q in self.derivation.network.params}
        return list(gradient) == list(shapes) and all(type(v) is np.ndarray and v.shape == shapes[k]
                                                      for k, v in gradient.items())

    def _remember(self, given: list[np.ndarray], arguments: list[np.ndarray], rows: Any, batch_size: int) -> None:
        """This signature's fast program and the reshapes that bring the given arrays to its layout."""
        layout = self._values._layouts.get(tuple(map(_SHAPE, given)))
        if layout is None:
            return
        shapes, _, small, large = layout
        reshapes = []
        for i, (name, value) in enumerate(zip(rows.__code__.co_varnames, given)):
            target = (batch_size, *rows.direct_shapes[name]) if name in rows.direct_shapes else shapes[i]
            if target is None and value.shape != arguments[i].shape:  # one sample given a batch axis of 1
                target = arguments[i].shape
            if target is not None and value.shape != tuple(target):
                reshapes.append((i, tuple(target)))
        self._fast[signature(given)] = (rows.direct, tuple(reshapes), small, large, batch_size,
                                        *self._values.index_plan(given))

    def _one_sample(self, arguments: list[np.ndarray]) -> Any:
        """The one-sample program for these arguments' axes, where the rows program would only add a batch axis of 1
        to matrices (it writes no product for rows); else None, and one sample runs as a batch of one."""
        key = tuple(arguments[i].ndim for i in self._inputs)
        if key not in self._one_samples:
            with SYNTAX_TREES:  # the first of the threads calling at once builds it; the others wait
                if key not in self._one_samples:
                    self._one_samples[key] = self._one_sample_function(arguments)
        return self._one_samples[key]

    @collector_paused()
    def _one_sample_function(self, arguments: list[np.ndarray]) -> Any:
        batched = list(arguments)
        for i in self._inputs:
            batched[i] = batched[i][np.newaxis]
        key = (*[batched[i].ndim for i in self._inputs], True)
        rows = self._rows.get(key) or self._rows_function(batched, 1)
        if rows is None or getattr(rows, "products", 1):
            self._rows[key] = rows or self.program.function  # one sample runs as a batch of one: built once
            return None
        single = self.program.one_sample_function(arguments)
        with np.errstate(all="ignore"):
            _, gradient = single(*arguments, 1)
        if not self._is_answer(gradient):
            self._rows[key] = rows
            return None
        single.direct = single
        return single

    @collector_paused()
    def _rows_function(self, arguments: list[Any], batch_size: int) -> Any:
        rows = fast_function(self.derivation, self.program, arguments, batch_size)
        arguments = learning_samples(self.derivation, arguments, batch_size)
        batch_size = min(batch_size, LEARNING_SAMPLES)
        if rows is not None:
            with np.errstate(all="ignore"):
                _, gradient = rows(*arguments, batch_size)
            if self._is_answer(gradient):
                self._final.add(id(rows))  # its dictionary is already the answer: fresh arrays, the declared shapes
        return rows

    def forward_and_gradients(self, /, **values: Any) -> Evaluation:
        return evaluate(self.derivation, values)


def learning_samples(derivation: Derivation, arguments: list[Any], batch_size: int) -> list[Any]:
    """The arguments with each batched input cut to its first ``LEARNING_SAMPLES`` samples."""
    few = min(batch_size, LEARNING_SAMPLES)
    arguments = list(arguments)
    for i, q in enumerate(derivation.network.quantities(INPUT, PARAM)):
        if q.kind == INPUT and getattr(arguments[i], "ndim", 0) == 3 and arguments[i].shape[0] == batch_size:
            arguments[i] = arguments[i][:few]
    return arguments


@collector_paused()
def fast_function(derivation: Derivation, program: Program, arguments: list[Any], batch_size: int, *,
                  traced: bool = False, stacked: bool | None = None) -> Any:
    """The rows program (the grouped one at the scalar level) learnt on these batched arrays, or None.

    The rewrite learns each value's layout (a stack of samples or shared) from its axes, not its numbers:
    two samples of the batch teach it as well as 65,536, without holding every intermediate of an extra run.
    """
    if stacked is None:  # the steps that share a weight stacked: always for torch, for NumPy up to STACKED_BATCH
        stacked = traced or batch_size <= STACKED_BATCH
    arguments = learning_samples(derivation, arguments, batch_size)
    batch_size = min(batch_size, LEARNING_SAMPLES)
    rows = None
    if any(q.elements is not None for q in derivation.network.params):  # the scalar level: group it
        grouping = Program(derivation, cse=False, outputs="parameters")
        rows = grouping.grouped_function(arguments, batch_size, traced=traced)
    return rows or program.rows_function(arguments, batch_size, traced=traced, stacked=stacked)
