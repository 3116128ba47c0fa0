"""A small batch runs the steps that share a weight stacked; a broadcast read once is left to its reader.

Up to ``STACKED_BATCH`` samples the NumPy rows program stacks an RNN's per-step
products (every Uxₜ as one product, every step's weight gradient as one product of
the steps stacked); a larger batch keeps them step by step.  Both layouts live in one
gradient function, side by side, and give the numbers of PyTorch's autograd (HIPS
autograd where torch is missing) and of the program as the derivation writes it.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.compiled_gradient import CALLS_BEFORE_ROWS, STACKED_BATCH

from .oracles import oracle_gradients


def _values(net: sbp.Network, batch: int | None, rng: np.random.Generator) -> dict:
    values = {}
    for q in net.quantities("input", "param"):
        shape = q.matrix_shape if q.kind == "param" or batch is None else (batch, *q.matrix_shape)
        values[q.name] = rng.normal(size=shape) / 2
    return values


def _program_gradients(grad, values: dict) -> dict:
    """The generated program as the derivation writes it, on the same arrays."""
    arguments, batch_size = grad._values.arguments(values)
    with np.errstate(all="ignore"):
        _, gradient = grad.program.function(*arguments, batch_size or 1)
    return gradient


def _assert_agree(got: dict, expected: dict, tolerance: float) -> None:
    assert set(got) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], np.reshape(value, np.shape(got[name])), rtol=tolerance,
                                   atol=tolerance * 1e-2, err_msg=name)


def _sources(grad) -> dict:
    """The source of each fast program the calls built: the rows programs, and one sample's program of matrices."""
    programs = {**grad._rows, **{("one sample", *key): f for key, f in grad._one_samples.items() if f is not None}}
    return {key: getattr(function, "source", "") for key, function in programs.items()}


def _with_batch_axis(net: sbp.Network, values: dict) -> dict:
    """One sample's values as a batch of one, as the oracle takes them."""
    return {k: v[np.newaxis] if net[k].kind == "input" else v for k, v in values.items()}


def _called(net: sbp.Network, batch: int | None, seed: int) -> tuple[dict, object]:
    """A compiled gradient called until its rows program runs (one sample: past its first calls), every answer
    against the program as the derivation writes it and the last against the oracle; (that answer, the function)."""
    grad = sbp.backprop(net).lambdify()
    values = _values(net, batch, np.random.default_rng(seed))
    for _ in range(CALLS_BEFORE_ROWS + 2 if batch is None else 2):
        got = grad(**values)
        _assert_agree(got, _program_gradients(grad, values), 1e-12)
    _assert_agree(got, oracle_gradients(net, values if batch is not None else _with_batch_axis(net, values)), 1e-9)
    return got, grad


@pytest.mark.parametrize("steps", [2, 7])
def test_batches_on_both_sides_of_the_stacking_share_one_function(steps):
    d = sbp.backprop(sbp.models.rnn(3, 4, T=steps))
    grad = d.lambdify()
    rng = np.random.default_rng(steps)
    for batch in (1, 2, STACKED_BATCH, STACKED_BATCH + 1, 40, 3):  # and back to a small one
        values = _values(d.network, batch, rng)
        for _ in range(2):  # the call that learns the layout and the signature's fast path
            got = grad(**values)
            _assert_agree(got, _program_gradients(grad, values), 1e-12)
        _assert_agree(got, oracle_gradients(d.network, values), 1e-9)
    sources = _sources(grad)
    assert len(sources) == 2
    small = next(source for key, source in sources.items() if key[-1])
    large = next(source for key, source in sources.items() if not key[-1])
    assert "the steps stacked" in small and "the steps' products as one" in small
    assert "the steps stacked" not in large and "np.concatenate" not in large


