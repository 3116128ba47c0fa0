"""Tensors of rank 3: the lecture's MLP over a block of embedded tokens, as it is written.

    emb = C[Xb]                     # (n, block) integers → (n, block, d_emb)
    embcat = emb.reshape(n, -1)     # (n, block · d_emb)
    h = tanh(embcat @ W1 + b1); logits = h @ W2 + b2; loss = cross_entropy(logits, Y)

Every intermediate gradient is checked against PyTorch's autograd in float64 and, without PyTorch,
against central finite differences of the loss; the documents write; what the engine does not do at
rank 3 is refused when the network is built.
"""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import UnsupportedRankError, ValueShapeError

N, BLOCK, VOCAB, D_EMB, HIDDEN = 5, 3, 7, 2, 4
PARAMS = ("C", "W1", "b1", "W2", "b2")


def _lecture(loss: str = "cross_entropy") -> sbp.Network:
    net = sbp.Network()
    Xb = net.input("Xb", (N, BLOCK))
    Y = net.input("Y", (N, 1))
    C = net.param("C", (VOCAB, D_EMB))
    W1, b1 = net.param("W1", (BLOCK * D_EMB, HIDDEN)), net.param("b1", (1, HIDDEN))
    W2, b2 = net.param("W2", (HIDDEN, VOCAB)), net.param("b2", (1, VOCAB))
    emb = net.node("emb", C[Xb])
    embcat = net.node("embcat", emb.reshape(N, -1))
    h = net.node("h", sbp.tanh(embcat @ W1 + b1))
    logits = net.node("logits", h @ W2 + b2)
    if loss == "cross_entropy":
        net.loss("loss", sbp.cross_entropy(logits, Y, axis=1))
    else:  # the mean of the picked log-probabilities, as the lecture first writes it
        logprobs = net.node("logprobs", sbp.log_softmax(logits, axis=1))
        net.loss("loss", -sbp.mean(logprobs[range(N), Y]))
    return net


def _values(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"Xb": rng.integers(0, VOCAB, (N, BLOCK)), "Y": rng.integers(0, VOCAB, (N, 1)),
            "C": rng.normal(size=(VOCAB, D_EMB)), "W1": rng.normal(size=(BLOCK * D_EMB, HIDDEN)),
            "b1": rng.normal(size=(1, HIDDEN)), "W2": rng.normal(size=(HIDDEN, VOCAB)),
            "b2": rng.normal(size=(1, VOCAB))}


def test_the_shapes_are_the_lectures():
    net = _lecture()
    assert net["emb"].shape == (N, BLOCK, D_EMB)
    assert net["embcat"].shape == (N, BLOCK * D_EMB)


