"""One head of self-attention over T = 3 tokens of d = 2 features: out = softmax(Q Kᵀ/√2, axis=1) V.

    python examples/attention_head.py [--out DIR]

Each row of A = softmax(S) holds one token's weights over the three tokens, so the backward step
through the softmax works row by row: ∂L/∂S = A ⊙ (∂L/∂A − (∂L/∂A ⊙ A) 1 1ᵀ). X feeds Q, K
and V, so ∂L/∂X adds three terms. As F.scaled_dot_product_attention(X Wq, X Wk, X Wv).
Writes the derivation (LaTeX and Markdown, English and Korean) and the computational graph
into DIR.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import symbackprop as sbp
from symbackprop.graph import write_graph

net = sbp.models.attention_head(2, T=3)

values = {
    "X": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
    "y": [[0.5, 0.0], [0.0, 0.5], [1.0, 0.5]],
    "Wq": [[1.0, 0.5], [-0.5, 1.0]],
    "Wk": [[0.5, 0.0], [1.0, -0.5]],
    "Wv": [[1.0, -1.0], [0.5, 0.5]],
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
    A = ev.forward["A"]
    assert np.allclose(A.sum(axis=1), 1.0, atol=1e-12)  # each token's weights sum to one
    G = ev.grad["A"]
    assert np.allclose(ev.grad["S"], A * (G - (G * A).sum(axis=1, keepdims=True)), atol=1e-12)
    print("A =", np.round(A, 4).tolist())
    print("∂L/∂S = A ⊙ (∂L/∂A − (∂L/∂A ⊙ A) 1 1ᵀ) =", np.round(ev.grad["S"], 4).tolist())

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"attention_head{suffix}.tex", values=values, lang=lang)
        d.write(out / f"attention_head{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("attention_head.svg" if shutil.which("dot") else "attention_head.dot"), values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
