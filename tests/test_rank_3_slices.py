"""Slices ``x[a:b, :, k]`` and concatenations ``sbp.concat([a, b], axis=k)`` of tensors of rank 3 and 4.

Each is checked against PyTorch's autograd in float64 (an integer index kept as a range of length one, as
the library keeps the axis) and, without PyTorch, against central finite differences of the loss, at
several shapes, sizes of one among them.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import IndexOutOfRangeError, InvalidIndexError
from symbackprop.spec import parse_spec


def _torch_key(key):
    """The library's key as PyTorch reads it when it keeps every axis: an integer i is the range i:i+1."""
    keys = key if isinstance(key, tuple) else (key,)
    return tuple(slice(k, k + 1 if k != -1 else None) if isinstance(k, int) else k for k in keys)


def _loss_of(net: sbp.Network, out: sbp.Tensor) -> None:
    """L = Σ tanh(out) ⊙ w: every entry of ``out`` reaches the loss through its own weight, non-linearly."""
    net.node("out", out)
    net.loss("L", sbp.total(sbp.tanh(net.handle("out")) * net.input("w", out.shape)))


def _central_differences(d: sbp.Derivation, values: dict, name: str, step: float = 1e-6) -> np.ndarray:
    expected = np.zeros_like(values[name])
    for index in np.ndindex(values[name].shape):
        plus, minus = values[name].copy(), values[name].copy()
        plus[index] += step
        minus[index] -= step
        expected[index] = (float(d.evaluate({**values, name: plus}).forward["L"])
                           - float(d.evaluate({**values, name: minus}).forward["L"])) / (2 * step)
    return expected


SLICES = [
    ((2, 3, 4), (slice(0, 2), slice(1, 3), 2)),
    ((2, 3, 4), (1,)),
    ((2, 3, 4), (Ellipsis, -1)),
    ((2, 3, 4), (slice(None), -2, slice(1, None))),
    ((1, 3, 1), (0, slice(0, 2), 0)),
    ((3, 1, 2), (slice(1, 3), 0, slice(None))),
    ((2, 1, 3, 2), (slice(None), 0, slice(0, 2), 1)),
    ((2, 3, 2, 2), (1, slice(1, 3), Ellipsis)),
]


def _sliced(shape, key, seed):
    rng = np.random.default_rng(seed)
    net = sbp.Network()
    x = net.param("x", shape)
    out = x[key]
    _loss_of(net, out)
    values = {"x": rng.normal(size=shape), "w": rng.normal(size=out.shape)}
    return sbp.backprop(net), values


