"""A batched lambdify runs its program rewritten with samples as rows: the same numbers as the program itself.

The oracle is the generated program as the derivation writes it (stacks of column
vectors, every kernel), run on the same arrays; PyTorch's autograd holds that
program elsewhere.  Every activation and loss, both levels, the other node types
and the model blocks are compared, NaN where it falls included.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.ops import ACTIVATION_OPS, LOSS_OPS


def _values(net: sbp.Network, batch: int, rng: np.random.Generator, positive: bool = False) -> dict:
    values = {}
    for q in net.quantities("input", "param"):
        shape = q.matrix_shape if q.kind == "param" else (batch, *q.matrix_shape)
        values[q.name] = rng.uniform(0.1, 0.9, size=shape) if positive or q.name == "y" else rng.normal(size=shape) / 2
    return values


def _both(d: sbp.Derivation, values: dict, *, check: bool = True) -> tuple[dict, dict, object]:
    """(rows program's gradients, the program's own on the same arrays, the gradient function)."""
    grad = d.lambdify(check=check)
    got = grad(**values)
    arguments, batch_size = grad._values.arguments(values)
    with np.errstate(all="ignore"):
        _, expected = grad.program.function(*arguments, batch_size)
    return got, {q.name: np.asarray(expected[q.name]).reshape(got[q.name].shape) for q in d.network.params}, grad


def _agree(d: sbp.Derivation, values: dict, **options) -> object:
    got, expected, grad = _both(d, values, **options)
    assert set(got) == set(expected)
    for name in got:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-12, atol=1e-14, equal_nan=True, err_msg=name)
        np.testing.assert_array_equal(np.isnan(got[name]), np.isnan(expected[name]), err_msg=name)
    return grad


def _rewritten(grad) -> str:
    (function,) = grad._rows.values()
    return getattr(function, "source", "")


def test_an_mlp_runs_as_the_hand_written_backprop_does():
    d = sbp.backprop(sbp.mlp([3, 5, 4, 2]))
    grad = _agree(d, _values(d.network, 7, np.random.default_rng(0)))
    source = _rewritten(grad)
    assert "v_x @ v_W1.T" in source and "g_z1.T @ v_x" in source and "g_z2 @ v_W2" in source
    assert "_mm(" not in source and "_outer_sum(" not in source and "_f0_relu(" not in source


@pytest.mark.slow
@pytest.mark.parametrize("level", ["vector", "scalar"])
@pytest.mark.parametrize("activation", sorted(ACTIVATION_OPS))
def test_every_activation(level, activation):
    net = sbp.mlp([3, 4, 2], activation=activation, output_activation=activation, level=level)
    d = sbp.backprop(net)
    for batch in (1, 6):
        _agree(d, _values(net, batch, np.random.default_rng(1), positive=activation in ("log", "sqrt")))


@pytest.mark.parametrize("level", ["vector", "scalar"])
@pytest.mark.parametrize("loss", sorted(LOSS_OPS))
def test_every_loss(level, loss):
    net = sbp.mlp([3, 4, 3], activation="tanh", output_activation="sigmoid", loss=loss, level=level)
    d = sbp.backprop(net)
    _agree(d, _values(net, 6, np.random.default_rng(2)))


def test_matrix_inputs_softmax_slices_and_broadcasting_keep_the_programs_layout():
    net = sbp.Network()
    X = net.input("X", (3, 4))
    W = net.param("W", (4, 4))
    b = net.param("b", (1, 4))
    Z = net.node("Z", X @ W + b)
    A = net.node("A", sbp.softmax(Z, axis=1))
    H = net.node("H", sbp.concat([A[:, :2], Z[:, 2:] / (1 + sbp.abs(Z[:, 2:]))], axis=1))
    mu = net.node("mu", sbp.mean(H, axis=1))
    net.loss("L", sbp.total(sbp.tanh(H - mu) * H))
    d = sbp.backprop(net)
    _agree(d, _values(net, 3, np.random.default_rng(3)))


@pytest.mark.parametrize("block, arguments", [("layer_norm", (3,)), ("rms_norm", (3,)), ("attention_head", (2,)),
                                              ("rnn", (2, 2, 3)), ("swiglu_mlp", (2, 3)), ("residual_block", (2,))])
def test_the_model_blocks(block, arguments):
    net = getattr(sbp.models, block)(*arguments)
    d = sbp.backprop(net)
    _agree(d, _values(net, 4, np.random.default_rng(4)))


@pytest.mark.parametrize("batch", [3, 700])  # the gate as one heaviside, and as a mask with its NaN guard
def test_nan_and_infinity_fall_where_the_program_puts_them(batch):
    d = sbp.backprop(sbp.mlp([2, 3, 2]))
    rng = np.random.default_rng(5)
    values = _values(d.network, batch, rng)
    values["x"][0, 0], values["x"][1, 1], values["x"][2, 0] = np.nan, np.inf, -np.inf
    for _ in range(2):  # the call that makes the rewrite and one that reuses it
        got = _agree(d, values, check=False)(**values)
        assert np.isnan(got["W1"]).any()


@pytest.mark.parametrize("batch", [4, 600])
def test_relu_prime_at_zero_is_zero(batch):
    net = sbp.mlp([1, 1], activation="relu", output_activation="relu")
    d = sbp.backprop(net)
    values = {"x": np.zeros((batch, 1)), "y": np.full(batch, 1.0), "W1": np.ones((1, 1)), "b1": np.zeros((1, 1))}
    got = _agree(d, values)(**values)
    assert got["W1"].item() == 0.0 and got["b1"].item() == 0.0


def test_returned_gradients_are_new_arrays_on_every_call():
    d = sbp.backprop(sbp.mlp([3, 4, 1]))
    grad = d.lambdify()
    rng = np.random.default_rng(6)
    first_values, second_values = _values(d.network, 8, rng), _values(d.network, 8, rng)
    first = grad(**first_values)
    kept = {k: v.copy() for k, v in first.items()}
    second = grad(**second_values)
    for name in first:
        np.testing.assert_array_equal(first[name], kept[name])
        assert not np.shares_memory(first[name], second[name])


def test_one_sample_and_a_batch_share_the_function():
    d = sbp.backprop(sbp.mlp([2, 3, 1]))
    grad = d.lambdify()
    rng = np.random.default_rng(7)
    one = {k: (v[0] if k in ("x", "y") else v) for k, v in _values(d.network, 1, rng).items()}
    one["x"] = one["x"].reshape(2, 1)
    full = d.evaluate(one).grad
    for name, value in grad(**one).items():
        np.testing.assert_allclose(value, full[name], rtol=1e-12)
    _agree(d, _values(d.network, 5, rng))


def test_products_with_a_column_of_ones_are_written_as_sums_and_repeats():
    # the softmax's backward step: A ⊙ (G − (G ⊙ A) 1 1ᵀ), written in the derivation with ones
    derivation = sbp.backprop(sbp.models.attention_head(4, T=5))
    source = derivation.lambdify().source
    assert "_axis_sum(" in source and "_broadcast(" in source and "np.ones(" not in source
    rng = np.random.default_rng(3)
    values = {q.name: rng.normal(size=q.shape) for q in derivation.network.quantities("input", "param")}
    gradient, check = derivation.lambdify()(**values), sbp.check_gradients(derivation, values)
    assert check.passed and set(gradient) == {q.name for q in derivation.network.params}
