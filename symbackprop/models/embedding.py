"""The character-level MLP of the "becoming a backprop ninja" lecture: an embedding, a linear layer,
batch normalisation, tanh and a softmax cross-entropy, each written as the small steps the lecture
backpropagates through by hand."""

from __future__ import annotations

import sympy as sp

from ..errors import NetworkError
from ..network import Network
from ..ops import loss_names, loss_op
from ..ops.activations import tanh
from ..ops.elementwise_math import exp, log
from ..tensor import mean, total
from ..tensor.extrema import maximal
from .batchnorm import BATCH_NORM_EPS, OVER_THE_SAMPLES
from .options import epsilon, size

#: Along each row (a sample's logits): the largest logit and the sum of the counts.
OVER_THE_CLASSES = 1

#: The loss as the lecture first writes it, line by line down to the mean of the picked log-probabilities.
EXPLICIT = "explicit"


def embedding_mlp(vocab: int, block: int, d_emb: int, hidden: int, N: int, *,  # noqa: N803 - N, the batch size
                  eps: float = BATCH_NORM_EPS, loss: str = EXPLICIT) -> Network:
    """The lecture's network over a batch of N blocks of ``block`` characters from ``vocab``.

    Names, in the lecture's order (n is N): Xb (N×block, integers 0 … vocab − 1), Yb (N×1, the next
    character of each block), C (vocab×d_emb), W1 (block·d_emb×hidden), b1 (1×hidden), bngain,
    bnbias (1×hidden), W2 (hidden×vocab), b2 (1×vocab); emb = C[Xb] (N×block×d_emb),
    embcat = emb.reshape(N, −1), hprebn = embcat W1 + b1, bnmeani = 1/n Σ hprebn over the samples,
    bndiff = hprebn − bnmeani, bndiff2 = bndiff², bnvar = 1/(n − 1) Σ bndiff2 over the samples
    (Bessel's correction, as the lecture), bnvar_inv = (bnvar + eps)^(−1/2), bnraw = bndiff ⊙ bnvar_inv,
    hpreact = bngain ⊙ bnraw + bnbias, h = tanh(hpreact), logits = h W2 + b2; then with
    ``loss="explicit"`` (the default) logit_maxes = each row's largest logit, norm_logits = logits −
    logit_maxes, counts = exp(norm_logits), counts_sum = each row's sum, counts_sum_inv = counts_sum⁻¹,
    probs = counts ⊙ counts_sum_inv, logprobs = log(probs) and loss = −mean of logprobs[range(n), Yb];
    ``loss=`` the name of the softmax cross-entropy loss (or its alias) is the lecture's second
    exercise, the same loss as one node of the logits and the class indices Yb, as PyTorch's one call.
    Batch normalisation couples the samples, so the N samples are the rows of the inputs, as in
    :func:`~symbackprop.models.batch_norm`, not a batch axis.
    """
    vocab, block, d_emb = size("vocab", vocab), size("block", block), size("d_emb", d_emb)
    hidden, N = size("hidden", hidden), size("N", N)  # noqa: N806
    if N < 2:
        raise NetworkError(f"N must be at least 2: Bessel's correction divides by N − 1, got N = {N}")
    if loss != EXPLICIT and not _takes_class_indices(loss):
        raise NetworkError(f"unknown loss {loss!r} for embedding_mlp: {EXPLICIT!r}, or a loss of logits and "
                           "class indices along an axis (the softmax cross-entropy)")
    eps = epsilon(eps)
    net = Network()
    Xb = net.input("Xb", (N, block))  # noqa: N806
    Yb = net.input("Yb", (N, 1))  # noqa: N806
    C = net.param("C", (vocab, d_emb))  # noqa: N806
    W1, b1 = net.param("W1", (block * d_emb, hidden)), net.param("b1", (1, hidden))  # noqa: N806
    bngain, bnbias = net.param("bngain", (1, hidden)), net.param("bnbias", (1, hidden))
    W2, b2 = net.param("W2", (hidden, vocab)), net.param("b2", (1, vocab))  # noqa: N806
    emb = net.node("emb", C[Xb])
    embcat = net.node("embcat", emb.reshape(N, -1))
    hprebn = net.node("hprebn", embcat @ W1 + b1)
    bnmeani = net.node("bnmeani", sp.Rational(1, N) * total(hprebn, OVER_THE_SAMPLES))
    bndiff = net.node("bndiff", hprebn - bnmeani)
    bndiff2 = net.node("bndiff2", bndiff ** 2)
    bnvar = net.node("bnvar", sp.Rational(1, N - 1) * total(bndiff2, OVER_THE_SAMPLES))
    bnvar_inv = net.node("bnvar_inv", (bnvar + eps) ** sp.Rational(-1, 2))
    bnraw = net.node("bnraw", bndiff * bnvar_inv)
    hpreact = net.node("hpreact", bngain * bnraw + bnbias)
    h = net.node("h", tanh(hpreact))
    logits = net.node("logits", h @ W2 + b2)
    if loss != EXPLICIT:
        net.loss("loss", loss_op(loss)(logits, Yb, axis=OVER_THE_CLASSES))
        return net
    logit_maxes = net.node("logit_maxes", maximal(logits, OVER_THE_CLASSES))
    norm_logits = net.node("norm_logits", logits - logit_maxes)  # for numerical stability only
    counts = net.node("counts", exp(norm_logits))
    counts_sum = net.node("counts_sum", total(counts, OVER_THE_CLASSES))
    counts_sum_inv = net.node("counts_sum_inv", counts_sum ** -1)
    probs = net.node("probs", counts * counts_sum_inv)
    logprobs = net.node("logprobs", log(probs))
    net.loss("loss", -mean(logprobs[range(N), Yb]))
    return net


def _takes_class_indices(loss: str) -> bool:
    """Whether the loss of that name builds its own node from options (an axis) and class indices;
    the registry says so, so that no loss is named here."""
    return loss in loss_names() and loss_op(loss).construct is not None
