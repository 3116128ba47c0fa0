"""torch's own kernels and program texts: NumPy's numbers (1e-12) with fewer operations, bad class indices refused.

A small block on torch eager pays per operation, so the torch backend runs the softmax in one
kernel, subtracts the one-hot of integer class indices in one scatter (which refuses an index
outside 0 … C − 1), leaves out a batch of one's products by 1 and multiplies ReLU′'s gate into
its step's buffer.  Each is checked against NumPy's ``lambdify`` here, and the gradients of a
batch of one, which may now be a program's argument or another gradient as it is, are checked
to be tensors of their own.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import InvalidClassIndexError

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")

from symbackprop.backends.torch_arrays import _gated_steps, _TorchArrays, fresh, one_sample_source  # noqa: E402

TOLERANCE = 1e-12


def _classifier(axis: int) -> sbp.Network:
    net = sbp.Network()
    x = net.input("X", (4, 3) if axis == 1 else (3, 4))
    w = net.param("W", (3, 5) if axis == 1 else (5, 3))
    y = net.input("y", (4, 1) if axis == 1 else (1, 4))
    h = net.node("h", sbp.relu(x @ w if axis == 1 else w @ x))
    net.loss("L", sbp.cross_entropy(h, y, axis=axis))
    return net


def _values(net: sbp.Network, batch: int | None, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {}
    for q in net.quantities("input", "param"):
        leading = (batch,) if batch is not None and q.kind == "input" else ()
        values[q.name] = (rng.integers(0, 5, size=leading + q.shape) if q.name == "y"
                          else rng.normal(size=leading + q.shape))
    return values


def _assert_numpys(d: sbp.Derivation, values: dict, given: dict) -> None:
    expected = d.lambdify(check=False)(**values)
    got = d.lambdify(backend="torch")(**given)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name].numpy(), value, rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("batch", [None, 3])
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.float64])
def test_class_indices_of_any_dtype_give_numpys_numbers(axis, batch, dtype):
    """int64 takes the scatter; int32 and float class indices the one-hot, as before."""
    net = _classifier(axis)
    d = sbp.backprop(net)
    values = _values(net, batch)
    given = {k: torch.as_tensor(v).to(dtype) if k == "y" else torch.as_tensor(v) for k, v in values.items()}
    _assert_numpys(d, values, given)


def test_class_indices_read_elsewhere_too_are_floats():
    """An index that also scales the logits (int64 · a float would be float32 in torch) is converted as before."""
    net = sbp.Network()
    x, y, w = net.input("x", (3, 1)), net.input("y", (1, 1)), net.param("W", (5, 3))
    net.loss("L", sbp.cross_entropy(net.node("z", (w @ x) * (0.1 * y)), y, axis=0))
    d = sbp.backprop(net)
    values = {"x": np.array([[0.1], [0.2], [0.3]]), "y": np.array([[3]]), "W": np.arange(15.0).reshape(5, 3) / 10}
    _assert_numpys(d, values, {k: torch.as_tensor(v) for k, v in values.items()})


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("batch", [None, 3])
@pytest.mark.parametrize("bad", [5, -1])
def test_integer_class_indices_out_of_range_are_refused(axis, batch, bad):
    net = _classifier(axis)
    values = _values(net, batch)
    values["y"].reshape(-1)[1] = bad
    grad = sbp.backprop(net).lambdify(backend="torch")
    for _ in range(2):  # the first call and a call with its shapes seen before
        with pytest.raises(InvalidClassIndexError, match=f"{bad} is not a class index.*from 0 to 4"):
            grad(**{k: torch.as_tensor(v) for k, v in values.items()})


def test_the_classifier_is_traced_whole():
    net = _classifier(1)
    d = sbp.backprop(net)
    values = _values(net, None)
    given = {k: torch.as_tensor(v) for k, v in values.items()}
    grad = d.lambdify(backend="torch")
    traced = torch.compile(grad.gradients, backend="eager", fullgraph=True)(**given)
    for name, value in d.lambdify()(**values).items():
        np.testing.assert_allclose(traced[name].numpy(), value, rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)


def test_a_batch_of_ones_gradients_are_tensors_of_their_own():
    """b and c have the same gradient, the same tensor before it is copied; none is an argument's storage."""
    net = sbp.Network()
    x = net.input("x", (2, 1))
    w, b, c = net.param("W", (3, 2)), net.param("b", (3, 1)), net.param("c", (3, 1))
    net.loss("L", sbp.mse(net.node("z", w @ x + b + c), net.input("y", (3, 1))))
    d = sbp.backprop(net)
    values = _values(net, None)
    given = {k: torch.as_tensor(v) for k, v in values.items()}
    got = d.lambdify(backend="torch")(**given)
    storages = [t.untyped_storage().data_ptr() for t in (*got.values(), *given.values())]
    assert len(set(storages)) == len(storages)
    _assert_numpys(d, values, given)


def test_fresh_copies_what_shares_an_arguments_or_an_earlier_gradients_storage():
    given = torch.ones(2, 2, dtype=torch.float64)
    a, b, c = given.reshape(4, 1), torch.zeros(2, 2, dtype=torch.float64), torch.zeros(2, 2, dtype=torch.float64)
    expected = {"p": a, "p view": given.T, "q": b.T, "r": b, "s": b, "t": c[:, :1]}
    got = fresh(dict(expected), [a])
    assert got["p"] is not a and got["p view"]._base is None
    assert got["q"]._base is b and got["r"] is not b and got["s"] is not b and got["t"]._base is c
    assert all(torch.equal(got[k], v) for k, v in expected.items())


def test_one_sample_text_leaves_out_the_seeds_products_and_squares_a_name_by_itself():
    text = one_sample_source("def derivation(v_x, batch_size):\n    g_L = 1.0 / batch_size\n"
                             "    g_z = g_L * f(v_x)\n    g_y = v_x * g_L\n    h = v_x ** 2 + f(v_x) ** 2\n"
                             "    return g_L * 2")
    assert "g_z = f(v_x)" in text and "g_y = v_x\n" in text and "g_L * 2" in text
    assert "v_x * v_x" in text and "f(v_x) ** 2" in text


def test_relus_gate_is_multiplied_into_its_steps_buffer():
    text = _gated_steps("def f(g, x):\n    return g * np.heaviside(x, 0.0) + g * other.heaviside(x, 0.0)")
    assert "np.gate(g, x, 0.0)" in text and "other.heaviside" in text
    arrays = _TorchArrays()
    x = torch.tensor([[-1.0, 0.0, 2.0, float("nan")], [1e-300, -0.0, float("inf"), -float("inf")]],
                     dtype=torch.float64)
    g = torch.arange(8, dtype=torch.float64).reshape(2, 4) + 1
    step = np.heaviside(x.numpy(), 0.0)
    for upstream, expected in ((g, g.numpy() * step), (g[:1], g[:1].numpy() * step), (2.0, 2.0 * step)):
        np.testing.assert_array_equal(arrays.gate(upstream, x).numpy(), expected)
