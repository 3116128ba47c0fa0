"""A recurrent network over T = 3 steps, h_t = tanh(W h_(t−1) + U x_t + b): backpropagation through time.

    python examples/rnn_bptt.py [--out DIR]

W, U and b are the same at every step, so each of their gradients is a recorded sum of one term
per step, in the order of the steps: ∂L/∂W = ∂L/∂z1 h0ᵀ + ∂L/∂z2 h1ᵀ + ∂L/∂z3 h2ᵀ. Every state
h1, h2, h3 is compared with its target, and h1 and h2 also feed the next step, so their
gradients add two terms. As nn.RNN(2, 2, nonlinearity="tanh") with b = b_ih + b_hh. Writes the
derivation (LaTeX and Markdown, English and Korean) and the computational graph into DIR.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import symbackprop as sbp
from symbackprop.graph import write_graph

net = sbp.models.rnn(2, 2, T=3)

values = {
    "X": [[1.0, 0.0, -1.0], [0.0, 1.0, 0.5]],    # column t is x_t
    "h0": [0.5, -0.5],                          # the state before the first step
    "y": [[0.5, 0.0, -0.5], [0.0, 0.5, 0.5]],
    "W": [[0.5, -0.25], [0.25, 0.5]],
    "U": [[1.0, 0.5], [-0.5, 1.0]],
    "b": [0.0, 0.25],
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
    states = [ev.forward["h0"], ev.forward["h1"], ev.forward["h2"]]
    per_step = [ev.grad[f"z{t}"] @ states[t - 1].T for t in (1, 2, 3)]
    assert np.allclose(ev.grad["W"], sum(per_step), atol=1e-12)
    for t, term in enumerate(per_step, start=1):
        print(f"step {t}: ∂L/∂z{t} h{t - 1}ᵀ =", np.round(term, 6).tolist())
    print("∂L/∂W, their sum =", np.round(ev.grad["W"], 6).tolist())

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"rnn_bptt{suffix}.tex", values=values, lang=lang)
        d.write(out / f"rnn_bptt{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("rnn_bptt.svg" if shutil.which("dot") else "rnn_bptt.dot"), values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
