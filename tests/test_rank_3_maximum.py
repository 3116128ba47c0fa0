"""``sbp.maximum(a, b)`` of tensors of rank 3 and 4, broadcasting from the last axis as ``torch.maximum``.

At a tie the gradient is shared equally, half to each operand, as ``torch.maximum`` shares it; the tests
build ties on purpose (equal entries, and an operand broadcast against entries equal to it) and compare
with PyTorch float64 and with the tie-free central differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp

SHAPES = [
    ((2, 3, 4), (2, 3, 4)),
    ((2, 3, 4), (3, 4)),
    ((2, 1, 4), (2, 3, 1)),
    ((1, 1, 1), (2, 1, 3)),
    ((2, 3, 4), (1, 1)),
    ((2, 1, 3, 2), (4, 1, 2)),
]


def _network(a_shape, b_shape):
    net = sbp.Network()
    a, b = net.param("a", a_shape), net.param("b", b_shape)
    m = net.node("m", sbp.maximum(a, b))
    net.loss("L", sbp.total(sbp.tanh(m) * net.input("w", m.shape)))
    return sbp.backprop(net), m.shape


def _values(a_shape, b_shape, out_shape, seed, ties):
    rng = np.random.default_rng(seed)
    # integers from a small range: many entries of a and b are equal, and every broadcast copy ties too
    draw = (lambda shape: rng.integers(-2, 3, size=shape).astype(float)) if ties else \
        (lambda shape: rng.normal(size=shape))
    values = {"a": draw(a_shape), "b": draw(b_shape), "w": rng.normal(size=out_shape)}
    if ties:  # the draw holds at least one tie, or the test would not test the rule
        a, b = np.broadcast_arrays(values["a"], values["b"])
        assert np.any(a == b)
    return values


@pytest.mark.parametrize("ties", [False, True], ids=["apart", "ties"])
@pytest.mark.parametrize(("a_shape", "b_shape"), SHAPES)
def test_maximum_and_its_gradient_agree_with_pytorch(a_shape, b_shape, ties):
    torch = pytest.importorskip("torch")
    d, out_shape = _network(a_shape, b_shape)
    values = _values(a_shape, b_shape, out_shape, 1, ties)
    evaluation = d.evaluate(values)
    a, b = (torch.tensor(values[k], dtype=torch.float64, requires_grad=True) for k in "ab")
    m = torch.maximum(a, b)
    assert tuple(m.shape) == out_shape
    (torch.tanh(m) * torch.tensor(values["w"], dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(evaluation.forward["m"], m.detach().numpy())
    compiled = d.lambdify()(**values)
    for name, tensor in (("a", a), ("b", b)):
        np.testing.assert_allclose(evaluation.grad[name], tensor.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(compiled[name], tensor.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("a_shape", "b_shape"), SHAPES)
def test_maximum_s_gradient_agrees_with_central_differences_away_from_ties(a_shape, b_shape):
    d, out_shape = _network(a_shape, b_shape)
    values = _values(a_shape, b_shape, out_shape, 2, ties=False)
    evaluation = d.evaluate(values)
    step = 1e-6
    for name in "ab":
        expected = np.zeros_like(values[name])
        for index in np.ndindex(values[name].shape):
            plus, minus = values[name].copy(), values[name].copy()
            plus[index] += step
            minus[index] -= step
            expected[index] = (float(d.evaluate({**values, name: plus}).forward["L"])
                               - float(d.evaluate({**values, name: minus}).forward["L"])) / (2 * step)
        np.testing.assert_allclose(evaluation.grad[name], expected, rtol=1e-6, atol=1e-9, err_msg=name)


def test_at_a_tie_each_operand_receives_half_of_the_gradient():
    """Without PyTorch: a equal everywhere to b broadcast over it, L = Σ w ⊙ max(a, b), so a receives w / 2 and
    b the halves summed over the axes it was repeated along."""
    rng = np.random.default_rng(3)
    same = rng.normal(size=(2, 2, 3))
    weights = rng.normal(size=(2, 2, 3))
    net = sbp.Network()
    a, b = net.param("a", (2, 2, 3)), net.param("b", (1, 3))
    net.loss("L", sbp.total(sbp.maximum(a, b) * net.input("w", (2, 2, 3))))
    evaluation = sbp.backprop(net).evaluate({"a": np.broadcast_to(same[0, 0], (2, 2, 3)).copy(), "b": same[0:1, 0],
                                             "w": weights})
    np.testing.assert_allclose(evaluation.grad["a"], weights / 2, rtol=1e-15)
    np.testing.assert_allclose(evaluation.grad["b"], weights.sum(axis=(0, 1))[None, :] / 2, rtol=1e-13)


def test_shapes_that_do_not_broadcast_are_refused_with_both_shapes():
    net = sbp.Network()
    with pytest.raises(sbp.ShapeMismatchError, match=r"take the maximum of a of shape .* and b of shape .*aligned "
                                                     "from the last axis"):
        sbp.maximum(net.input("a", (2, 3, 4)), net.input("b", (3, 3)))


def test_the_document_prints_the_maximum_and_its_share():
    d, _ = _network((2, 1, 3), (2, 2, 3))
    latex = d.to_latex(values=_values((2, 1, 3), (2, 2, 3), (2, 2, 3), 4, ties=True))
    assert r"\max\left(a, b\right)" in latex
    assert r"\mathbf{1}\left[a > b\right] + \tfrac{1}{2} \mathbf{1}\left[a = b\right]" in latex
    from .tooling import compile_latex, pdflatex

    if pdflatex() is not None:
        compiled = compile_latex(d.to_latex(values=_values((2, 1, 3), (2, 2, 3), (2, 2, 3), 4, ties=True),
                                            standalone=True))
        assert compiled.ok, compiled.errors


def test_a_spec_file_takes_the_maximum_of_tensors_of_rank_3():
    from symbackprop.spec import parse_spec

    spec = parse_spec("""
[inputs]
x = [2, 3, 4]
[params]
p = [3, 1]
[nodes]
m = "maximum(x, p)"
[loss]
L = "total(m * x)"
""")
    net = spec.network
    assert net["m"].shape == (2, 3, 4)
    rng = np.random.default_rng(5)
    x, p = rng.normal(size=(2, 3, 4)), rng.normal(size=(3, 1))
    gradient = sbp.backprop(net).evaluate({"x": x, "p": p}).grad["p"]
    expected = np.sum(np.where(p > x, x, 0.0), axis=(0, 2))[:, None]  # x wherever p is the larger, summed
    np.testing.assert_allclose(gradient, expected, rtol=1e-13)