@pytest.mark.parametrize("loss", ["cross_entropy", "picked_log_probabilities"])
def test_every_gradient_agrees_with_pytorch(loss):
    torch = pytest.importorskip("torch")
    values = _values(1)
    evaluation = sbp.backprop(_lecture(loss)).evaluate(values)
    t = {k: torch.tensor(np.asarray(v, dtype=float), dtype=torch.float64, requires_grad=k in PARAMS)
         for k, v in values.items()}
    emb = t["C"][t["Xb"].long()]
    embcat = emb.reshape(N, -1)
    h = torch.tanh(embcat @ t["W1"] + t["b1"])
    logits = h @ t["W2"] + t["b2"]
    intermediates = {"emb": emb, "embcat": embcat, "h": h, "logits": logits}
    for tensor in intermediates.values():
        tensor.retain_grad()
    if loss == "cross_entropy":
        value = torch.nn.functional.cross_entropy(logits, t["Y"].long()[:, 0])
    else:
        logprobs = torch.log_softmax(logits, dim=1)
        logprobs.retain_grad()
        intermediates["logprobs"] = logprobs
        value = -logprobs[torch.arange(N), t["Y"].long()[:, 0]].mean()
    value.backward()
    np.testing.assert_allclose(evaluation.forward["loss"], value.item(), rtol=1e-12)
    for name, tensor in intermediates.items():
        np.testing.assert_allclose(evaluation.forward[name], tensor.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(evaluation.grad[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    for name in PARAMS:
        np.testing.assert_allclose(evaluation.grad[name], t[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def _loss_with(values: dict[str, np.ndarray], d: sbp.Derivation) -> float:
    return float(d.evaluate(values).forward["loss"])


def test_every_parameter_gradient_agrees_with_central_finite_differences():
    values = _values(2)
    d = sbp.backprop(_lecture())
    evaluation = d.evaluate(values)
    step = 1e-6
    for name in PARAMS:
        expected = np.zeros_like(values[name])
        for index in np.ndindex(values[name].shape):
            plus, minus = ({**values, name: values[name].copy()} for _ in range(2))
            plus[name][index] += step
            minus[name][index] -= step
            expected[index] = (_loss_with(plus, d) - _loss_with(minus, d)) / (2 * step)
        np.testing.assert_allclose(evaluation.grad[name], expected, rtol=1e-6, atol=1e-8, err_msg=name)


def test_the_gradient_of_the_rank_3_node_agrees_with_finite_differences_through_it():
    """∂loss/∂emb: emb made a parameter of its own network, the rest of the lecture after it."""
    values = _values(3)
    lecture = sbp.backprop(_lecture()).evaluate(values)
    net = sbp.Network()
    Y = net.input("Y", (N, 1))
    emb = net.param("emb", (N, BLOCK, D_EMB))
    W1, b1 = net.param("W1", (BLOCK * D_EMB, HIDDEN)), net.param("b1", (1, HIDDEN))
    W2, b2 = net.param("W2", (HIDDEN, VOCAB)), net.param("b2", (1, VOCAB))
    h = net.node("h", sbp.tanh(emb.reshape(N, -1) @ W1 + b1))
    net.loss("loss", sbp.cross_entropy(h @ W2 + b2, Y, axis=1))
    d = sbp.backprop(net)
    rest = {k: values[k] for k in ("Y", "W1", "b1", "W2", "b2")} | {"emb": lecture.forward["emb"]}
    step = 1e-6
    expected = np.zeros((N, BLOCK, D_EMB))
    for index in np.ndindex(expected.shape):
        plus, minus = rest["emb"].copy(), rest["emb"].copy()
        plus[index] += step
        minus[index] -= step
        expected[index] = (_loss_with(rest | {"emb": plus}, d) - _loss_with(rest | {"emb": minus}, d)) / (2 * step)
    np.testing.assert_allclose(lecture.grad["emb"], expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(d.evaluate(rest).grad["emb"], lecture.grad["emb"], rtol=1e-12, atol=1e-14)


def test_the_gradient_check_and_the_backends_agree():
    values = _values(4)
    d = sbp.backprop(_lecture())
    assert sbp.check_gradients(d, values).passed
    expected = d.lambdify()(**values)
    for backend in ("jax", "torch"):
        pytest.importorskip(backend)
        got = d.lambdify(backend=backend)(**values)
        for name in PARAMS:
            np.testing.assert_allclose(np.asarray(got[name], dtype=float), expected[name], rtol=1e-12, atol=1e-14)


def test_the_documents_write_with_the_shapes_and_the_slices():
    d = sbp.backprop(_lecture())
    values = _values(5)
    latex = d.to_latex(values=values)
    assert r"\mathrm{emb} & \in \mathbb{R}^{5 \times 3 \times 2}" in latex
    assert r"\operatorname{reshape}_{5 \times 6}" in latex
    markdown = d.to_markdown(values=values)
    assert r"\mathbb{R}^{5 \times 3 \times 2}" in markdown
    assert d.to_html(values=values)
    from symbackprop.printing.numbers import NumberFormat

    # four slices: the third elided
    shown = NumberFormat(exact=False, digits=4).matrix(np.arange(24.0).reshape(4, 3, 2))
    assert shown.startswith(r"\left[ \begin{bmatrix}") and r"\ldots" in shown and shown.count("bmatrix") == 6


def test_a_batch_on_some_inputs_only_and_exact_evaluation_are_refused_with_the_reason():
    """A whole batch is tests/test_rank_3_batch.py's."""
    d = sbp.backprop(_lecture())
    values = _values(6)
    with pytest.raises(ValueShapeError, match=r"inputs disagree about the batch size \(Y: N=2, Xb: no batch axis\)"):
        d.evaluate({**values, "Y": np.zeros((2, N, 1), dtype=int)})
    with pytest.raises(UnsupportedRankError, match="'emb' has shape"):
        d.evaluate(values, exact=True)


def test_what_rank_3_does_not_take_is_refused_when_the_network_is_built():
    net = sbp.Network()
    x = net.input("x", (2, 3, 4))
    with pytest.raises(sbp.InvalidOperandError, match="sbp.permute"):
        x.T  # noqa: B018
    with pytest.raises(sbp.InvalidAxisError, match="rank 3"):
        sbp.softmax(x, axis=3)
    with pytest.raises(UnsupportedRankError, match="takes column vectors"):
        net.loss("L", sbp.binary_cross_entropy(x, net.input("y", (2, 3, 4))))
    with pytest.raises(sbp.ShapeMismatchError, match="inner dimensions 4 and 5 differ"):
        x @ net.input("w", (2, 5, 4))
    with pytest.raises(UnsupportedRankError, match="elements=True"):
        sbp.Network().param("p", (2, 2, 2), elements=True)
    with pytest.raises(sbp.InvalidAxisError, match="rank 3"):
        sbp.total(x, axis=3)
    with pytest.raises(sbp.ShapeMismatchError, match="24 entries.*not a multiple of 5"):
        x.reshape(5, -1)
    with pytest.raises(sbp.InvalidAxisError, match="exactly once"):
        sbp.permute(x, (0, 0, 1))


def test_reshape_and_permute_fold_and_undo():
    net = sbp.Network()
    x = net.input("x", (2, 3, 4))
    assert x.reshape(6, 4).reshape(2, 3, 4) is x
    assert sbp.permute(sbp.permute(x, (2, 0, 1)), (1, 2, 0)) is x
    assert sbp.permute(x.reshape(6, 4), (1, 0)) == x.reshape(6, 4).T
    assert x.reshape(24).shape == (24, 1)  # one length is a column, as a declared shape (n,) is


# -- random compositions ---------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402 - the property test's own imports
from hypothesis import strategies as st  # noqa: E402

_STEPS = ("permute", "reshape", "tanh", "sum", "bias")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(_STEPS), min_size=1, max_size=5), st.permutations([0, 1, 2]),
       st.integers(0, 2 ** 16))
def test_random_compositions_agree_with_pytorch(steps, order, seed):
    """Reshapes, permutations, element-wise functions, sums along an axis and broadcast biases on a
    (2, 3, 4) tensor, in any order: value and gradient as PyTorch computes them."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    net = sbp.Network()
    x = net.param("x", (2, 3, 4))
    start = rng.normal(size=(2, 3, 4))
    ours, theirs = x, torch.tensor(start, dtype=torch.float64, requires_grad=True)
    reference = theirs
    values = {"x": start}
    for k, step in enumerate(steps):
        if step == "permute" and ours.rank == 3:
            ours, theirs = sbp.permute(ours, tuple(order)), theirs.permute(*order)
        elif step == "reshape":
            shape = (ours.shape[0], -1) if ours.rank == 3 else (2, 3, -1)
            if ours.rank == 2 and np.prod(ours.shape) % 6:
                continue
            ours, theirs = ours.reshape(*shape), theirs.reshape(*shape)
        elif step == "tanh":
            ours, theirs = sbp.tanh(ours), torch.tanh(theirs)
        elif step == "sum" and ours.rank == 3:
            axis = int(rng.integers(0, 3))
            ours, theirs = sbp.total(ours, axis=axis), theirs.sum(dim=axis, keepdim=True)
        elif step == "bias":
            bias = rng.normal(size=(1, ours.shape[-1]))
            values[f"b{k}"] = bias
            ours = ours + net.param(f"b{k}", bias.shape)
            theirs = theirs + torch.tensor(bias, dtype=torch.float64)
    weights = rng.normal(size=tuple(theirs.shape))
    net.node("z", ours)
    net.loss("L", sbp.total(net.handle("z") * net.input("w", weights.shape)))
    (theirs * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    evaluation = sbp.backprop(net).evaluate({**values, "w": weights})
    np.testing.assert_allclose(evaluation.forward["z"], theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(evaluation.grad["x"], reference.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_the_worked_numbers_show_a_rank_3_value_as_its_slices_and_multiply_it_laid_out_as_a_matrix():
    """emb's forward row is the list [M₀, …] the docs describe (not a batch's (M₀, …)); the row of ∂L/∂C
    shows ∂L/∂emb laid out a use per row, the matrix Eᵀ multiplies."""
    net = sbp.Network()
    idx = net.input("idx", (2, 2))
    C = net.param("C", (3, 2))
    w = net.param("w", (4, 1))
    emb = net.node("emb", C[idx])
    net.loss("L", sbp.total(emb.reshape(2, -1) @ w))
    values = {"idx": [[0, 2], [2, 1]], "C": [[1.0, 0.0], [0.0, 1.0], [0.5, -0.5]], "w": [1.0, -1.0, 0.5, 2.0]}
    text = sbp.backprop(net).to_markdown(values)
    assert (r"&= \left[ \begin{bmatrix} 1 & 0 \\ 0.5 & -0.5 \end{bmatrix}, \; "
            r"\begin{bmatrix} 0.5 & -0.5 \\ 0 & 1 \end{bmatrix} \right]") in text
    assert (r"\frac{\partial L}{\partial C} = \begin{bmatrix} 1 & 0 & 0 & 0 \\ 0 & 0 & 0 & 1 \\ 0 & 1 & 1 & 0 "
            r"\end{bmatrix} \begin{bmatrix} 1 & -1 \\ 0.5 & 2 \\ 1 & -1 \\ 0.5 & 2 \end{bmatrix} = "
            r"\begin{bmatrix} 1 & -1 \\ 0.5 & 2 \\ 1.5 & 1 \end{bmatrix}") in text
