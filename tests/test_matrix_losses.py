"""Losses of matrices and cross-entropy along an axis with class indices, against PyTorch float64."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop.errors import InvalidAxisError, InvalidClassIndexError, InvalidOperandError, ShapeMismatchError
from symbackprop.spec import parse_spec

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the losses: pip install torch==2.13.0")
F = torch.nn.functional


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64, requires_grad=grad)


@pytest.mark.parametrize("kind", ["mse", "half_squared_error"])
@pytest.mark.parametrize("shape", [(3, 4), (1, 5), (2, 2)])
@pytest.mark.parametrize("batch", [None, 4])
def test_squared_errors_of_matrices_match_pytorch(kind, shape, batch):
    rng = np.random.default_rng(abs(hash((kind, shape, batch))) % 2**32)
    net = sbp.Network()
    x = net.input("X", (shape[0], 3))
    w = net.param("W", (3, shape[1]))
    y = net.input("Y", shape)
    h = net.node("H", sbp.tanh(x @ w))
    net.loss("L", getattr(sbp, kind)(h, y))
    leading = () if batch is None else (batch,)
    values = {"X": rng.normal(size=leading + (shape[0], 3)), "W": rng.normal(size=(3, shape[1])),
              "Y": rng.normal(size=leading + shape)}
    ev = sbp.backprop(net).evaluate(values)
    xt, wt, yt = _t(values["X"], True), _t(values["W"], True), _t(values["Y"], True)
    ht = torch.tanh(xt @ wt)
    if kind == "mse":
        per_sample = ((ht - yt) ** 2).mean(dim=(-2, -1))
        assert np.isclose(per_sample.mean().item(), F.mse_loss(ht, yt).item(), rtol=1e-14)
    else:
        per_sample = 0.5 * ((ht - yt) ** 2).sum(dim=(-2, -1))
    loss = per_sample.mean()
    loss.backward()
    np.testing.assert_allclose(ev.loss, loss.item(), rtol=1e-12)
    for name, tensor in (("X", xt), ("W", wt), ("Y", yt)):
        np.testing.assert_allclose(ev.grad[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)


def _cross_entropy_network(shape, axis, target_shape, inner=3):
    net = sbp.Network()
    x = net.input("X", (shape[0], inner) if axis == 1 else (inner, shape[1]))
    w = net.param("W", (inner, shape[1]) if axis == 1 else (shape[0], inner))
    y = net.input("y", target_shape) if target_shape != (1, 1) else net.input("y")
    z = net.node("Z", x @ w if axis == 1 else w @ x)
    net.loss("L", sbp.cross_entropy(z, y, axis=axis))
    return net


def _torch_cross_entropy(values, axis, index):
    xt, wt = _t(values["X"], True), _t(values["W"], True)
    z = xt @ wt if axis == 1 else wt @ xt
    logits = z if axis == 1 else z.transpose(-1, -2)  # one row per distribution, as F.cross_entropy reads
    logits = logits.reshape(-1, logits.shape[-1])
    y = np.asarray(values["y"])
    if index:
        target = torch.tensor(y.reshape(-1).astype(np.int64))
    else:
        target = _t(y if axis == 1 else np.swapaxes(y, -1, -2)).reshape(-1, logits.shape[-1])
    loss = F.cross_entropy(logits, target)  # the mean over every row of every sample: rows per sample are equal
    loss.backward()
    return loss.item(), {"X": xt.grad.numpy(), "W": wt.grad.numpy()}


@pytest.mark.parametrize("shape,axis", [((4, 1), 0), ((5, 3), 1), ((3, 4), 0), ((1, 6), 1)])
@pytest.mark.parametrize("index", [True, False])
@pytest.mark.parametrize("batch", [None, 3])
def test_cross_entropy_along_an_axis_matches_pytorch(shape, axis, index, batch):
    rng = np.random.default_rng(abs(hash((shape, axis, index, batch))) % 2**32)
    classes, samples = shape[axis], shape[1 - axis]
    target_shape = ((samples, 1) if axis == 1 else (1, samples)) if index else shape
    net = _cross_entropy_network(shape, axis, target_shape)
    leading = () if batch is None else (batch,)
    x_shape = (shape[0], 3) if axis == 1 else (3, shape[1])
    if index:
        y = rng.integers(0, classes, size=leading + target_shape).astype(float)
    else:  # probabilities along the class axis
        p = rng.random(size=leading + shape)
        y = p / p.sum(axis=axis - 2, keepdims=True)
    values = {"X": rng.normal(size=leading + x_shape) * 3, "W": rng.normal(size=(3, shape[1]) if axis == 1
                                                                           else (shape[0], 3)), "y": y}
    ev = sbp.backprop(net).evaluate(values)
    loss, grads = _torch_cross_entropy(values, axis, index)
    np.testing.assert_allclose(ev.loss, loss, rtol=1e-12)
    for name in ("X", "W"):
        np.testing.assert_allclose(ev.grad[name], grads[name], rtol=1e-10, atol=1e-14, err_msg=name)


def test_a_column_and_its_class_index_as_f_cross_entropy_with_a_batch_and_tails():
    net = sbp.Network()
    z = net.input("z", (3, 1))
    w = net.param("w", (3, 1))
    k = net.input("k")
    net.loss("L", sbp.cross_entropy(z * w, k))
    logits = np.array([[800.0, -800.0, 0.0], [-800.0, 800.0, 1.0], [3.0, 2.0, 1.0]])
    classes = np.array([1, 1, 0])
    w_value = np.array([[1.0], [0.5], [2.0]])
    ev = sbp.backprop(net).evaluate({"z": logits, "k": classes, "w": w_value})
    zt, wt = _t(logits, True), _t(w_value[:, 0], True)
    loss = F.cross_entropy(zt * wt, torch.tensor(classes))
    loss.backward()
    assert np.isfinite(ev.loss) and np.isfinite(ev.grad["z"]).all()
    np.testing.assert_allclose(ev.loss, loss.item(), rtol=1e-14)
    np.testing.assert_allclose(ev.grad["z"][..., 0], zt.grad.numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ev.grad["w"][:, 0], wt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("axis,index", [(1, True), (1, False), (0, True)])
def test_exact_evaluation_agrees_with_floats(axis, index):
    shape = (2, 3) if axis == 1 else (3, 2)
    samples = 2
    target_shape = ((samples, 1) if axis == 1 else (1, samples)) if index else shape
    net = _cross_entropy_network(shape, axis, target_shape, inner=2)
    rng = np.random.default_rng(1)
    x = np.array([[sp.Rational(int(v), 4) for v in row] for row in rng.integers(-6, 6, size=(2, 2))], dtype=object)
    w_shape = (2, shape[1]) if axis == 1 else (shape[0], 2)
    w = np.array([[sp.Rational(int(v), 3) for v in row] for row in rng.integers(-4, 4, size=w_shape)], dtype=object)
    y = (np.array([[2], [0]] if axis == 1 else [[1, 2]], dtype=object) if index
         else np.full(shape, sp.Rational(1, shape[axis]), dtype=object))
    values = {"X": x, "W": w, "y": y}
    d = sbp.backprop(net)
    exact = d.evaluate(values, exact=True)
    floats = d.evaluate({k: v.astype(float) for k, v in values.items()})
    assert not sp.sympify(exact.loss).is_Float
    np.testing.assert_allclose(float(exact.loss), floats.loss, rtol=1e-13)
    np.testing.assert_allclose(np.array(exact.grad["W"], dtype=float), floats.grad["W"], rtol=1e-12)
    loss, grads = _torch_cross_entropy({k: v.astype(float) for k, v in values.items()}, axis, index)
    np.testing.assert_allclose(float(exact.loss), loss, rtol=1e-13)


def test_class_indices_are_checked_at_evaluation_and_shapes_at_construction():
    net = _cross_entropy_network((4, 3), 1, (4, 1))
    d = sbp.backprop(net)
    good = {"X": np.ones((4, 3)), "W": np.ones((3, 3))}
    for bad in ([[0], [1], [3], [2]], [[0], [1.5], [2], [2]], [[-1], [0], [0], [0]]):
        with pytest.raises(InvalidClassIndexError, match="'y'"):
            d.evaluate({**good, "y": bad})
    with pytest.raises(InvalidClassIndexError):
        d.evaluate({**good, "y": [[0], [1], [sp.Rational(1, 2)], [2]]}, exact=True)
    net = sbp.Network()
    z = net.input("Z", (4, 3))
    y = net.input("y", (3, 1))
    with pytest.raises(ShapeMismatchError, match=r"\(4, 1\)"):
        sbp.cross_entropy(z, y, axis=1)
    with pytest.raises(InvalidAxisError):
        sbp.cross_entropy(z, z, axis=2)
    with pytest.raises(InvalidOperandError, match="input"):
        sbp.cross_entropy(z, net.input("k", (4, 1)) * 2, axis=1)
    with pytest.raises(InvalidOperandError, match="options"):
        sbp.mse(z, z, axis=1)
    with pytest.raises(ShapeMismatchError):
        sbp.binary_cross_entropy(z, z)  # still a loss of columns


def test_the_classic_column_loss_is_the_node_it_always_was():
    net = sbp.Network()
    z = net.input("z", (3, 1))
    y = net.input("y", (3, 1))
    node = sbp.cross_entropy(z, y)
    assert node.options == () and node == sbp.cross_entropy(z, y, axis=0)


def test_spec_files_take_the_axis_and_class_indices():
    text = ('[inputs]\nX = [4, 3]\nk = [4, 1]\n[params]\nW = [3, 3]\n[nodes]\nZ = "X @ W"\n'
            '[loss]\nL = "cross_entropy(Z, k, axis=1) + mse(Z, X)"\n')
    spec = parse_spec(text)
    rng = np.random.default_rng(3)
    x, w, k = rng.normal(size=(4, 3)), rng.normal(size=(3, 3)), np.array([[2], [0], [1], [1]])
    ev = sbp.backprop(spec.network).evaluate({"X": x, "W": w, "k": k})
    xt, wt = _t(x, True), _t(w, True)
    loss = F.cross_entropy(xt @ wt, torch.tensor(k[:, 0])) + F.mse_loss(xt @ wt, xt)
    loss.backward()
    np.testing.assert_allclose(ev.loss, loss.item(), rtol=1e-12)
    np.testing.assert_allclose(ev.grad["W"], wt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ev.grad["X"], xt.grad.numpy(), rtol=1e-10)


def test_documents_print_the_losses_with_numbers():
    net = _cross_entropy_network((2, 3), 1, (2, 1), inner=2)
    markdown = sbp.backprop(net).to_markdown({"X": [[1, 0], [0, 1]], "W": [[1, 2, 3], [0, 1, -1]], "y": [[2], [0]]})
    assert r"\operatorname{onehot}\left(y\right)" in markdown
    assert r"\frac{1}{2} \left(\operatorname{softmax}_{\mathrm{row}}\left(Z\right)" in markdown
    assert "&= 0.9076" in markdown  # (0.4076 + 1.4076)/2: −log softmax([1, 2, 3])₃ and −log softmax([0, 1, −1])₁


_ACTIVATIONS = {"tanh": (sbp.tanh, torch.tanh), "sigmoid": (sbp.sigmoid, torch.sigmoid),
                "identity": (sbp.identity, lambda t: t)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(1, 4), columns=st.integers(2, 4), inner=st.integers(1, 3),
       activation=st.sampled_from(sorted(_ACTIVATIONS)), normalise=st.sampled_from(["softmax", "log_softmax"]),
       axis=st.integers(0, 1), loss=st.sampled_from(["cross_entropy", "mse", "half_squared_error"]),
       seed=st.integers(0, 2**16), batch=st.sampled_from([None, 2]))
def test_random_compositions_match_pytorch(rows, columns, inner, activation, normalise, axis, loss, seed, batch):
    """Z = f(X W), A = softmax or log_softmax of Z along an axis, then A V and a loss: every gradient."""
    rng = np.random.default_rng(seed)
    net = sbp.Network()
    x = net.input("X", (rows, inner))
    w = net.param("W", (inner, columns))
    v = net.param("V", (columns, columns))
    y_shape = (rows, 1) if loss == "cross_entropy" else (rows, columns)
    y = net.input("Y", y_shape)
    z = net.node("Z", _ACTIVATIONS[activation][0](x @ w))
    a = net.node("A", getattr(sbp, normalise)(z, axis=axis))
    out = net.node("O", a @ v)
    net.loss("L", sbp.cross_entropy(out, y, axis=1) if loss == "cross_entropy" else getattr(sbp, loss)(out, y))
    leading = () if batch is None else (batch,)
    values = {"X": rng.normal(size=leading + (rows, inner)) * 2, "W": rng.normal(size=(inner, columns)),
              "V": rng.normal(size=(columns, columns)),
              "Y": (rng.integers(0, columns, size=leading + y_shape).astype(float) if loss == "cross_entropy"
                    else rng.normal(size=leading + y_shape))}
    ev = sbp.backprop(net).evaluate(values)
    xt, wt, vt = _t(values["X"], True), _t(values["W"], True), _t(values["V"], True)
    zt = _ACTIVATIONS[activation][1](xt @ wt)
    at = getattr(torch, normalise)(zt, dim=axis - 2)
    ot = at @ vt
    if loss == "cross_entropy":
        lt = F.cross_entropy(ot.reshape(-1, columns), torch.tensor(values["Y"].reshape(-1).astype(np.int64)))
    elif loss == "mse":
        lt = F.mse_loss(ot, _t(values["Y"]))
    else:
        lt = (0.5 * ((ot - _t(values["Y"])) ** 2).sum(dim=(-2, -1))).mean()
    lt.backward()
    np.testing.assert_allclose(ev.loss, lt.item(), rtol=1e-11)
    for name, tensor in (("X", xt), ("W", wt), ("V", vt)):
        expected = tensor.grad.numpy()  # a 1×1 input's gradient comes as the scalars it was given
        np.testing.assert_allclose(np.reshape(ev.grad[name], expected.shape), expected, rtol=1e-9, atol=1e-12,
                                   err_msg=name)
