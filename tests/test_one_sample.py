"""One sample of matrices runs a program of its own; class indices are subtracted in place; ReLU′ is its output's sign.

A network without a batch axis whose values are matrices (a matrix of samples as
rows, of tokens) gets, after its first calls, the general program with every kernel
written as the NumPy it does on matrices. Its answers are checked against PyTorch's
autograd (HIPS autograd where torch is missing) and against the general program,
including class indices along either axis, ReLU at 0, −0.0, ±∞ and NaN, and values
that must never be handed out twice or be the caller's own arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.compiled_gradient import CALLS_BEFORE_ROWS
from symbackprop.ops.softmax import _softmax
from symbackprop.ops.softmax_targets import _one_hot, _softmax_less_indices

from .oracles import oracle_gradients


def _classifier(axis: int, samples: int = 5, classes: int = 4) -> sbp.Network:
    """Two ReLU layers and a cross-entropy with class indices: rows of classes (axis 1) or columns (axis 0)."""
    net = sbp.Network()
    if axis == 1:
        x, y = net.input("X", (samples, 3)), net.input("y", (samples, 1))
        w1, b1 = net.param("W1", (3, 6)), net.param("b1", (1, 6))
        w2, b2 = net.param("W2", (6, classes)), net.param("b2", (1, classes))
        h = net.node("h", sbp.relu(x @ w1 + b1))
        net.loss("L", sbp.cross_entropy(net.node("z", h @ w2 + b2), y, axis=1))
    else:
        x, y = net.input("X", (3, samples)), net.input("y", (1, samples))
        w1, b1 = net.param("W1", (6, 3)), net.param("b1", (6, 1))
        w2, b2 = net.param("W2", (classes, 6)), net.param("b2", (classes, 1))
        h = net.node("h", sbp.relu(w1 @ x + b1))
        net.loss("L", sbp.cross_entropy(net.node("z", w2 @ h + b2), y, axis=0))
    return net


def _values(net: sbp.Network, rng: np.random.Generator, classes: int = 4) -> dict:
    values = {q.name: rng.normal(size=q.matrix_shape) for q in net.quantities("input", "param")}
    if "y" in values:
        values["y"] = rng.integers(0, classes, size=net["y"].matrix_shape)
    return values


def _with_batch_axis(net: sbp.Network, values: dict) -> dict:
    return {k: v[np.newaxis] if net[k].kind == "input" else v for k, v in values.items()}


def _program(grad, values: dict) -> dict:
    arguments, batch_size = grad._values.arguments(values)
    with np.errstate(all="ignore"):
        return grad.program.function(*arguments, batch_size or 1)[1]


def _one_sample_source(grad) -> str:
    (program,) = [p for p in grad._one_samples.values() if p is not None]
    return program.source


NETWORKS = {
    "classifier, rows of classes": lambda: _classifier(1),
    "classifier, columns of classes": lambda: _classifier(0),
    "attention": lambda: sbp.models.attention_head(4, T=6),
    "layer_norm": lambda: sbp.models.layer_norm(5, T=3),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_one_sample_of_matrices_runs_its_own_program_with_the_oracles_numbers(name):
    net = NETWORKS[name]()
    grad = sbp.backprop(net).lambdify()
    rng = np.random.default_rng(3)
    for _ in range(3):  # new numbers every round: the program is learnt once and runs on any
        values = _values(net, rng)
        for _ in range(CALLS_BEFORE_ROWS + 2):
            got = grad(**values)
        expected = oracle_gradients(net, _with_batch_axis(net, values))
        program = _program(grad, values)
        for key, value in got.items():
            np.testing.assert_allclose(value, np.reshape(expected[key], value.shape), rtol=1e-9, atol=1e-12,
                                       err_msg=key)
            np.testing.assert_allclose(value, program[key], rtol=1e-13, atol=1e-15, err_msg=key)
    body = _one_sample_source(grad).split("\n", 1)[1]
    for kernel in ("_mm(", "_mm_t(", "_mm_sum(", "_T(", "_batch_sum(", "_axis_sum(", "batch_size"):
        assert kernel not in body, kernel  # each written as the NumPy it does on matrices, the batch size as 1
    assert not grad._rows  # the batch of one was not needed


def test_a_batch_after_one_sample_runs_its_own_program():
    net = _classifier(1)
    grad = sbp.backprop(net).lambdify()
    rng = np.random.default_rng(4)
    one = _values(net, rng)
    for _ in range(CALLS_BEFORE_ROWS + 2):
        grad(**one)
    batch = {k: (np.stack([v, _values(net, rng)[k]]) if net[k].kind == "input" else v) for k, v in one.items()}
    got = grad(**batch)
    expected = oracle_gradients(net, batch)
    for key, value in got.items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-9, atol=1e-12, err_msg=key)


def _returns_an_input() -> sbp.Network:
    """∂L/∂b = X − Y exactly, and ∂L/∂W = Xᵀ(X + b − Y)·…: gradients that are (sums of) values a caller holds."""
    net = sbp.Network()
    x, y = net.input("X", (3, 4)), net.input("Y", (3, 4))
    b = net.param("b", (3, 4))
    net.loss("L", sbp.half_squared_error(net.node("out", x + b), y))
    return net


def test_one_samples_answers_are_fresh_arrays_never_the_callers_or_each_others():
    net = _returns_an_input()
    grad = sbp.backprop(net).lambdify()
    values = _values(net, np.random.default_rng(5))
    values["b"] = np.zeros((3, 4))
    answers = [grad(**values) for _ in range(CALLS_BEFORE_ROWS + 3)]
    for answer in answers:
        np.testing.assert_allclose(answer["b"], values["X"] - values["Y"], rtol=1e-15, atol=1e-15)
        for value in values.values():
            assert not np.shares_memory(answer["b"], value)
    for first, second in zip(answers, answers[1:]):
        assert not np.shares_memory(first["b"], second["b"])


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64])
def test_class_indices_are_taken_from_the_softmax_in_place_as_a_one_hot_would(axis, dtype):
    rng = np.random.default_rng(6)
    for leading in ((), (3,)):
        z = rng.normal(size=leading + ((5, 4) if axis == 1 else (4, 5))) * 30
        index = rng.integers(0, 4, size=leading + ((5, 1) if axis == 1 else (1, 5))).astype(dtype)
        expected = (_softmax(z, axis - 2) - _one_hot(index, z, axis)) / 5
        np.testing.assert_allclose(_softmax_less_indices(z, index, axis, 5), expected, rtol=1e-14, atol=1e-15)
        fortran = np.asfortranarray(z)
        np.testing.assert_allclose(_softmax_less_indices(fortran, index, axis, 5), expected, rtol=1e-14, atol=1e-15)
        if leading:  # indices shared by every matrix of a stack
            shared = index[0]
            expected = (_softmax(z, axis - 2) - _one_hot(shared, z, axis)) / 5
            np.testing.assert_allclose(_softmax_less_indices(z, shared, axis, 5), expected, rtol=1e-14, atol=1e-15)


def test_class_indices_far_beyond_the_other_logits_stay_finite_and_exact():
    z = np.array([[800.0, -800.0, 0.0], [-1e3, -1e3, -1e3]])
    got = _softmax_less_indices(z, np.array([[1], [2]]), 1, 2)
    np.testing.assert_allclose(got, [[0.5, -0.5, 0.0], [1 / 6, 1 / 6, -1 / 3]], rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("edge", [599.0, 600.0, 1e300])
def test_logits_near_the_unshifted_bound_give_a_per_row_softmaxs_numbers(edge):
    """Inside ±600 the exponentials are taken unshifted; at the bound and beyond, shifted by each row's maximum."""
    z = np.array([[edge, edge - 1.0, -edge], [-edge, -edge + 0.5, -edge], [0.0, 1.0, 2.0]])
    index = np.array([[0], [1], [2]])
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    expected = (shifted / shifted.sum(axis=1, keepdims=True) - np.eye(3)[index[:, 0]]) / 3
    np.testing.assert_allclose(_softmax_less_indices(z, index, 1, 3), expected, rtol=1e-13, atol=1e-300)
    with_nan = z.copy()
    with_nan[2, 1] = np.nan
    got = _softmax_less_indices(with_nan, index, 1, 3)
    assert np.isnan(got[2]).all() and not np.isnan(got[:2]).any()


