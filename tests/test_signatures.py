"""A compiled gradient checks values once per shape signature; numbers (NaN, infinity) on every call."""

import numpy as np
import pytest

import symbackprop as sbp


def _values(rng, batch, sizes=(3, 4, 2)):
    values = {"x": rng.normal(size=(batch, sizes[0])), "y": rng.normal(size=(batch, sizes[-1]))}
    for k in range(len(sizes) - 1):
        values[f"W{k + 1}"] = rng.normal(size=(sizes[k + 1], sizes[k]))
        values[f"b{k + 1}"] = rng.normal(size=(sizes[k + 1], 1))
    return values


@pytest.fixture
def derivation():
    return sbp.backprop(sbp.mlp([3, 4, 2]))


def test_repeated_calls_agree_with_the_full_path(derivation):
    torch = pytest.importorskip("torch")
    grad, rng = derivation.lambdify(), np.random.default_rng(1)
    for batch in (5, 5, 1, 7, 5):
        values = _values(rng, batch)
        ours = grad(**values)
        assert ours.keys() == {"W1", "b1", "W2", "b2"}
        t = {k: torch.tensor(v, requires_grad=k[0] in "Wb") for k, v in values.items()}
        h = torch.relu(t["x"] @ t["W1"].T + t["b1"][:, 0])
        h = torch.relu(h @ t["W2"].T + t["b2"][:, 0])
        (0.5 * ((h - t["y"]) ** 2).sum(dim=1).mean()).backward()
        for name in ours:
            np.testing.assert_allclose(ours[name], t[name].grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", ["x", "W2", "b1", "y"])
def test_a_known_signature_still_refuses_non_finite_numbers(derivation, name, bad):
    grad, rng = derivation.lambdify(), np.random.default_rng(2)
    values = _values(rng, 6)
    grad(**values)
    values[name] = values[name].copy()
    values[name].flat[-1] = bad
    with pytest.raises(sbp.errors.NonFiniteValueError, match=repr(name)):
        grad(**values)


def test_a_known_signature_still_refuses_wrong_names_and_shapes(derivation):
    grad, rng = derivation.lambdify(), np.random.default_rng(3)
    values = _values(rng, 6)
    grad(**values)
    with pytest.raises(sbp.errors.ExtraValueError):
        grad(**values, z1=values["b1"])
    with pytest.raises(sbp.errors.ValueShapeError, match="W1"):
        grad(**{**values, "W1": values["W1"].T.copy()})
    with pytest.raises(sbp.errors.ValueShapeError, match="batch size"):
        grad(**{**values, "y": values["y"][:5]})
    assert set(grad(**{**values, "W1": values["W1"].tolist()})) == {"W1", "b1", "W2", "b2"}


def test_sums_that_overflow_are_not_taken_for_infinity(derivation):
    grad, rng = derivation.lambdify(), np.random.default_rng(4)
    values = _values(rng, 6)
    grad(**values)
    values["b1"], values["W2"] = np.full((4, 1), 1e308), np.zeros((2, 4))  # their sum overflows, no number does
    ours, full = grad(**values), derivation.evaluate(values).grad
    for name in ours:
        np.testing.assert_array_equal(ours[name], full[name])


def test_check_false_lets_nan_through(derivation):
    values = _values(np.random.default_rng(5), 6)
    values["x"][0, 0] = np.nan
    with pytest.raises(sbp.errors.NonFiniteValueError):
        derivation.lambdify()(**values)
    fast = derivation.lambdify(check=False)
    for _ in range(2):  # the first call of a signature and a later one
        gradient = fast(**values)
        assert np.isnan(gradient["W1"]).any()
        with pytest.raises(sbp.errors.ValueShapeError):
            fast(**{**values, "W1": values["W1"].T.copy()})
