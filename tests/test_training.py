"""The update step, clipping by global norm (recomputed with NumPy) and a training loop that learns."""

from __future__ import annotations

import math

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import MissingValueError, ValuesError
from symbackprop.training import (
    CLIP_EPSILON,
    clip_grad_norm,
    initial_params,
    sgd_step,
    sgd_update_latex,
    train,
)


@pytest.fixture(scope="module")
def reference():
    return sbp.backprop(sbp.reference_network())


def test_the_page_update_step(reference):
    new = sgd_step(reference, sbp.reference_values(), 0.01)
    # the page: W2 −= 0.01 · dW2 with dW2 = [−1.464, −1.464], and so on
    np.testing.assert_allclose(new["W2"], [[0.6 + 0.01464, 0.8 + 0.01464]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(new["b2"], 0.1 + 0.0122, rtol=0, atol=1e-15)
    np.testing.assert_allclose(new["W1"], [[0.5 + 0.00732, 0.3 + 0.01464], [0.2 + 0.00976, 0.4 + 0.01952]],
                               rtol=0, atol=1e-15)
    np.testing.assert_allclose(new["b1"], [[0.1 + 0.00732], [0.2 + 0.00976]], rtol=0, atol=1e-15)
    assert set(new) == {"W1", "b1", "W2", "b2"} and new["b2"].shape == ()
    loss_before = float(reference.evaluate(sbp.reference_values()).loss)
    loss_after = float(reference.evaluate({**sbp.reference_values(), **new}).loss)
    assert loss_after < loss_before


def test_update_step_with_clipping(reference):
    values = sbp.reference_values()
    grads = reference.lambdify()(**values)
    total = math.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values()))
    new = sgd_step(reference, values, 0.1, max_norm=1.0)
    np.testing.assert_allclose(new["W2"], np.array([[0.6, 0.8]]) - 0.1 * grads["W2"] / (total + CLIP_EPSILON))


def test_update_as_latex(reference):
    text = sgd_update_latex(reference)
    assert r"W_{1} &\leftarrow W_{1} - \eta\,\frac{\partial L}{\partial W_{1}}" in text
    assert text.count(r"\leftarrow") == 4
    assert r"\frac{1}{100}" in sgd_update_latex(reference, sbp.REFERENCE_LEARNING_RATE)


def _numpy_clip(grads, max_norm, norm_type):
    flat = np.concatenate([np.ravel(g) for g in grads.values()])
    total = np.max(np.abs(flat)) if math.isinf(norm_type) else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    coefficient = max_norm / (total + 1e-6)
    return total, min(coefficient, 1.0)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 100.0])
def test_clipping_by_global_norm(norm_type, max_norm):
    rng = np.random.default_rng(int(max_norm * 10) + int(min(norm_type, 9)))
    grads = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=(3, 1)), "c": np.asarray(rng.normal())}
    total, coefficient = _numpy_clip(grads, max_norm, norm_type)
    clipped = clip_grad_norm(grads, max_norm, norm_type)
    assert clipped.total_norm == pytest.approx(total, rel=1e-13)
    assert clipped.coefficient == pytest.approx(coefficient, rel=1e-13)
    assert clipped.clipped == (coefficient < 1)
    for name, g in grads.items():
        np.testing.assert_allclose(clipped.grads[name], g * coefficient, rtol=1e-13)
        assert clipped.grads[name].shape == np.shape(g)


def test_clipping_leaves_small_gradients_alone_and_reports_non_finite():
    small = clip_grad_norm({"w": np.array([0.3, 0.4])}, 1.0)
    assert small.total_norm == pytest.approx(0.5) and small.coefficient == 1.0 and not small.clipped
    np.testing.assert_array_equal(small.grads["w"], [0.3, 0.4])
    at_limit = clip_grad_norm({"w": np.array([3.0, 4.0])}, 5.0)
    assert at_limit.clipped and at_limit.coefficient == pytest.approx(5.0 / (5.0 + 1e-6))
    with pytest.raises(ValuesError, match="non-finite"):
        clip_grad_norm({"w": np.array([np.inf])}, 1.0, error_if_nonfinite=True)
    assert math.isnan(clip_grad_norm({"w": np.array([np.nan])}, 1.0).total_norm)
    assert clip_grad_norm({}, 1.0).total_norm == 0.0


def _toy_data(samples: int = 64):
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, size=(samples, 2))
    y = (2 * x[:, 0] - x[:, 1] + 0.5 * x[:, 0] * x[:, 1])[:, None]
    return {"x": x, "y": y}


def test_training_drives_the_loss_down():
    d = sbp.backprop(sbp.mlp([2, 8, 1], "tanh", "identity", "mse"))
    history = train(d, _toy_data(), 0.1, 40, batch_size=16)
    assert len(history.losses) == 41 and history.steps == 40 * 4 and len(history.step_losses) == 160
    assert history.losses[-1] < 0.05 * history.losses[0]
    assert history.losses[20] < history.losses[0]
    clipped = train(d, _toy_data(), 0.1, 40, batch_size=16, max_norm=0.5)
    assert clipped.losses[-1] < 0.1 * clipped.losses[0]
    again = train(d, _toy_data(), 0.1, 40, batch_size=16)
    assert again.losses == history.losses  # seeded: the same run twice


def test_full_batch_training_from_given_params(reference):
    data = {"x": [[1, 2], [0.5, -1], [2, 0.5]], "y": [3, 1, 2]}
    params = {k: v for k, v in sbp.reference_values().items() if k not in ("x", "y")}
    history = train(reference, data, 0.05, 30, params=params, shuffle=False)
    assert history.steps == 30 and history.losses[-1] < history.losses[0]
    first = sgd_step(reference, {**params, **data}, 0.05)
    after_one = train(reference, data, 0.05, 1, params=params, shuffle=False).params
    for name in first:
        np.testing.assert_allclose(after_one[name], first[name], rtol=1e-14)


def test_initial_params_follow_nn_linear():
    d = sbp.backprop(sbp.mlp([4, 9, 1]))
    params = initial_params(d, seed=1)
    assert params["W1"].shape == (9, 4) and params["b1"].shape == (9, 1) and params["b2"].shape == ()
    assert np.all(np.abs(params["W1"]) <= 1 / 2) and np.all(np.abs(params["b1"]) <= 1 / 2)
    assert np.all(np.abs(params["W2"]) <= 1 / 3) and abs(float(params["b2"])) <= 1 / 3


def test_training_refuses_bad_arguments(reference):
    data = {"x": [[1, 2]], "y": [3]}
    with pytest.raises(ValuesError):
        train(reference, data, -0.1, 1)
    with pytest.raises(ValuesError):
        train(reference, data, 0.1, -1)
    with pytest.raises(MissingValueError):
        train(reference, {"x": [[1, 2]]}, 0.1, 1)
    with pytest.raises(ValuesError):
        train(reference, {"x": [[1, 2], [3, 4]], "y": [3]}, 0.1, 1)
    with pytest.raises(ValuesError):
        sgd_step(reference, sbp.reference_values(), float("nan"))