@pytest.mark.parametrize("batch", [None, 3, 2000])
def test_relus_gate_from_its_output_keeps_nan_and_zero_as_the_program_does(batch):
    net = sbp.Network()
    shape = (4, 6) if batch is None else (6, 1)
    x, y = net.input("X", shape), net.input("Y", shape)
    b = net.param("b", shape)
    net.loss("L", sbp.half_squared_error(net.node("h", sbp.relu(x + b)), y))
    grad = sbp.backprop(net).lambdify(check=False)
    rng = np.random.default_rng(7)
    values = {"X": rng.normal(size=shape if batch is None else (batch, *shape)), "b": np.zeros(shape)}
    values["Y"] = rng.normal(size=values["X"].shape)
    flat = values["X"].reshape(-1)
    flat[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300]
    for _ in range(CALLS_BEFORE_ROWS + 2):
        got = grad(**values)["b"]
    expected = np.reshape(_program(grad, values)["b"], got.shape)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-300, equal_nan=True)
    sources = [p.source for p in (*grad._rows.values(), *grad._one_samples.values()) if hasattr(p, "source")]
    assert any("np.sign(v_h" in source for source in sources)


def test_the_fast_path_follows_the_dtypes_of_the_same_shapes():
    net = _classifier(1)
    grad = sbp.backprop(net).lambdify()
    rng = np.random.default_rng(8)
    values = _values(net, rng)
    expected = oracle_gradients(net, _with_batch_axis(net, values))
    for dtype in (np.int64, np.float64, np.int8, np.int64, np.float64):
        for _ in range(CALLS_BEFORE_ROWS + 1):
            got = grad(**{**values, "y": values["y"].astype(dtype)})
            for key, value in got.items():
                np.testing.assert_allclose(value, np.reshape(expected[key], value.shape), rtol=1e-9, atol=1e-12)
    with pytest.raises(sbp.InvalidClassIndexError, match="'y'"):
        grad(**{**values, "y": values["y"] + 0.5})
    with pytest.raises(sbp.InvalidClassIndexError, match="'y': -1"):
        grad(**{**values, "y": np.full_like(values["y"], -1, dtype=np.int8)})
    with pytest.raises(sbp.NonFiniteValueError, match="'W1'"):
        grad(**{**values, "W1": np.full_like(values["W1"], np.inf)})


def test_values_too_large_to_square_are_still_checked_and_answered():
    net = _classifier(1)
    grad = sbp.backprop(net).lambdify()
    values = _values(net, np.random.default_rng(9))
    for _ in range(CALLS_BEFORE_ROWS + 2):
        grad(**values)
    huge = {**values, "b2": values["b2"] + 1e160}  # its squares overflow; the values are finite: no error
    for _ in range(2):
        got = grad(**huge)
        expected = _program(grad, huge)
        for key, value in got.items():
            np.testing.assert_array_equal(value, np.reshape(expected[key], value.shape), err_msg=key)
