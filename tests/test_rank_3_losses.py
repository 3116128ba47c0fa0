"""Losses of tensors of rank 3 and 4, read as the matrix of their rows, as a matrix is read.

``mse`` is ``F.mse_loss`` (the mean over every entry), ½‖h − y‖² half of ``F.mse_loss(reduction="sum")``,
``cross_entropy`` of (…, C) logits ``F.cross_entropy`` of the flattened rows, against (…, 1) class indices or
targets of the logits' shape; each against PyTorch float64 and central finite differences, at several
shapes, sizes of one among them. The binary cross-entropies keep to columns and say how to get one.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import InvalidClassIndexError, UnsupportedRankError
from symbackprop.spec import parse_spec

SHAPES = [(2, 3, 4), (1, 1, 1), (3, 2, 1), (2, 1, 3, 2)]


def _central_differences(d: sbp.Derivation, values: dict, name: str, step: float = 1e-6) -> np.ndarray:
    expected = np.zeros_like(values[name])
    for index in np.ndindex(values[name].shape):
        plus, minus = values[name].copy(), values[name].copy()
        plus[index] += step
        minus[index] -= step
        expected[index] = (float(d.evaluate({**values, name: plus}).forward["L"])
                           - float(d.evaluate({**values, name: minus}).forward["L"])) / (2 * step)
    return expected


def _squared(loss, shape, seed):
    """L = loss(tanh(h), y): the prediction a node of its own, so the gradient passes a step before h."""
    net = sbp.Network()
    h, y = net.param("h", shape), net.param("y", shape)
    p = net.node("p", sbp.tanh(h))
    net.loss("L", loss(p, y))
    rng = np.random.default_rng(seed)
    return sbp.backprop(net), {"h": rng.normal(size=shape), "y": rng.normal(size=shape)}


SQUARED = {"mse": (sbp.mse, lambda F, p, y: F.mse_loss(p, y)),
           "half_squared_error": (sbp.half_squared_error, lambda F, p, y: F.mse_loss(p, y, reduction="sum") / 2)}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("loss", SQUARED)
def test_a_squared_error_agrees_with_pytorch(loss, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = SQUARED[loss]
    d, values = _squared(ours, shape, 1)
    evaluation = d.evaluate(values)
    h, y = (torch.tensor(values[k], dtype=torch.float64, requires_grad=True) for k in "hy")
    value = theirs(torch.nn.functional, torch.tanh(h), y)
    value.backward()
    np.testing.assert_allclose(evaluation.forward["L"], value.item(), rtol=1e-14)
    compiled = d.lambdify()(**values)
    for name, tensor in (("h", h), ("y", y)):
        np.testing.assert_allclose(evaluation.grad[name], tensor.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(compiled[name], tensor.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("loss", SQUARED)
def test_a_squared_error_s_gradients_agree_with_central_differences(loss, shape):
    d, values = _squared(SQUARED[loss][0], shape, 2)
    evaluation = d.evaluate(values)
    for name in "hy":
        np.testing.assert_allclose(evaluation.grad[name], _central_differences(d, values, name),
                                   rtol=1e-6, atol=1e-9, err_msg=name)


# -- cross-entropy of (…, C) logits ----------------------------------------------------------------

LOGITS = [(2, 3, 5), (1, 1, 3), (3, 1, 2), (2, 1, 2, 4)]  # one class would read indices as targets


def _classified(shape, seed, indices):
    net = sbp.Network()
    w = net.param("w", shape)
    z = net.node("z", w * net.input("x", shape))  # logits a step after the parameter
    target = net.input("Y", (*shape[:-1], 1) if indices else shape)
    net.loss("L", sbp.cross_entropy(z, target, axis=-1))
    rng = np.random.default_rng(seed)
    values = {"w": rng.normal(size=shape), "x": rng.normal(size=shape)}
    if indices:
        values["Y"] = rng.integers(0, shape[-1], size=(*shape[:-1], 1))
    else:  # probabilities along each row
        weights = rng.random(size=shape)
        values["Y"] = weights / weights.sum(axis=-1, keepdims=True)
    return sbp.backprop(net), values


@pytest.mark.parametrize("indices", [True, False], ids=["class-indices", "probabilities"])
@pytest.mark.parametrize("shape", LOGITS)
def test_cross_entropy_of_rows_of_classes_agrees_with_pytorch(shape, indices):
    torch = pytest.importorskip("torch")
    d, values = _classified(shape, 3, indices)
    evaluation = d.evaluate(values)
    w = torch.tensor(values["w"], dtype=torch.float64, requires_grad=True)
    z = w * torch.tensor(values["x"], dtype=torch.float64)
    z.retain_grad()
    classes = shape[-1]
    target = torch.tensor(values["Y"]).reshape(-1) if indices else torch.tensor(values["Y"]).reshape(-1, classes)
    value = torch.nn.functional.cross_entropy(z.reshape(-1, classes), target)
    value.backward()
    np.testing.assert_allclose(evaluation.forward["L"], value.item(), rtol=1e-13)
    np.testing.assert_allclose(evaluation.grad["z"], z.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(evaluation.grad["w"], w.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d.lambdify()(**values)["w"], w.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("indices", [True, False], ids=["class-indices", "probabilities"])
@pytest.mark.parametrize("shape", LOGITS)
def test_cross_entropy_of_rows_of_classes_agrees_with_central_differences(shape, indices):
    d, values = _classified(shape, 4, indices)
    np.testing.assert_allclose(d.evaluate(values).grad["w"], _central_differences(d, values, "w"),
                               rtol=1e-6, atol=1e-9)


def test_class_indices_out_of_range_are_refused_with_the_input_and_the_bound():
    d, values = _classified((2, 3, 5), 5, indices=True)
    values["Y"][1, 2, 0] = 5
    with pytest.raises(InvalidClassIndexError, match=r"value of 'Y': 5(\.0)? is not a class index; cross_entropy over "
                                                     r"5 classes takes integers from 0 to 4"):
        d.evaluate(values)


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda net: sbp.cross_entropy(net.input("z", (2, 3, 5)), net.input("Y", (2, 3, 1))), sbp.InvalidAxisError,
     "classes along the last axis; give axis=-1"),
    (lambda net: sbp.cross_entropy(net.input("z", (2, 3, 5)), net.input("Y", (2, 1, 5)), axis=-1),
     sbp.ShapeMismatchError, r"class indices of shape \(2, 3, 1\) \(one per row of classes\)"),
    (lambda net: sbp.cross_entropy(net.input("z", (2, 3, 5)), 2 * net.input("Y", (2, 3, 1)), axis=-1),
     sbp.InvalidOperandError, "must be an input of the network"),
    (lambda net: sbp.binary_cross_entropy(net.input("p", (2, 3, 1)), net.input("y", (2, 3, 1))),
     UnsupportedRankError, r"reshape both to columns first, binary_cross_entropy\(h.reshape\(-1\), y.reshape\(-1\)\)"),
    (lambda net: sbp.bce_with_logits(net.input("p", (2, 3, 4)), net.input("y", (2, 3, 4))),
     UnsupportedRankError, "nn.BCEWithLogitsLoss"),
    (lambda net: sbp.mse(net.input("p", (2, 3, 4)), net.input("y", (2, 4, 3))), sbp.ShapeMismatchError,
     "has shape"),
])
def test_what_a_loss_does_not_take_at_rank_3_is_refused_with_what_to_do(make, error, message):
    with pytest.raises(error, match=message):
        make(sbp.Network())


def test_the_binary_cross_entropy_of_a_tensor_laid_out_as_a_column_is_pytorch_s():
    """What the refusal above says to do gives nn.BCELoss's mean over every entry."""
    torch = pytest.importorskip("torch")
    net = sbp.Network()
    z, y = net.param("z", (2, 3, 2)), net.input("y", (2, 3, 2))
    p = net.node("p", sbp.sigmoid(z))
    net.loss("L", sbp.binary_cross_entropy(p.reshape(-1), y.reshape(-1)))
    rng = np.random.default_rng(6)
    values = {"z": rng.normal(size=(2, 3, 2)), "y": rng.integers(0, 2, size=(2, 3, 2)).astype(float)}
    evaluation = sbp.backprop(net).evaluate(values)
    tz = torch.tensor(values["z"], dtype=torch.float64, requires_grad=True)
    value = torch.nn.functional.binary_cross_entropy(torch.sigmoid(tz), torch.tensor(values["y"]))
    value.backward()
    np.testing.assert_allclose(evaluation.forward["L"], value.item(), rtol=1e-13)
    np.testing.assert_allclose(evaluation.grad["z"], tz.grad.numpy(), rtol=1e-12, atol=1e-15)


SPEC = """
[inputs]
x = [2, 3, 4]
Y = [2, 3, 1]
[params]
w = [2, 3, 4]
[nodes]
z = "w * x"
[loss]
L = "cross_entropy(z, Y, axis=-1) + mse(z, x)"
"""


def test_a_spec_file_takes_the_losses_of_rank_3_and_its_document_compiles():
    from .tooling import compile_latex, pdflatex

    d = sbp.backprop(parse_spec(SPEC).network)
    rng = np.random.default_rng(7)
    values = {"x": rng.normal(size=(2, 3, 4)), "w": rng.normal(size=(2, 3, 4)), "Y": rng.integers(0, 4, (2, 3, 1))}
    np.testing.assert_allclose(d.evaluate(values).grad["w"], _central_differences(d, values, "w"),
                               rtol=1e-6, atol=1e-9)
    latex = d.to_latex(values=values, standalone=True)
    assert r"\operatorname{onehot}\left(\operatorname{reshape}_{6 \times 1}\left(Y\right)\right)" in latex
    assert r"\frac{1}{24} \left\lVert \operatorname{reshape}_{6 \times 4}\left(z\right)" in latex
    if pdflatex() is not None:
        compiled = compile_latex(latex)
        assert compiled.ok, compiled.errors