def test_one_sample_runs_stacked_after_the_first_calls():
    d = sbp.backprop(sbp.models.rnn(2, 3, T=5))
    grad = d.lambdify()
    values = _values(d.network, None, np.random.default_rng(1))
    expected = {q.name: d.evaluate(values).grad[q.name] for q in d.network.params}
    for _ in range(CALLS_BEFORE_ROWS + 2):
        got = grad(**values)
        _assert_agree(got, expected, 1e-12)
    (source,) = _sources(grad).values()
    assert "the steps stacked" in source
    _assert_agree(got, oracle_gradients(d.network, _with_batch_axis(d.network, values)), 1e-9)


def _softmax_rows() -> sbp.Network:
    net = sbp.Network()
    x, y, w = net.input("X", (6, 4)), net.input("y", (6, 3)), net.param("W", (4, 3))
    net.loss("L", sbp.half_squared_error(net.node("A", sbp.softmax(x @ w, axis=1)), y))
    return net


@pytest.mark.parametrize("network", [lambda: sbp.models.attention_head(4, T=6), _softmax_rows],
                         ids=["attention", "softmax rows"])
@pytest.mark.parametrize("batch", [None, 1, 3, 20])
def test_a_row_sums_gradient_is_broadcast_by_its_reader(network, batch):
    _, grad = _called(network(), batch, 2)
    assert "_broadcast(" in grad.program.source  # the derivation's own program broadcasts the row sums
    (source,) = _sources(grad).values()
    assert "_broadcast(" not in source


def test_nan_in_a_broadcast_row_sum_stays_where_the_program_puts_it():
    net = sbp.models.attention_head(3, T=4)
    d = sbp.backprop(net)
    grad = d.lambdify(check=False)
    values = _values(net, 5, np.random.default_rng(3))
    values["X"][2, 1, 0] = np.nan
    for _ in range(2):
        got = grad(**values)
        expected = _program_gradients(grad, values)
        for name in got:
            np.testing.assert_array_equal(np.isnan(got[name]), np.isnan(np.reshape(expected[name], got[name].shape)))
            assert np.isnan(got[name]).any()


def _row_and_column_biases() -> sbp.Network:
    net = sbp.Network()
    x, y = net.input("X", (6, 4)), net.input("y", (6, 4))
    row, column = net.param("r", (1, 4)), net.param("c", (6, 1))
    net.loss("L", sbp.half_squared_error(net.node("out", sbp.tanh(x + row + column)), y))
    return net


@pytest.mark.parametrize("network", [_row_and_column_biases, lambda: sbp.models.layer_norm(5, T=6)],
                         ids=["row and column biases", "layer_norm"])
@pytest.mark.parametrize("batch", [None, 1, 4, 20])
def test_a_bias_is_summed_over_samples_and_its_axis_in_one_reduction(network, batch):
    _, grad = _called(network(), batch, 4)
    (source,) = _sources(grad).values()
    assert "_batch_sum(" not in source


@pytest.mark.parametrize("network", [lambda: sbp.models.gru(3, 4, T=3), lambda: sbp.models.lstm(2, 3, T=4),
                                     lambda: sbp.models.rnn(3, 2, T=6)], ids=["gru", "lstm", "rnn"])
@pytest.mark.parametrize("batch", [None, 1, 5])
def test_recurrent_blocks_stacked_give_the_programs_and_torchs_numbers(network, batch):
    _, grad = _called(network(), batch, 6)
    (source,) = _sources(grad).values()
    assert "the steps stacked" in source


