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
    for name in ours:  # the rows program sums over the samples in another order than the general one
        np.testing.assert_allclose(ours[name], full[name], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("batch", [6, 2000])  # x among the small values summed together, and on its own
def test_huge_finite_numbers_are_answered_and_infinity_refused(derivation, batch):
    grad, rng = derivation.lambdify(), np.random.default_rng(5)
    values = _values(rng, batch)
    grad(**values)
    values["x"] = values["x"].copy()
    values["x"][1, 2] = 1e200
    ours, full = grad(**values), derivation.evaluate(values).grad
    for name in ours:  # the rows program sums over the samples in another order than the general one
        np.testing.assert_allclose(ours[name], full[name], rtol=1e-13, atol=1e-15)
    values["x"][0, 0] = np.inf
    with pytest.raises(sbp.errors.NonFiniteValueError, match="'x'"):
        grad(**values)


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


def _indexed():
    """Class indices and the rows of an embedding picked by integer inputs."""
    net = sbp.Network()
    words, y = net.input("words", (4, 1)), net.input("y", (4, 1))
    table, weights = net.param("C", (6, 3)), net.param("W", (3, 5))
    logits = net.node("z", table[words] @ weights)
    net.loss("L", sbp.cross_entropy(logits, y, axis=1))
    return sbp.backprop(net)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8, np.dtype(">i8"), np.float64])
def test_indices_keep_the_fast_path_and_are_checked_on_every_call(dtype, monkeypatch):
    from symbackprop import signatures

    derivation = _indexed()
    grad, rng = derivation.lambdify(), np.random.default_rng(4)
    values = {"words": rng.integers(0, 6, size=(4, 1)).astype(dtype),
              "y": rng.integers(0, 5, size=(4, 1)).astype(dtype),
              "C": rng.normal(size=(6, 3)), "W": rng.normal(size=(3, 5))}
    expected = derivation.evaluate({k: np.asarray(v, dtype=float) for k, v in values.items()}).grad
    first = grad(**values)
    full_path = []
    original = signatures.conform_all
    monkeypatch.setattr(signatures, "conform_all", lambda *a, **k: full_path.append(1) or original(*a, **k))
    for _ in range(3):
        again = grad(**values)
        for name in ("C", "W"):
            np.testing.assert_allclose(again[name], expected[name], rtol=1e-12, atol=1e-14)
            np.testing.assert_array_equal(again[name], first[name])
    assert not full_path  # the signature was known: no full check
    lowest = np.iinfo(dtype).min if np.dtype(dtype).kind == "i" else -1
    for name, bad, error in (("y", 5, sbp.InvalidClassIndexError), ("words", 6, sbp.InvalidIndexError),
                             ("words", -1, sbp.InvalidIndexError), ("y", lowest, sbp.InvalidClassIndexError)):
        if bad < 0 and np.dtype(dtype).kind == "u":
            continue
        wrong = {**values, name: values[name].copy()}
        wrong[name][2, 0] = bad
        with pytest.raises(error, match=f"{name!r}: {bad if bad > -1000 else ''}"):
            grad(**wrong)
    if dtype == np.float64:
        wrong = {**values, "y": values["y"] + 0.5}
        with pytest.raises(sbp.InvalidClassIndexError, match="not a class index"):
            grad(**wrong)


def test_a_large_batch_of_indices_is_checked_in_whole_array_passes():
    """65,536 class indices: checked in whole-array passes (a SymPy number per index took minutes)."""
    net = sbp.Network()
    x, y = net.input("x", (1, 3)), net.input("y", (1, 1))
    weights = net.param("W", (3, 4))
    net.loss("L", sbp.cross_entropy(net.node("z", x @ weights), y, axis=1))
    derivation = sbp.backprop(net)
    rng = np.random.default_rng(0)
    values = {"x": rng.normal(size=(65536, 1, 3)), "y": rng.integers(0, 4, size=(65536, 1, 1)),
              "W": rng.normal(size=(3, 4))}
    gradient = derivation.lambdify()(**values)["W"]
    z = values["x"][:, 0] @ values["W"]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(65536), values["y"][:, 0, 0]] -= 1
    np.testing.assert_allclose(gradient, values["x"][:, 0].T @ p / 65536, rtol=1e-10, atol=1e-14)


def test_a_batch_of_indices_on_the_rows_fast_path_is_still_checked_and_converted():
    """A batched signature runs the rows program's fast path; its indices are checked on every call there too."""
    derivation = _indexed()
    grad, rng = derivation.lambdify(), np.random.default_rng(6)
    values = {"words": rng.integers(0, 6, size=(3, 4, 1)), "y": rng.integers(0, 5, size=(3, 4, 1)),
              "C": rng.normal(size=(6, 3)), "W": rng.normal(size=(3, 5))}
    expected = derivation.evaluate({k: np.asarray(v, dtype=float) for k, v in values.items()}).grad
    for _ in range(3):
        gradient = grad(**values)
        for name in ("C", "W"):
            np.testing.assert_allclose(gradient[name], expected[name], rtol=1e-12, atol=1e-14)
    wrong = {**values, "y": values["y"].copy()}
    wrong["y"][1, 2, 0] = 7
    with pytest.raises(sbp.InvalidClassIndexError, match="'y': 7"):
        grad(**wrong)


@pytest.mark.parametrize("network", ["rnn", "mlp", "attention", "swiglu", "layer_norm", "classifier"])
def test_one_sample_runs_as_a_batch_of_one_with_the_same_numbers(network):
    builders = {
        "rnn": lambda: sbp.models.rnn(3, 4, T=5), "mlp": lambda: sbp.mlp([3, 5, 2], activation="tanh"),
        "attention": lambda: sbp.models.attention_head(4, T=3), "swiglu": lambda: sbp.models.swiglu_mlp(3, 6),
        "layer_norm": lambda: sbp.models.layer_norm(4, T=3), "classifier": lambda: _indexed().network,
    }
    derivation = sbp.backprop(builders[network]())
    grad, rng = derivation.lambdify(), np.random.default_rng(8)
    values = {q.name: (rng.integers(0, 5, size=q.shape) if q.name in ("words", "y") and network == "classifier"
                       else rng.normal(size=q.shape)) for q in derivation.network.quantities("input", "param")}
    expected = derivation.evaluate(values).grad
    for _ in range(6):  # the general program's calls, the rows program's first, then its remembered signature
        gradient = grad(**values)
        assert gradient.keys() == {q.name for q in derivation.network.params}
        for name, value in gradient.items():
            assert value.shape == np.shape(expected[name])
            np.testing.assert_allclose(value, expected[name], rtol=1e-12, atol=1e-14, err_msg=name)
