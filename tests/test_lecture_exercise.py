"""The lecture exercise ("becoming a backprop ninja"), line for line: a character-level MLP whose
forward pass is broken into the small steps the lecture backpropagates through by hand.

    emb = C[Xb]; embcat = emb.reshape(n, -1); hprebn = embcat @ W1 + b1
    bnmeani = 1/n * hprebn.sum(0, keepdim=True); bndiff = hprebn - bnmeani; bndiff2 = bndiff**2
    bnvar = 1/(n-1) * bndiff2.sum(0, keepdim=True); bnvar_inv = (bnvar + 1e-5)**-0.5
    bnraw = bndiff * bnvar_inv; hpreact = bngain * bnraw + bnbias; h = torch.tanh(hpreact)
    logits = h @ W2 + b2; logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes; counts = norm_logits.exp(); counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum**-1; probs = counts * counts_sum_inv; logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()

Written with symbackprop as the lecture writes it, the numbers too (1/n, 1e-5, -0.5 are floats):
every intermediate gradient is the one PyTorch's autograd computes in float64 with retain_grad on
each intermediate, and every parameter's gradient is the central finite difference of the loss.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

import symbackprop as sbp


class Sizes(NamedTuple):
    n: int
    block: int
    vocab: int
    n_embd: int
    n_hidden: int


#: Small enough for finite differences at every element; and the lecture's own sizes.
SMALL = Sizes(n=6, block=3, vocab=7, n_embd=2, n_hidden=5)
LECTURE = Sizes(n=32, block=3, vocab=27, n_embd=10, n_hidden=64)
n, block, vocab, n_embd, n_hidden = SMALL
PARAMETERS = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")
#: Every intermediate the lecture computes a gradient of, in the lecture's order.
INTERMEDIATES = ("logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes",
                 "logits", "h", "hpreact", "bnraw", "bnvar_inv", "bnvar", "bndiff2", "bndiff", "bnmeani",
                 "hprebn", "embcat", "emb")


def lecture(sizes: Sizes = SMALL, *, mean_by: str = "total") -> sbp.Network:
    """The lecture's lines; ``mean_by="mean"`` writes bnmeani with sbp.mean, as it may be written."""
    n, block, vocab, n_embd, n_hidden = sizes
    net = sbp.Network()
    Xb = net.input("Xb", (n, block))
    Yb = net.input("Yb", (n, 1))
    C = net.param("C", (vocab, n_embd))
    W1, b1 = net.param("W1", (block * n_embd, n_hidden)), net.param("b1", (1, n_hidden))
    W2, b2 = net.param("W2", (n_hidden, vocab)), net.param("b2", (1, vocab))
    bngain, bnbias = net.param("bngain", (1, n_hidden)), net.param("bnbias", (1, n_hidden))
    emb = net.node("emb", C[Xb])
    embcat = net.node("embcat", emb.reshape(n, -1))
    hprebn = net.node("hprebn", embcat @ W1 + b1)
    bnmeani = net.node("bnmeani", 1 / n * sbp.total(hprebn, axis=0) if mean_by == "total" else sbp.mean(hprebn, axis=0))
    bndiff = net.node("bndiff", hprebn - bnmeani)
    bndiff2 = net.node("bndiff2", bndiff ** 2)
    bnvar = net.node("bnvar", 1 / (n - 1) * sbp.total(bndiff2, axis=0))  # Bessel's correction
    bnvar_inv = net.node("bnvar_inv", (bnvar + 1e-5) ** -0.5)
    bnraw = net.node("bnraw", bndiff * bnvar_inv)
    hpreact = net.node("hpreact", bngain * bnraw + bnbias)
    h = net.node("h", sbp.tanh(hpreact))
    logits = net.node("logits", h @ W2 + b2)
    logit_maxes = net.node("logit_maxes", sbp.max(logits, axis=1))
    norm_logits = net.node("norm_logits", logits - logit_maxes)
    counts = net.node("counts", sbp.exp(norm_logits))
    counts_sum = net.node("counts_sum", sbp.total(counts, axis=1))
    counts_sum_inv = net.node("counts_sum_inv", counts_sum ** -1)
    probs = net.node("probs", counts * counts_sum_inv)
    logprobs = net.node("logprobs", sbp.log(probs))
    net.loss("loss", -sbp.mean(logprobs[range(n), Yb]))
    return net


def lecture_values(seed: int, sizes: Sizes = SMALL) -> dict[str, np.ndarray]:
    """The lecture's initialisation, scaled as it scales it, so that tanh does not saturate."""
    n, block, vocab, n_embd, n_hidden = sizes
    rng = np.random.default_rng(seed)
    return {"Xb": rng.integers(0, vocab, (n, block)), "Yb": rng.integers(0, vocab, (n, 1)),
            "C": rng.normal(size=(vocab, n_embd)),
            "W1": rng.normal(size=(block * n_embd, n_hidden)) * (5 / 3) / (block * n_embd) ** 0.5,
            "b1": rng.normal(size=(1, n_hidden)) * 0.1, "W2": rng.normal(size=(n_hidden, vocab)) * 0.1,
            "b2": rng.normal(size=(1, vocab)) * 0.1, "bngain": 1 + rng.normal(size=(1, n_hidden)) * 0.1,
            "bnbias": rng.normal(size=(1, n_hidden)) * 0.1}


