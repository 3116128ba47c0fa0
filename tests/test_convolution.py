"""Convolution and pooling: sbp.conv2d, sbp.max_pool2d, sbp.avg_pool2d and the sbp.models.cnn block.

Each operation is checked against PyTorch in float64 (F.conv2d, F.max_pool2d, F.avg_pool2d: values and every
operand's gradient) and, without PyTorch, against central finite differences of the loss; max pooling's
gradient at ties against PyTorch's rule (the first maximal entry of each window in row-major order) and
against the expected array written out; the documents write (and compile where pdflatex is installed); bad
shapes are refused when the network is built.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.network import INPUT, PARAM
from symbackprop.spec import parse_spec

from .tooling import compile_latex, katex_available, katex_errors, markdown_math, pdflatex

#: (image shape, filters, kernel (kh, kw), stride, padding, bias): square and not, one image and a batch.
CONVOLUTIONS = [
    ((1, 5, 5), 2, (3, 3), 1, 0, True),
    ((2, 6, 5), 3, (3, 2), 1, 1, False),
    ((2, 3, 7, 6), 2, (3, 3), 2, 0, True),
    ((3, 2, 6, 7), 4, (2, 3), 2, 1, True),
    ((2, 1, 4, 4), 1, (4, 4), 1, 0, False),
    ((2, 2, 5, 6), 2, (1, 1), (2, 1), (0, 1), True),
]


def _conv_network(image, filters, kernel, stride, padding, bias):
    """x, w (and b) as parameters, so that every operand receives a gradient; L = Σ conv ⊙ C."""
    net = sbp.Network()
    x = net.param("x", image)
    w = net.param("w", (filters, image[-3], *kernel))
    b = net.param("b", (filters, 1)) if bias else None
    y = net.node("y", sbp.conv2d(x, w, b, stride=stride, padding=padding))
    net.loss("L", sbp.total(y * net.input("C", y.shape)))
    return net


def _conv_values(net, seed):
    rng = np.random.default_rng(seed)
    return {q.name: rng.normal(size=q.shape) for q in net.quantities(INPUT, PARAM)}


def _torch_conv(values, stride, padding):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k != "C") for k, v in values.items()}
    batch = t["x"] if t["x"].ndim == 4 else t["x"][None]
    y = F.conv2d(batch, t["w"], t["b"][:, 0] if "b" in t else None, stride=stride, padding=padding)
    y = y if t["x"].ndim == 4 else y[0]
    (y * t["C"]).sum().backward()
    return y.detach().numpy(), {k: v.grad.numpy() for k, v in t.items() if k != "C"}


@pytest.mark.parametrize("case", CONVOLUTIONS, ids=lambda case: "x".join(map(str, case[0])) + f"-s{case[3]}p{case[4]}")
def test_conv2d_against_pytorch(case):
    image, filters, kernel, stride, padding, bias = case
    net = _conv_network(*case)
    values = _conv_values(net, 0)
    expected, gradients = _torch_conv(values, stride, padding)
    evaluation = sbp.backprop(net).evaluate(values)
    np.testing.assert_allclose(evaluation.forward["y"], expected, rtol=1e-12, atol=1e-12)
    for name, gradient in gradients.items():
        np.testing.assert_allclose(evaluation.grad[name], gradient, rtol=1e-10, atol=1e-12, err_msg=name)


def _finite_differences(d, values, names, step=1e-6):
    def loss(changed):
        return float(d.evaluate({**values, **changed}).forward["L"])

    gradients = {}
    for name in names:
        gradient = np.zeros_like(values[name])
        for index in np.ndindex(values[name].shape):
            plus, minus = values[name].copy(), values[name].copy()
            plus[index] += step
            minus[index] -= step
            gradient[index] = (loss({name: plus}) - loss({name: minus})) / (2 * step)
        gradients[name] = gradient
    return gradients


def _sliced_conv(x, w, b, stride, padding):
    """The textbook sum over window offsets, written apart from the library's kernels."""
    (sh, sw), (ph, pw) = (stride, stride) if isinstance(stride, int) else stride, (
        (padding, padding) if isinstance(padding, int) else padding)
    x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(ph, ph), (pw, pw)])
    kh, kw = w.shape[-2:]
    out_h, out_w = (x.shape[-2] - kh) // sh + 1, (x.shape[-1] - kw) // sw + 1
    y = sum(np.einsum("fc,...chw->...fhw", w[:, :, i, j],
                      x[..., i:i + sh * (out_h - 1) + 1:sh, j:j + sw * (out_w - 1) + 1:sw])
            for i in range(kh) for j in range(kw))
    return y if b is None else y + b.reshape(-1, 1, 1)