@pytest.mark.parametrize("level", ["vector", "scalar"])
def test_relu_gate_is_chosen_by_the_calls_size_with_nan_kept(level):
    """The program is learnt on two samples and runs every batch: ReLU′'s gate is the sign of ReLU's stored output,
    or, where no line holds it, one heaviside up to 1,024 numbers and a mask with a NaN guard beyond, decided by the
    call's size; NaN stays where it falls."""
    d = sbp.backprop(sbp.mlp([3, 4, 2], level=level))
    grad = d.lambdify()
    rng = np.random.default_rng(8)
    for batch in (3, 2000, 5):
        values = _values(d.network, batch, rng)
        _assert_agree(grad(**values), oracle_gradients(d.network, values), 1e-9)
    for batch in (3, 2000, 5):
        values = _values(d.network, batch, rng)
        if batch == 2000:
            values["x"][7, 1] = np.nan
            grad = d.lambdify(check=False)
        for _ in range(2):
            got = grad(**values)
            expected = _program_gradients(grad, values)
            for name in got:
                expected_value = np.reshape(expected[name], np.shape(got[name]))
                np.testing.assert_array_equal(np.isnan(got[name]), np.isnan(expected_value), err_msg=name)
                np.testing.assert_allclose(got[name], expected_value, rtol=1e-12, atol=1e-14, equal_nan=True)
    source = next(source for key, source in _sources(grad).items() if not key[-1])  # the batch of 2,000's
    if level == "vector":  # ReLU's output is a variable of the program: its sign (1, 0 or NaN) is the gate
        assert "* np.sign(v_h" in source and "_gate(" not in source and "np.heaviside" not in source
    else:
        assert ".size <= 1024" in source and "np.heaviside" in source and "_gate(" in source


def _recurrence(order: str, steps: int = 4) -> sbp.Network:
    """h_t = tanh(W h_{t−1} + U x_t + b) reading X's columns forwards, backwards, or with a bias per step."""
    net = sbp.Network()
    x, h = net.input("X", (2, steps)), net.input("h0", (3, 1))
    y = net.input("y", (3, 1))
    w, u, b = net.param("W", (3, 3)), net.param("U", (3, 2)), net.param("b", (3, 1))
    c = net.param("c", (3, steps)) if order == "bias per step" else None
    columns = range(steps - 1, -1, -1) if order == "backwards" else range(steps)
    for k, t in enumerate(columns, start=1):
        xt = net.node(f"x{k}", x[:, t])
        bias = net.node(f"c{k}", c[:, k - 1]) if order == "bias per step" else b
        h = net.node(f"h{k}", sbp.tanh(w @ h + u @ xt + bias))
    if order == "bias per step":
        h = net.node("out", h + 0 * b)
    net.loss("L", sbp.half_squared_error(h, y))
    return net


@pytest.mark.parametrize("order", ["forwards", "backwards", "bias per step"])
@pytest.mark.parametrize("batch", [None, 1, 6, 30])
def test_stacked_columns_and_a_shared_bias_only_where_they_apply(order, batch):
    _, grad = _called(_recurrence(order), batch, 9)
    (source,) = _sources(grad).values()
    stacked = batch is None or batch <= STACKED_BATCH
    assert ("np.transpose(v_X" in source) == (stacked and order != "backwards")
    assert ("@ v_U.T + v_b.T" in source) == (stacked and order != "bias per step")


@pytest.mark.parametrize("batch", [3, 40, 2000])
def test_a_sum_over_the_samples_is_one_product_by_ones_with_the_programs_numbers(batch):
    """A bias's gradient sums over the samples as ``np.dot(_ones, g)``, the N ones made on each call: NaN and
    infinity kept where the program's own sum keeps them, at every batch size the program runs."""
    net = sbp.mlp([3, 5, 4, 2], activation="tanh")
    grad = sbp.backprop(net).lambdify(check=False)
    rng = np.random.default_rng(11)
    for size in (batch, batch + 1, batch):  # one program learnt, run on other sizes too
        values = _values(net, size, rng)
        values["x"][size // 2, 1, 0] = np.nan if size % 2 else np.inf
        got = grad(**values)
        expected = _program_gradients(grad, values)
        for name in got:
            value = np.reshape(expected[name], got[name].shape)
            np.testing.assert_array_equal(np.isnan(got[name]), np.isnan(value), err_msg=name)
            np.testing.assert_allclose(got[name], value, rtol=1e-12, atol=1e-14, equal_nan=True, err_msg=name)
        clean = _values(net, size, rng)
        _assert_agree(grad(**clean), oracle_gradients(net, clean), 1e-9)
    sources = list(_sources(grad).values())
    assert sources and all("_ones = np.ones(batch_size)" in s and "np.dot(_ones, g_z1)" in s for s in sources)