def torch_lecture(values: dict[str, np.ndarray]):
    """The lecture's own forward pass in PyTorch: the loss, every intermediate (retaining its gradient)
    and every parameter, after backward()."""
    torch = pytest.importorskip("torch")
    n = len(values["Xb"])
    p = {name: torch.tensor(values[name], dtype=torch.float64, requires_grad=True) for name in PARAMETERS}
    Xb, Yb = torch.tensor(values["Xb"]).long(), torch.tensor(values["Yb"]).long()[:, 0]
    t = {}
    t["emb"] = p["C"][Xb]
    t["embcat"] = t["emb"].view(t["emb"].shape[0], -1)
    t["hprebn"] = t["embcat"] @ p["W1"] + p["b1"]
    t["bnmeani"] = 1 / n * t["hprebn"].sum(0, keepdim=True)
    t["bndiff"] = t["hprebn"] - t["bnmeani"]
    t["bndiff2"] = t["bndiff"] ** 2
    t["bnvar"] = 1 / (n - 1) * t["bndiff2"].sum(0, keepdim=True)
    t["bnvar_inv"] = (t["bnvar"] + 1e-5) ** -0.5
    t["bnraw"] = t["bndiff"] * t["bnvar_inv"]
    t["hpreact"] = p["bngain"] * t["bnraw"] + p["bnbias"]
    t["h"] = torch.tanh(t["hpreact"])
    t["logits"] = t["h"] @ p["W2"] + p["b2"]
    t["logit_maxes"] = t["logits"].max(1, keepdim=True).values
    t["norm_logits"] = t["logits"] - t["logit_maxes"]
    t["counts"] = t["norm_logits"].exp()
    t["counts_sum"] = t["counts"].sum(1, keepdims=True)
    t["counts_sum_inv"] = t["counts_sum"] ** -1
    t["probs"] = t["counts"] * t["counts_sum_inv"]
    t["logprobs"] = t["probs"].log()
    loss = -t["logprobs"][range(n), Yb].mean()
    for tensor in t.values():
        tensor.retain_grad()
    loss.backward()
    return loss, t, p


@pytest.fixture(scope="module")
def derivation() -> sbp.Derivation:
    return sbp.backprop(lecture())


def test_the_shapes_are_the_lectures(derivation):
    net = lecture()
    assert net["emb"].shape == (n, block, n_embd) and net["embcat"].shape == (n, block * n_embd)
    assert net["bnmeani"].shape == net["bnvar"].shape == net["bnvar_inv"].shape == (1, n_hidden)
    assert net["logit_maxes"].shape == net["counts_sum"].shape == net["counts_sum_inv"].shape == (n, 1)


@pytest.mark.parametrize(("seed", "sizes", "mean_by"), [(0, SMALL, "total"), (1, SMALL, "total"), (2, SMALL, "mean"),
                                                       (3, LECTURE, "total")], ids=["0", "1", "mean", "lecture-sizes"])
def test_every_intermediate_gradient_is_pytorchs(seed, sizes, mean_by):
    values = lecture_values(seed, sizes)
    evaluation = sbp.backprop(lecture(sizes, mean_by=mean_by)).evaluate(values)
    loss, intermediates, parameters = torch_lecture(values)
    np.testing.assert_allclose(evaluation.forward["loss"], loss.item(), rtol=1e-12)
    for name in INTERMEDIATES:
        tensor = intermediates[name]
        np.testing.assert_allclose(evaluation.forward[name], tensor.detach().numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=name)
        np.testing.assert_allclose(evaluation.grad[name], tensor.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"d{name}")
    for name in PARAMETERS:
        np.testing.assert_allclose(evaluation.grad[name], parameters[name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"d{name}")


def test_dlogit_maxes_is_zero_up_to_rounding_in_both(derivation):
    """Shifting the logits by their row's largest one leaves the probabilities unchanged, so the
    lecture's dlogit_maxes is zero but for rounding: in PyTorch as here."""
    values = lecture_values(3)
    ours = derivation.evaluate(values).grad["logit_maxes"]
    _, intermediates, _ = torch_lecture(values)
    theirs = intermediates["logit_maxes"].grad.numpy()
    assert ours.shape == theirs.shape == (n, 1)
    assert np.abs(ours).max() < 1e-15 and np.abs(theirs).max() < 1e-15


def test_every_parameter_gradient_is_the_central_finite_difference(derivation):
    """Without PyTorch: ∂loss/∂θ against (loss(θ + h) − loss(θ − h)) / 2h at every element."""
    values = lecture_values(4)
    run = derivation.lambdify()
    got = run(**values)
    loss = lambda changed: float(run.forward_and_gradients(**changed).forward["loss"])  # noqa: E731
    step = 1e-6
    for name in PARAMETERS:
        expected = np.zeros_like(values[name])
        for index in np.ndindex(values[name].shape):
            plus, minus = values[name].copy(), values[name].copy()
            plus[index] += step
            minus[index] -= step
            expected[index] = (loss(values | {name: plus}) - loss(values | {name: minus})) / (2 * step)
        np.testing.assert_allclose(got[name], expected, rtol=1e-6, atol=1e-9, err_msg=f"d{name}")


def test_a_repeated_character_adds_its_rows_into_dC(derivation):
    """The embedding's backward pass is a scatter-add: a character used k times in the batch receives
    the sum of its k rows of ∂loss/∂emb, as the lecture's loop over Xb adds them."""
    values = lecture_values(5)
    values["Xb"][0, :] = 2  # the same character three times in one block
    evaluation = derivation.evaluate(values)
    demb = evaluation.grad["emb"]
    dC = np.zeros((vocab, n_embd))
    for i, j in np.ndindex(values["Xb"].shape):
        dC[values["Xb"][i, j]] += demb[i, j]
    np.testing.assert_allclose(evaluation.grad["C"], dC, rtol=1e-12, atol=1e-15)