@pytest.mark.parametrize("case", CONVOLUTIONS[:4], ids=lambda case: "x".join(map(str, case[0])))
def test_conv2d_against_a_direct_sum_and_finite_differences(case):
    net = _conv_network(*case)
    values = _conv_values(net, 1)
    d = sbp.backprop(net)
    evaluation = d.evaluate(values)
    np.testing.assert_allclose(evaluation.forward["y"], _sliced_conv(values["x"], values["w"], values.get("b"),
                                                                      case[3], case[4]), rtol=1e-12, atol=1e-12)
    names = [n for n in ("x", "w", "b") if n in values]
    for name, gradient in _finite_differences(d, values, names).items():
        np.testing.assert_allclose(evaluation.grad[name], gradient, rtol=1e-6, atol=1e-7, err_msg=name)


# -- pooling ---------------------------------------------------------------------------------------

#: (kind, image shape, kernel, stride): windows side by side, overlapping (stride < kernel), not square.
POOLINGS = [
    ("max", (2, 4, 6), 2, None), ("max", (2, 2, 5, 5), 3, 1), ("max", (1, 3, 6, 7), (2, 3), (2, 1)),
    ("avg", (2, 4, 6), 2, None), ("avg", (2, 2, 5, 5), 3, 2), ("avg", (1, 3, 6, 7), (3, 2), 1),
]


def _pool_network(kind, image, kernel, stride):
    net = sbp.Network()
    x = net.param("x", image)
    pool = sbp.max_pool2d if kind == "max" else sbp.avg_pool2d
    y = net.node("y", pool(x, kernel, stride))
    net.loss("L", sbp.total(y * net.input("C", y.shape)))
    return net


def _torch_pool(kind, values, kernel, stride):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = torch.tensor(values["x"], dtype=torch.float64, requires_grad=True)
    y = (F.max_pool2d if kind == "max" else F.avg_pool2d)(x, kernel, stride)
    (y * torch.tensor(values["C"], dtype=torch.float64)).sum().backward()
    return y.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("case", POOLINGS, ids=lambda case: f"{case[0]}-{'x'.join(map(str, case[1]))}-k{case[2]}")
