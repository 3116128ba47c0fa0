"""An embedding with a repeated index: C[idx] forward, a scatter-add backward.

    python examples/embedding_scatter.py [--out DIR]

Two blocks of two characters from a vocabulary of three, idx = [[0, 2], [2, 1]]: character 2 is
used twice, so its row of ∂L/∂C is the sum of the two rows of ∂L/∂emb that read it, while
characters 0 and 1 each get the one row their single use sends back. The lecture's loop
"for k, j: dC[Xb[k, j]] += demb[k, j]" is the step ∂L/∂C = Eᵀ ∂L/∂emb, with E the one-hot
matrix of the indices (a row per use, ∂L/∂emb laid out a use per row). As F.embedding(idx, C).
Writes the derivation (LaTeX and Markdown, English and Korean) and the computational graph into DIR.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import symbackprop as sbp
from symbackprop.graph import write_graph

net = sbp.Network()
idx = net.input("idx", (2, 2))                     # two blocks of two characters
y = net.input("y", (2, 1))
C = net.param("C", (3, 2))                         # a 2-vector per character of the vocabulary
w = net.param("w", (4, 1))
emb = net.node("emb", C[idx])                      # (2, 2, 2): row idx[i, j] of C at [i, j]
embcat = net.node("embcat", emb.reshape(2, -1))    # each block's two vectors side by side
out = net.node("out", embcat @ w)
net.loss("L", sbp.half_squared_error(out, y))

values = {
    "idx": [[0, 2], [2, 1]],
    "y": [1.0, 0.0],
    "C": [[1.0, 0.0], [0.0, 1.0], [0.5, -0.5]],
    "w": [1.0, -1.0, 0.5, 2.0],
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
    # The lecture's loop, by hand: every use of a character adds its row of ∂L/∂emb into that row of ∂L/∂C.
    by_hand = np.zeros((3, 2))
    for (i, j), character in np.ndenumerate(np.asarray(values["idx"])):
        by_hand[character] += ev.grad["emb"][i, j]
    assert np.allclose(ev.grad["C"], by_hand, atol=1e-12)
    print("∂L/∂C =", np.round(ev.grad["C"], 6).tolist(), " (row 2 is the sum of two uses)")

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"embedding_scatter{suffix}.tex", values=values, lang=lang)
        d.write(out / f"embedding_scatter{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("embedding_scatter.svg" if shutil.which("dot") else "embedding_scatter.dot"),
                values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences; documents in {out}/")


if __name__ == "__main__":
    main()
