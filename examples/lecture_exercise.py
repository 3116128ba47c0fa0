"""The "becoming a backprop ninja" exercise, line for line, at a size that fits on a page.

    python examples/lecture_exercise.py [--out DIR]

sbp.models.embedding_mlp(vocab=4, block=2, d_emb=2, hidden=2, N=3): three blocks of two characters
embedded (emb = C[Xb]), flattened, a linear layer, batch normalisation in the lecture's small steps
(bnmeani … bnraw, Bessel's variance), tanh, the logits, and the cross-entropy written out (logit_maxes,
norm_logits, counts, counts_sum, counts_sum_inv, probs, logprobs, loss). The derivation computes every
gradient the exercise asks for, dlogprobs first and dC last: dlogit_maxes is zero up to rounding (the
shift by each row's largest logit leaves the probabilities unchanged), bndiff and hprebn add two
paths, and dC is a scatter-add over the characters used. Writes the derivation (LaTeX and Markdown,
English and Korean) and the computational graph into DIR.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import symbackprop as sbp
from symbackprop.graph import write_graph

net = sbp.models.embedding_mlp(4, 2, 2, 2, 3)

values = {
    "Xb": [[0, 1], [1, 3], [3, 3]],               # character 3 twice in the last block
    "Yb": [1, 3, 0],                              # the character after each block
    "C": [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [-1.0, 0.5]],
    "W1": [[0.5, 0.0], [0.0, 0.5], [0.5, -0.5], [0.0, 1.0]],
    "b1": [[0.0, 0.0]],
    "bngain": [[1.0, 0.5]], "bnbias": [[0.0, 0.0]],
    "W2": [[1.0, -1.0, 0.5, 0.0], [0.0, 0.5, -0.5, 1.0]],
    "b2": [[0.0, 0.0, 0.0, 0.0]],
}


def output_folder() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the documents (default: out/)")
    folder = parser.parse_args().out
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main() -> None:
    out = output_folder()
    d = sbp.backprop(net)
    ev = d.evaluate(values)
    assert np.abs(ev.grad["logit_maxes"]).max() < 1e-15  # the lecture's dlogit_maxes: zero but for rounding
    # The lecture's second exercise: dlogits = (softmax(logits) − one_hot(Yb)) / n, in one line.
    one_hot = np.eye(4)[np.ravel(values["Yb"])]
    assert np.allclose(ev.grad["logits"], (ev.forward["probs"] - one_hot) / 3, atol=1e-12)
    print("loss =", round(float(ev.forward["loss"]), 6), " dC =", np.round(ev.grad["C"], 6).tolist())

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"lecture_exercise{suffix}.tex", values=values, lang=lang)
        d.write(out / f"lecture_exercise{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("lecture_exercise.svg" if shutil.which("dot") else "lecture_exercise.dot"),
                values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences; documents in {out}/")


if __name__ == "__main__":
    main()
