"""An LSTM over T = 3 steps, as nn.LSTM(1, 2): four gates share one state, and the cell carries it.

    python examples/lstm.py [--out DIR]

i, f, o = σ(W h_(t−1) + U x_t + b) per gate, g = tanh(…), c_t = f ⊙ c_(t−1) + i ⊙ g and
h_t = o ⊙ tanh(c_t). Each state h_t feeds the output and the four gates of the next step, and each
cell c_t the next cell, so the gradients of h1, h2, c1 and c2 are recorded sums of their paths; the
weights of every gate are shared by the steps, so their gradients add one term per step
(backpropagation through time). With one input feature and two hidden units the matrices stay small.
Writes the derivation (LaTeX and Markdown, English and Korean) and the computational graph into DIR.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import symbackprop as sbp
from symbackprop.graph import write_graph

net = sbp.models.lstm(1, 2, T=3)

values = {
    "X": [[1.0, 0.5, -1.0]],                    # x1, x2, x3: one feature per step
    "h0": [0.0, 0.0], "c0": [0.0, 0.0],          # the states before the first step, as nn.LSTM's default
    "y": [[0.5, 0.25, -0.25], [0.0, 0.25, 0.5]],
    "W_i": [[0.5, 0.0], [0.0, 0.5]], "U_i": [1.0, -1.0], "b_i": [0.0, 0.0],
    "W_f": [[0.25, 0.0], [0.0, 0.25]], "U_f": [0.5, 0.5], "b_f": [1.0, 1.0],
    "W_g": [[0.5, -0.5], [0.5, 0.5]], "U_g": [1.0, 0.5], "b_g": [0.0, 0.0],
    "W_o": [[0.0, 0.5], [0.5, 0.0]], "U_o": [0.5, -0.5], "b_o": [0.0, 0.5],
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
    # W_f is used at every step: its gradient is the sum of one term per step, recorded as such.
    assert d.step_for("W_f").kind == "sum"
    print("∂L/∂W_f =", np.round(ev.grad["W_f"], 6).tolist(), " ∂L/∂c1 =", np.round(ev.grad["c1"].ravel(), 6).tolist())

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"lstm{suffix}.tex", values=values, lang=lang)
        d.write(out / f"lstm{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("lstm.svg" if shutil.which("dot") else "lstm.dot"), values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