@pytest.mark.parametrize(("shape", "key"), SLICES)
def test_a_slice_and_its_gradient_agree_with_pytorch(shape, key):
    torch = pytest.importorskip("torch")
    d, values = _sliced(shape, key, 1)
    evaluation = d.evaluate(values)
    x = torch.tensor(values["x"], dtype=torch.float64, requires_grad=True)
    out = x[_torch_key(key)]
    (torch.tanh(out) * torch.tensor(values["w"], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(evaluation.forward["out"], out.detach().numpy(), rtol=1e-14, atol=0)
    np.testing.assert_allclose(evaluation.grad["x"], x.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d.lambdify()(**values)["x"], x.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("shape", "key"), SLICES)
def test_a_slice_s_gradient_agrees_with_central_differences(shape, key):
    d, values = _sliced(shape, key, 2)
    gradient = d.evaluate(values).grad["x"]
    np.testing.assert_allclose(gradient, _central_differences(d, values, "x"), rtol=1e-6, atol=1e-9)
    outside = np.ones(shape, dtype=bool)
    outside[_torch_key(key)] = False
    assert np.all(gradient[outside] == 0) and np.any(gradient[~outside] != 0)


def test_slices_fold_and_an_integer_keeps_its_axis():
    net = sbp.Network()
    x = net.input("x", (2, 3, 4))
    assert x[:, :, :] is x and x[...] is x
    assert x[1].shape == (1, 3, 4) and x[..., 2].shape == (2, 3, 1)
    assert x[0:2, 1:3][:, 1] == x[0:2, 2]  # a slice of a slice is one slice
    assert sbp.concat([x[:, 0:1], x[:, 1:]], axis=1)[:, 1:3] == x[:, 1:3]
    a, b = net.input("a", (2, 1, 4)), net.input("b", (2, 2, 4))
    assert sbp.concat([a, b], axis=1)[:, 1:3] is b  # exactly one part of a concatenation is that part


@pytest.mark.parametrize(("key", "error", "message"), [
    ((slice(None), slice(None), 4), IndexOutOfRangeError,
     r"axis 2 index 4 is out of range for x of shape .*: it has 4 entries along axis 2 \(indices -4..3\)"),
    ((-3,), IndexOutOfRangeError, r"axis 0 index -3 .* it has 2 entries along axis 0"),
    ((slice(0, 5),), IndexOutOfRangeError, r"axis 0 bound 5 is out of range"),
    ((slice(None), slice(2, 1)), IndexOutOfRangeError, "the axis 1 range 2:1 .* is empty"),
    ((0, 0, 0, 0), InvalidIndexError, "with 4 indices: it has 3 axes"),
    ((Ellipsis, 0, Ellipsis), InvalidIndexError, r"'\.\.\.' may stand once"),
    ((0.5,), InvalidIndexError, "an index is an integer"),
    ((slice(0, 2, 2),), InvalidIndexError, "step 2"),
])
def test_a_bad_index_is_refused_with_the_index_and_the_bound(key, error, message):
    net = sbp.Network()
    x = net.input("x", (2, 3, 4))
    with pytest.raises(error, match=message):
        x[key]  # noqa: B018


# -- concatenation ---------------------------------------------------------------------------------

CONCATS = [
    ([(2, 3, 4), (2, 1, 4)], 1),
    ([(2, 3, 4), (1, 3, 4), (3, 3, 4)], 0),
    ([(2, 3, 1), (2, 3, 2)], -1),
    ([(1, 1, 1), (1, 1, 1)], 2),
    ([(2, 1, 3, 2), (2, 2, 3, 2)], 1),
    ([(1, 2, 2, 1), (1, 2, 2, 3)], 3),
]


def _joined(shapes, axis, seed):
    rng = np.random.default_rng(seed)
    net = sbp.Network()
    parts = [net.param(f"p{k}", shape) for k, shape in enumerate(shapes)]
    out = sbp.concat(parts + [parts[0]], axis=axis)  # the first part twice: its gradients add up
    _loss_of(net, out)
    values = {f"p{k}": rng.normal(size=shape) for k, shape in enumerate(shapes)} | {"w": rng.normal(size=out.shape)}
    return sbp.backprop(net), values


@pytest.mark.parametrize(("shapes", "axis"), CONCATS)
def test_a_concatenation_and_its_gradient_agree_with_pytorch(shapes, axis):
    torch = pytest.importorskip("torch")
    d, values = _joined(shapes, axis, 3)
    evaluation = d.evaluate(values)
    parts = [torch.tensor(values[f"p{k}"], dtype=torch.float64, requires_grad=True) for k in range(len(shapes))]
    out = torch.cat(parts + [parts[0]], dim=axis)
    (torch.tanh(out) * torch.tensor(values["w"], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(evaluation.forward["out"], out.detach().numpy(), rtol=1e-14, atol=0)
    compiled = d.lambdify()(**values)
    for k, part in enumerate(parts):
        np.testing.assert_allclose(evaluation.grad[f"p{k}"], part.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(compiled[f"p{k}"], part.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("shapes", "axis"), CONCATS)
def test_a_concatenation_s_gradient_agrees_with_central_differences(shapes, axis):
    d, values = _joined(shapes, axis, 4)
    evaluation = d.evaluate(values)
    for k in range(len(shapes)):
        np.testing.assert_allclose(evaluation.grad[f"p{k}"], _central_differences(d, values, f"p{k}"),
                                   rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(("shapes", "axis", "message"), [
    ([(2, 3, 4), (2, 2, 3)], 1, "lengths along axis 2, 4 and 3, differ"),
    ([(2, 3, 4), (2, 3, 4)], 3, "axis 3: tensors of rank 3 have the axes 0 to 2"),
    ([(2, 3, 4), (2, 3, 4)], "1", "axis '1'"),
    ([(2, 3, 4), (3, 4)], 0, "the same rank, as in torch.cat; reshape"),
])
def test_a_concatenation_that_does_not_fit_is_refused(shapes, axis, message):
    net = sbp.Network()
    parts = [net.input(f"p{k}", shape) for k, shape in enumerate(shapes)]
    with pytest.raises(sbp.SymbackpropError, match=message):
        sbp.concat(parts, axis=axis)


# -- spec files and documents ----------------------------------------------------------------------

SPEC = """
[inputs]
x = [2, 3, 4]
[params]
p = [2, 1, 4]
[nodes]
joined = "concat(x[:, 0:2], p, axis=1)"
picked = "joined[1, :, -1]"
[loss]
L = "total(tanh(joined) * x) + total(picked)"
"""


def test_a_spec_file_slices_and_joins_tensors_of_rank_3():
    spec = parse_spec(SPEC)
    rng = np.random.default_rng(5)
    values = {"x": rng.normal(size=(2, 3, 4)), "p": rng.normal(size=(2, 1, 4))}
    d = sbp.backprop(spec.network)
    assert spec.network["picked"].shape == (1, 3, 1)
    np.testing.assert_allclose(d.evaluate(values).grad["p"], _central_differences(d, values, "p"),
                               rtol=1e-6, atol=1e-9)


def test_the_documents_print_the_slice_the_embedding_and_the_concatenation():
    d = sbp.backprop(parse_spec(SPEC).network)
    values = {"x": np.arange(24.0).reshape(2, 3, 4) / 24, "p": np.ones((2, 1, 4))}
    latex = d.to_latex(values=values)
    assert r"\left[\mathrm{joined}\right]_{2,:,4}" in latex  # 1-based, as the documents index
    assert r"\operatorname{concat}_{1}\left(x_{:,1:2,:}, p\right)" in latex
    assert r"\operatorname{embed}_{2 \times 3 \times 4}^{[2,:,4]}" in latex
    assert d.to_markdown(values=values)


def test_the_document_of_slices_and_concatenations_compiles():
    from .tooling import compile_latex, require_pdflatex

    require_pdflatex()
    d = sbp.backprop(parse_spec(SPEC).network)
    values = {"x": np.arange(24.0).reshape(2, 3, 4) / 24, "p": np.ones((2, 1, 4))}
    compiled = compile_latex(d.to_latex(values=values, standalone=True))
    assert compiled.ok, compiled.errors


def test_the_full_page_of_a_network_of_rank_3_writes_its_batch_shapes():
    """The page's batch section stacks N in front of a tensor's own lengths (it unpacked two lengths before)."""
    d = sbp.backprop(parse_spec(SPEC).network)
    values = {"x": np.arange(24.0).reshape(2, 3, 4) / 24, "p": np.ones((2, 1, 4))}
    page = d.to_markdown(values=values, page="full")
    assert r"\mathrm{joined} \in \mathbb{R}^{N \times 2 \times 3 \times 4}" in page


def test_slices_concatenations_maximum_and_a_loss_of_rank_3_agree_with_the_interpreted_forward_pass():
    """The tests' own oracles (autograd, and PyTorch where installed) read only the forward definitions."""
    from .oracles import autograd_gradients, torch_gradients

    net = sbp.Network()
    x, p = net.param("x", (2, 3, 4)), net.param("p", (2, 1, 4))
    joined = net.node("joined", sbp.concat([sbp.tanh(x[:, 1:]), p], axis=1))
    peak = net.node("peak", sbp.maximum(joined, x[..., 0:1]))
    net.loss("L", sbp.mse(peak[1:], net.input("y", (1, 3, 4))))
    rng = np.random.default_rng(8)
    values = {"x": rng.normal(size=(2, 3, 4)), "p": rng.normal(size=(2, 1, 4)), "y": rng.normal(size=(1, 3, 4))}
    gradient = sbp.backprop(net).evaluate(values).grad
    oracles = [autograd_gradients]
    try:
        import torch  # noqa: F401
        oracles.append(torch_gradients)
    except ImportError:
        pass
    for oracle in oracles:
        expected = oracle(net, values)
        for name in ("x", "p"):
            np.testing.assert_allclose(gradient[name], expected[name], rtol=1e-12, atol=1e-15, err_msg=name)


# -- random compositions ---------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402 - the property test's own imports
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(("slice", "concat", "maximum", "tanh", "permute")), min_size=1, max_size=5),
       st.integers(0, 2 ** 16))
def test_random_compositions_of_slices_concatenations_and_maximum_agree_with_pytorch(steps, seed):
    """Slices, concatenations (a part used twice), maxima against a broadcast parameter, tanh and permutations of
    a (2, 3, 4) tensor in any order: the value and every parameter's gradient as PyTorch computes them."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    net = sbp.Network()
    start = rng.normal(size=(2, 3, 4))
    ours, theirs = net.param("x", (2, 3, 4)), torch.tensor(start, requires_grad=True)
    params, values = {"x": theirs}, {"x": start}
    for k, step in enumerate(steps):
        shape = ours.shape
        if step == "slice":
            axis = int(rng.integers(0, 3))
            if shape[axis] == 1:
                continue
            start_at = int(rng.integers(0, shape[axis] - 1))
            key = tuple(slice(start_at, None) if a == axis else slice(None) for a in range(3))
            ours, theirs = ours[key], theirs[key]
        elif step == "concat":
            axis = int(rng.integers(-3, 3))
            ours, theirs = sbp.concat([ours, ours], axis=axis), torch.cat([theirs, theirs], dim=axis)
        elif step == "maximum":
            bias = rng.normal(size=(1, shape[-1]))
            values[f"b{k}"] = bias
            params[f"b{k}"] = torch.tensor(bias, requires_grad=True)
            ours, theirs = sbp.maximum(ours, net.param(f"b{k}", bias.shape)), torch.maximum(theirs, params[f"b{k}"])
        elif step == "tanh":
            ours, theirs = sbp.tanh(ours), torch.tanh(theirs)
        else:
            order = tuple(int(a) for a in rng.permutation(3))
            ours, theirs = sbp.permute(ours, order), theirs.permute(*order)
    weights = rng.normal(size=tuple(theirs.shape))
    net.node("z", ours)
    net.loss("L", sbp.total(net.handle("z") * net.input("w", weights.shape)))
    (theirs * torch.tensor(weights)).sum().backward()
    evaluation = sbp.backprop(net).evaluate({**values, "w": weights})
    np.testing.assert_allclose(evaluation.forward["z"], theirs.detach().numpy(), rtol=1e-13, atol=1e-15)
    for name, tensor in params.items():
        np.testing.assert_allclose(evaluation.grad[name], tensor.grad.numpy(), rtol=1e-11, atol=1e-14, err_msg=name)


def test_katex_renders_every_formula_of_the_slices_markdown():
    from .tooling import katex_available, katex_errors, markdown_math

    if not katex_available():
        pytest.skip("node with KaTeX is not available (run `npm install --no-save katex@0.16`)")
    d = sbp.backprop(parse_spec(SPEC).network)
    values = {"x": np.arange(24.0).reshape(2, 3, 4) / 24, "p": np.ones((2, 1, 4))}
    assert katex_errors(markdown_math(d.to_markdown(values=values))) == []