def test_pooling_against_pytorch_and_finite_differences(case):
    net = _pool_network(*case)
    values = _conv_values(net, 2)  # normal draws: no two entries of a window tie
    d = sbp.backprop(net)
    evaluation = d.evaluate(values)
    np.testing.assert_allclose(evaluation.grad["x"], _finite_differences(d, values, ["x"])["x"], rtol=1e-6,
                               atol=1e-7)
    expected, gradient = _torch_pool(case[0], values, case[2], case[3])
    np.testing.assert_allclose(evaluation.forward["y"], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(evaluation.grad["x"], gradient, rtol=1e-12, atol=1e-12)


def _tied_pool(image, kernel, stride, values_x, weights):
    net = _pool_network("max", image, kernel, stride)
    return sbp.backprop(net).evaluate({"x": values_x, "C": weights})


def test_max_pool_at_a_window_of_equal_values_routes_to_its_first_entry():
    x = np.zeros((1, 4, 4))
    x[0, 2:, 2:] = [[3.0, 3.0], [1.0, 3.0]]  # the last window ties three ways at 3; the others are all zeros
    weights = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    expected = np.zeros((1, 4, 4))
    expected[0, 0, 0], expected[0, 0, 2], expected[0, 2, 0], expected[0, 2, 2] = 1.0, 2.0, 3.0, 4.0
    evaluation = _tied_pool((1, 4, 4), 2, None, x, weights)
    np.testing.assert_array_equal(evaluation.grad["x"], expected)


def test_max_pool_overlapping_windows_add_what_they_route_to_one_entry():
    x = np.zeros((1, 4, 4))  # every 3×3 window, stride 1, is all zeros: each routes to its own top-left entry
    x[0, 1, 1] = 5.0  # ...except that the entry every window holds is their maximum: it receives all four
    weights = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    evaluation = _tied_pool((1, 4, 4), 3, 1, x, weights)
    expected = np.zeros((1, 4, 4))
    expected[0, 1, 1] = 10.0
    np.testing.assert_array_equal(evaluation.grad["x"], expected)
    flat = np.zeros((1, 4, 4))
    expected = np.zeros((1, 4, 4))
    expected[0, :2, :2] = weights[0]  # all equal: window (a, b)'s first entry is (a, b) itself
    np.testing.assert_array_equal(_tied_pool((1, 4, 4), 3, 1, flat, weights).grad["x"], expected)


@pytest.mark.parametrize(("kernel", "stride"), [(2, None), (3, 1), (2, 1), ((2, 3), (1, 2))])
def test_max_pool_ties_as_pytorch_routes_them(kernel, stride):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=(2, 3, 5, 6)).astype(float)  # zeros and ones: ties in almost every window
    net = _pool_network("max", x.shape, kernel, stride)
    weights = rng.normal(size=net["y"].shape)
    evaluation = sbp.backprop(net).evaluate({"x": x, "C": weights})
    expected, gradient = _torch_pool("max", {"x": x, "C": weights}, kernel, stride)
    np.testing.assert_array_equal(evaluation.forward["y"], expected)
    np.testing.assert_allclose(evaluation.grad["x"], gradient, rtol=1e-12, atol=1e-12)


# -- a network, its checks, its backends and its documents -------------------------------------------------

def _small_conv_network():
    net = sbp.Network()
    x = net.input("x", (2, 1, 5, 5))
    target = net.input("t", (2, 8))
    w = net.param("w", (2, 1, 3, 3))
    b = net.param("b", (2, 1))
    z = net.node("z", sbp.conv2d(x, w, b, padding=1))
    h = net.node("h", sbp.tanh(z))
    p = net.node("p", sbp.avg_pool2d(h, 2, 2))
    net.loss("L", sbp.mean((p.reshape(2, -1) - target) ** 2))
    return net


def _small_values(seed=4):
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=(2, 1, 5, 5)), "t": rng.normal(size=(2, 8)), "w": rng.normal(size=(2, 1, 3, 3)),
            "b": rng.normal(size=(2, 1))}


def test_check_gradients_passes_on_a_small_conv_network():
    assert sbp.check_gradients(sbp.backprop(_small_conv_network()), _small_values()).passed


def test_every_backend_gives_numpys_numbers():
    d = sbp.backprop(sbp.models.cnn())
    values = _cnn_values(5)
    expected = d.lambdify()(**values)
    ran = 0
    for backend in ("jax", "torch"):
        try:
            got = d.lambdify(backend=backend)(**values)
        except ImportError:
            continue
        ran += 1
        for name in ("W1", "b1", "W2", "b2"):
            np.testing.assert_allclose(np.asarray(got[name], dtype=float), expected[name], rtol=1e-10, atol=1e-12)
    if not ran:
        pytest.skip("neither JAX nor PyTorch is installed")


def test_the_documents_write_the_im2col_steps():
    d = sbp.backprop(_small_conv_network())
    markdown = d.to_markdown()
    assert r"\operatorname{conv2d}_{3 \times 3,\, p=1}\left(x, w, b\right)" in markdown
    assert r"\operatorname{im2col}_{3 \times 3,\, p=1}\left(x\right)^{\top}" in markdown
    assert r"\operatorname{col2im}" in markdown and "im2col form" in markdown
    assert "spreads each window's gradient equally" in markdown
    latex = d.to_latex(values=_small_values())
    assert r"\operatorname{avgpool}_{2 \times 2,\, s=2}" in latex
    assert "im2col" in sbp.backprop(_small_conv_network()).to_latex(lang="ko")
    if katex_available():
        assert katex_errors(markdown_math(markdown)) == []
    if pdflatex() is not None:
        compiled = compile_latex(d.to_latex(values=_small_values(), standalone=True))
        assert compiled.ok, compiled.errors


