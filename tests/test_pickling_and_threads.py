"""The public objects travel to other processes (pickle, multiprocessing under spawn), and a compiled
gradient's first calls from several threads at once all succeed and agree."""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import sys
import threading

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.reference import reference_network, reference_values

THREADS = 8


def random_values(net: sbp.Network, seed: int, batch: int | None = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    leading = () if batch is None else (batch,)
    values = {q.name: rng.standard_normal((*leading, *q.matrix_shape)) for q in net.inputs}
    values.update({q.name: rng.standard_normal(q.matrix_shape) for q in net.params})
    return values


# -- pickling ------------------------------------------------------------------------------------


ACTIVATIONS = {
    "relu": sbp.relu, "sigmoid": sbp.sigmoid, "tanh": sbp.tanh, "softplus": sbp.softplus, "identity": sbp.identity,
    "mish": sbp.mish, "gelu": sbp.gelu, "gelu(tanh)": sbp.gelu(approximate="tanh"), "silu": sbp.silu,
    "exp": sbp.exp, "leaky_relu(0.2)": sbp.leaky_relu(negative_slope=0.2),
    "make_relu(1/2)": sbp.make_relu(grad_at_zero=0.5), "elementwise": sbp.elementwise(lambda t: t ** 3, "cube"),
}


@pytest.mark.parametrize("label", list(ACTIVATIONS))
def test_every_kind_of_activation_pickles_and_computes_the_same(label):
    activation = ACTIVATIONS[label]
    copy = pickle.loads(pickle.dumps(activation))
    assert copy.name == activation.name
    assert copy.at(sbp.ops.record.VARIABLE) == activation.at(sbp.ops.record.VARIABLE)
    if activation is getattr(sbp, activation.name, None):
        assert copy is activation  # a built-in comes back as itself: comparisons by identity keep working


def test_network_derivation_evaluation_and_compiled_gradient_pickle():
    net = sbp.mlp([3, 4, 2], activation="gelu", output_activation="sigmoid", loss="binary_cross_entropy")
    values = random_values(net, 0)
    values["y"] = np.array([[0.0], [1.0]])
    d = sbp.backprop(net)
    expected = d.evaluate(values)
    for obj in (net, d, expected):
        assert type(pickle.loads(pickle.dumps(obj))) is type(obj)
    copied = pickle.loads(pickle.dumps(d)).evaluate(values)
    for name in expected.grad:
        np.testing.assert_array_equal(copied.grad[name], expected.grad[name])
    grad = d.lambdify()
    grad(**values)  # a warmed gradient pickles too
    copied_grad = pickle.loads(pickle.dumps(grad))
    assert copied_grad.source == grad.source
    for name, gradient in grad(**values).items():
        np.testing.assert_array_equal(copied_grad(**values)[name], gradient)


def _gradient_in_a_worker(task):
    grad, values = task
    return grad(**values)


# Not "fork": forking a process in which JAX or PyTorch already runs threads (as in this suite) can deadlock.
@pytest.mark.slow
@pytest.mark.parametrize("start", [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()])
def test_a_compiled_gradient_runs_in_a_process_pool(start):
    d = sbp.backprop(reference_network())
    grad = d.lambdify()
    tasks = [(grad, dict(reference_values(), x=[i, 2.0])) for i in range(3)]
    with multiprocessing.get_context(start).Pool(2) as pool:
        results = pool.map(_gradient_in_a_worker, tasks)
    for (_, values), result in zip(tasks, results):
        for name, gradient in grad(**values).items():
            np.testing.assert_array_equal(result[name], gradient)


# -- first calls from several threads ------------------------------------------------------------


@pytest.fixture
def threads_switching_inside_the_parser():
    """Frequent collections that run Python code let the threads take turns inside ``ast.parse``, as happens
    now and then in a busy program, so that building two syntax trees at once shows up every time."""
    threshold, interval = gc.get_threshold(), sys.getswitchinterval()

    def collecting(phase: str, info: dict) -> None:
        sum(range(20))

    gc.set_threshold(20, 5, 5)
    gc.callbacks.append(collecting)
    sys.setswitchinterval(1e-6)
    yield
    gc.callbacks.remove(collecting)
    gc.set_threshold(*threshold)
    sys.setswitchinterval(interval)


@pytest.mark.slow
@pytest.mark.parametrize("level", ["vector", "scalar"])
def test_first_calls_of_a_fresh_compiled_gradient_from_many_threads_all_succeed(
        threads_switching_inside_the_parser, level):
    for round_ in range(3):
        net = sbp.mlp([3, 4, 2], activation="tanh", loss="mse", level=level)
        d = sbp.backprop(net)
        values = random_values(net, round_, batch=5)
        expected = d.evaluate(values).grad
        grad = d.lambdify()
        results: list[dict] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(THREADS)

        def call(grad=grad, values=values, results=results, errors=errors, barrier=barrier) -> None:
            barrier.wait()
            try:
                results.append(grad(**{name: value.copy() for name, value in values.items()}))
            except BaseException as error:  # noqa: BLE001 - collected and asserted on below
                errors.append(error)

        threads = [threading.Thread(target=call) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [], {f"{type(e).__name__}: {e}" for e in errors}
        assert len(results) == THREADS
        for result in results:
            for name in result:
                np.testing.assert_allclose(result[name], expected[name], rtol=1e-12, atol=1e-15)
