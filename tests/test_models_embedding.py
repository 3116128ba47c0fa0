"""sbp.models.embedding_mlp, the lecture's character-level MLP as a block: its names, the loss and every
parameter's gradient against PyTorch in float64 (both ways of writing the loss), its document and
check_gradients, and its mistakes."""

from __future__ import annotations

import time

import numpy as np
import pytest

import symbackprop as sbp

VOCAB, BLOCK, D_EMB, HIDDEN, N = 7, 3, 2, 4, 5
PARAMETERS = ("C", "W1", "b1", "bngain", "bnbias", "W2", "b2")
#: The lecture's names, in its order.
NODES = ("emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw", "hpreact", "h",
         "logits", "logit_maxes", "norm_logits", "counts", "counts_sum", "counts_sum_inv", "probs", "logprobs")


def _values(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {"Xb": rng.integers(0, VOCAB, (N, BLOCK)), "Yb": rng.integers(0, VOCAB, (N, 1))}
    net = sbp.models.embedding_mlp(VOCAB, BLOCK, D_EMB, HIDDEN, N)
    return values | {q.name: rng.normal(size=q.shape) * 0.5 for q in net.params}


def _torch_loss_and_gradients(values: dict[str, np.ndarray], eps: float = 1e-5):
    """The lecture's network as PyTorch users write it once the exercise is done: F.embedding, a batch
    norm with Bessel's variance, F.cross_entropy."""
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    p = {name: torch.tensor(values[name], dtype=torch.float64, requires_grad=True) for name in PARAMETERS}
    Xb, Yb = torch.tensor(values["Xb"]).long(), torch.tensor(values["Yb"]).long()[:, 0]
    hprebn = functional.embedding(Xb, p["C"]).view(N, -1) @ p["W1"] + p["b1"]
    bnraw = (hprebn - hprebn.mean(0, keepdim=True)) / torch.sqrt(hprebn.var(0, keepdim=True, unbiased=True) + eps)
    logits = torch.tanh(p["bngain"] * bnraw + p["bnbias"]) @ p["W2"] + p["b2"]
    loss = functional.cross_entropy(logits, Yb)
    loss.backward()
    return loss.item(), {name: p[name].grad.numpy() for name in PARAMETERS}


def test_the_names_and_shapes_are_the_lectures():
    net = sbp.models.embedding_mlp(VOCAB, BLOCK, D_EMB, HIDDEN, N)
    assert [q.name for q in net.quantities("input")] == ["Xb", "Yb"]
    assert [q.name for q in net.params] == list(PARAMETERS)
    assert [q.name for q in net.quantities("node")] == list(NODES)
    assert net.loss_name == "loss"
    assert net["emb"].shape == (N, BLOCK, D_EMB) and net["embcat"].shape == (N, BLOCK * D_EMB)
    fused = sbp.models.embedding_mlp(VOCAB, BLOCK, D_EMB, HIDDEN, N, loss="cross_entropy")
    assert [q.name for q in fused.quantities("node")] == list(NODES[:NODES.index("logits") + 1])


@pytest.mark.parametrize("loss", ["explicit", "cross_entropy"])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_loss_and_every_parameter_gradient_are_pytorchs(loss, seed):
    values = _values(seed)
    evaluation = sbp.backprop(sbp.models.embedding_mlp(VOCAB, BLOCK, D_EMB, HIDDEN, N, loss=loss)).evaluate(values)
    expected_loss, expected = _torch_loss_and_gradients(values)
    assert float(evaluation.forward["loss"]) == pytest.approx(expected_loss, rel=1e-12)
    for name in PARAMETERS:
        np.testing.assert_allclose(evaluation.grad[name], expected[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_eps_is_the_one_given():
    values = _values(2)
    net = sbp.models.embedding_mlp(VOCAB, BLOCK, D_EMB, HIDDEN, N, eps=0.5)
    evaluation = sbp.backprop(net).evaluate(values)
    expected_loss, expected = _torch_loss_and_gradients(values, eps=0.5)
    assert float(evaluation.forward["loss"]) == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(evaluation.grad["W1"], expected["W1"], rtol=1e-9, atol=1e-12)


def test_the_markdown_document_writes_and_check_gradients_passes(tmp_path):
    net = sbp.models.embedding_mlp(5, 2, 2, 3, 4)
    d = sbp.backprop(net)
    rng = np.random.default_rng(3)
    values = {"Xb": rng.integers(0, 5, (4, 2)), "Yb": rng.integers(0, 5, (4, 1))}
    values |= {q.name: rng.normal(size=q.shape) for q in net.params}
    started = time.perf_counter()
    d.write(tmp_path / "lecture.md")
    text = (tmp_path / "lecture.md").read_text(encoding="utf-8")
    # the lecture's names as its code writes them, upright: not counts with the subscript "sum inv"
    assert r"\mathrm{counts\_sum\_inv} &= \mathrm{counts\_sum}^{\circ -1}" in text
    assert r"\mathrm{bndiff}_{2} &= \mathrm{bndiff}^{\circ 2}" in text
    report = sbp.check_gradients(d, values)
    assert report.passed, report
    assert time.perf_counter() - started < 20


@pytest.mark.parametrize("build", [
    lambda: sbp.models.embedding_mlp(0, 3, 2, 4, 5),
    lambda: sbp.models.embedding_mlp(7, 3, 2, 4, 1),  # Bessel's correction needs two samples
    lambda: sbp.models.embedding_mlp(7, 3, 2, 4, 5, loss="mse"),
    lambda: sbp.models.embedding_mlp(7, 3, 2, 4, 5, loss="nope"),
    lambda: sbp.models.embedding_mlp(7, 3, 2, 4, 5, eps=0),
])
def test_bad_sizes_and_options_are_network_errors(build):
    with pytest.raises(sbp.NetworkError):
        build()


def test_long_names_are_measured_as_they_print():
    """∂loss/∂counts_sum_inv is wider than ∂loss/∂probs ⊙ ∂probs/∂counts is not: the widest left side
    decides how far a wide row is scaled, and a chain of such fractions is broken before six."""
    from symbackprop.printing.sections.chain import broken_product
    from symbackprop.printing.widths import fraction_width

    long = r"\frac{\partial \mathrm{loss}}{\partial \mathrm{counts\_sum\_inv}}"
    assert fraction_width(long) == 1 + len("counts_sum_inv")
    assert fraction_width(r"\frac{\partial L}{\partial V} \cdot \frac{\partial V}{\partial X}") == 5
    assert len(broken_product([long] * 6)) == 3
    assert len(broken_product([r"\frac{\partial h_{2}}{\partial z_{2}}"] * 6)) == 1


def test_the_block_builds_in_a_program_that_imports_only_the_models():
    """The rank check reads what the core node types declare; a program that imports symbackprop.models
    alone, before any public name, once saw emb.reshape refused as 'Ref takes vectors and matrices only'."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    program = "import symbackprop.models as models; print(models.embedding_mlp(7, 3, 2, 4, 5)['embcat'].shape)"
    result = subprocess.run([sys.executable, "-c", program], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(5, 6)"