# -- the cnn block -----------------------------------------------------------------------------------

def _cnn_values(seed, N=2, C=1, H=6, W=6, filters=2, classes=3, flat=18):
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=(N, C, H, W)), "y": rng.integers(0, classes, size=(N, 1)),
            "W1": rng.normal(size=(filters, C, 3, 3)), "b1": rng.normal(size=(filters, 1)),
            "W2": rng.normal(size=(flat, classes)), "b2": rng.normal(size=(1, classes))}


def test_the_cnn_block_has_its_documented_names_and_shapes():
    net = sbp.models.cnn()
    shapes = {q.name: q.shape for q in net.quantities()}
    assert shapes == {"x": (2, 1, 6, 6), "y": (2, 1), "W1": (2, 1, 3, 3), "b1": (2, 1), "conv": (2, 2, 6, 6),
                      "h": (2, 2, 6, 6), "pooled": (2, 2, 3, 3), "flat": (2, 18), "W2": (18, 3), "b2": (1, 3),
                      "scores": (2, 3), "L": None}


@pytest.mark.parametrize("options", [{}, {"C": 2, "H": 8, "W": 7, "filters": 3, "kernel": 3, "pool": 2,
                                          "classes": 4, "N": 3}])
def test_the_cnn_blocks_loss_and_gradients_against_pytorch(options):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    net = sbp.models.cnn(**options)
    N, C, H, W = net["x"].shape
    values = _cnn_values(6, N, C, H, W, net["W1"].shape[0], net["W2"].shape[1], net["W2"].shape[0])
    evaluation = sbp.backprop(net).evaluate(values)
    t = {k: torch.tensor(np.asarray(v, dtype=float), dtype=torch.float64, requires_grad=k not in ("x", "y"))
         for k, v in values.items()}
    conv = F.conv2d(t["x"], t["W1"], t["b1"][:, 0], padding=1)
    pooled = F.max_pool2d(torch.relu(conv), 2)
    scores = pooled.reshape(N, -1) @ t["W2"] + t["b2"]
    loss = F.cross_entropy(scores, t["y"].long()[:, 0])
    loss.backward()
    np.testing.assert_allclose(evaluation.forward["L"], loss.item(), rtol=1e-12)
    np.testing.assert_allclose(evaluation.forward["pooled"], pooled.detach().numpy(), rtol=1e-12, atol=1e-12)
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(evaluation.grad[name], t[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_the_cnn_block_refuses_what_it_cannot_build():
    with pytest.raises(sbp.NetworkError, match="class indices"):
        sbp.models.cnn(loss="mse")
    with pytest.raises(sbp.NetworkError, match="pooling window 4"):
        sbp.models.cnn(H=3, W=3, pool=4)
    with pytest.raises(sbp.NetworkError, match="positive integer"):
        sbp.models.cnn(filters=0)


# -- spec files and refusals ------------------------------------------------------------------------

def test_a_spec_file_calls_the_three_functions():
    spec = parse_spec("""
[inputs]
x = [2, 1, 6, 6]
t = [2, 2, 1, 1]
[params]
w = [2, 1, 3, 3]
b = [2, 1]
[nodes]
z = "conv2d(x, w, b, stride=1, padding=1)"
p = "max_pool2d(z, 2)"
q = "avg_pool2d(p, 3, stride=3)"
[loss]
L = "sum((q - t) ** 2)"
""")
    net = spec.network
    assert net["p"].shape == (2, 2, 3, 3) and net["q"].shape == (2, 2, 1, 1)
    values = {"x": np.random.default_rng(7).normal(size=(2, 1, 6, 6)), "t": np.zeros((2, 2, 1, 1)),
              "w": np.random.default_rng(8).normal(size=(2, 1, 3, 3)), "b": np.ones((2, 1))}
    assert sbp.check_gradients(sbp.backprop(net), values).passed


def test_bad_shapes_are_refused_when_the_network_is_built():
    net = sbp.Network()
    x = net.input("x", (2, 3, 6, 6))
    w = net.param("w", (4, 3, 3, 3))
    with pytest.raises(sbp.ShapeMismatchError, match="has 2 channels but the filters"):
        sbp.conv2d(net.input("x2", (2, 6, 6)), w)
    with pytest.raises(sbp.ShapeMismatchError, match="window's height 7 is larger than the input's height 6"):
        sbp.conv2d(x, net.param("big", (4, 3, 7, 3)))
    with pytest.raises(sbp.ShapeMismatchError, match=r"padded with 1 on each side \(5\)"):
        sbp.conv2d(net.input("small", (3, 3, 3)), net.param("w6", (1, 3, 6, 6)), padding=1)
    with pytest.raises(sbp.InvalidOperandError, match="stride must be positive"):
        sbp.conv2d(x, w, stride=0)
    with pytest.raises(sbp.InvalidOperandError, match="padding must be zero or more"):
        sbp.conv2d(x, w, padding=-1)
    with pytest.raises(sbp.InvalidOperandError, match="pair of integers"):
        sbp.conv2d(x, w, stride=1.5)
    with pytest.raises(sbp.ShapeMismatchError, match=r"bias .* must be a column \(4, 1\)"):
        sbp.conv2d(x, w, net.param("b", (1, 4)))
    with pytest.raises(sbp.ShapeMismatchError, match=r"\(F, C, kh, kw\)"):
        sbp.conv2d(x, net.param("flat", (4, 27)))
    with pytest.raises(sbp.ShapeMismatchError, match=r"\(C, H, W\) or \(N, C, H, W\)"):
        sbp.max_pool2d(net.input("m", (6, 6)), 2)
    with pytest.raises(sbp.ShapeMismatchError, match="width 7 is larger"):
        sbp.avg_pool2d(x, (2, 7))
    with pytest.raises(sbp.InvalidOperandError, match="kernel_size must be positive"):
        sbp.max_pool2d(x, 0)


def test_one_filters_bias_is_the_networks_scalar_and_its_gradient_is_pytorchs():
    """A (1, 1) bias is a scalar of the network (a SymPy symbol); conv2d takes it as the one filter's bias."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F  # noqa: N812

    net = sbp.Network()
    x, w, b = net.input("x", (1, 4, 4)), net.param("w", (1, 1, 2, 2)), net.param("b", (1, 1))
    out = net.node("out", sbp.conv2d(x, w, b))
    net.loss("L", sbp.total(out * out) / 2)
    rng = np.random.default_rng(2)
    values = {"x": rng.normal(size=(1, 4, 4)), "w": rng.normal(size=(1, 1, 2, 2)), "b": 0.3}
    gradient = sbp.backprop(net).evaluate(values).grad
    leaves = {"x": torch.tensor(values["x"][None], requires_grad=True),
              "w": torch.tensor(values["w"], requires_grad=True),
              "b": torch.tensor([0.3], dtype=torch.float64, requires_grad=True)}
    (0.5 * (F.conv2d(leaves["x"], leaves["w"], leaves["b"]) ** 2).sum()).backward()
    np.testing.assert_allclose(np.reshape(gradient["b"], -1), leaves["b"].grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gradient["w"], leaves["w"].grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gradient["x"], leaves["x"].grad.numpy()[0], rtol=1e-12)


@pytest.mark.skipif(pdflatex() is None, reason="pdflatex is not installed")
def test_a_document_of_a_network_without_parameters_compiles():
    """Nothing to update: the worked example leaves the update out instead of writing an empty display."""
    net = sbp.Network()
    a = net.input("a", (2, 1))
    net.loss("L", sbp.total(a * a))
    text = sbp.backprop(net).to_latex(values={"a": [[1.0], [2.0]]}, standalone=True)
    assert compile_latex(text).ok
