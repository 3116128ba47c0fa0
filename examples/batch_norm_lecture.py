"""Batch normalisation's backward pass as the lecture derives it, one small step at a time.

    python examples/batch_norm_lecture.py [--out DIR]

Four samples of two features, hprebn (4×2), normalised over the batch exactly as the lecture writes
it: bnmeani = 1/n Σ hprebn, bndiff = hprebn − bnmeani, bndiff2 = bndiff², bnvar = 1/(n − 1) Σ bndiff2
(Bessel's correction), bnvar_inv = (bnvar + 10⁻⁵)^(−1/2), bnraw = bndiff ⊙ bnvar_inv and
hpreact = bngain ⊙ bnraw + bnbias. The backward pass meets the lecture's two subtleties: bndiff is used
twice (in bnraw and in bndiff2), so its gradient is a recorded sum of two paths, and the sums over the
batch send their gradient back broadcast to every sample; hprebn reaches the loss directly and through
its mean. The entries of each column of ∂L/∂hprebn sum to zero. Writes the derivation (LaTeX and
Markdown, English and Korean) and the computational graph into DIR.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import sympy as sp

import symbackprop as sbp
from symbackprop.graph import write_graph

n, features = 4, 2
net = sbp.Network()
hprebn = net.input("hprebn", (n, features))       # the batch, a sample per row
y = net.input("y", (n, features))
bngain = net.param("bngain", (1, features))
bnbias = net.param("bnbias", (1, features))
bnmeani = net.node("bnmeani", sp.Rational(1, n) * sbp.total(hprebn, axis=0))
bndiff = net.node("bndiff", hprebn - bnmeani)
bndiff2 = net.node("bndiff2", bndiff ** 2)
bnvar = net.node("bnvar", sp.Rational(1, n - 1) * sbp.total(bndiff2, axis=0))
bnvar_inv = net.node("bnvar_inv", (bnvar + sp.Rational(1, 100000)) ** sp.Rational(-1, 2))
bnraw = net.node("bnraw", bndiff * bnvar_inv)
hpreact = net.node("hpreact", bngain * bnraw + bnbias)
net.loss("L", sbp.half_squared_error(hpreact, y))

# Each column's mean is a whole number and its squared deviations sum to 3, so bnvar = 1 (+ 10⁻⁵ under
# the root): bnraw is bndiff to four digits and the steps are easy to follow by hand.
values = {
    "hprebn": [[2.5, 1.5], [0.5, -0.5], [0.5, 1.5], [0.5, 1.5]],
    "y": [[1.0, 0.0], [-1.0, 0.5], [0.0, 0.0], [0.5, -0.5]],
    "bngain": [1.0, 0.5], "bnbias": [0.0, 0.5],
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
    x = np.asarray(values["hprebn"])
    bnraw_by_hand = (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + 1e-5)  # ddof=1: the lecture's Bessel variance
    assert np.allclose(ev.forward["bnraw"], bnraw_by_hand, atol=1e-12)
    # The lecture's closed form of the whole backward pass through the normalisation, in one line.
    dbnraw = ev.grad["bnraw"]
    by_formula = ev.forward["bnvar_inv"] / n * (n * dbnraw - dbnraw.sum(0) - n / (n - 1) * bnraw_by_hand
                                                 * (dbnraw * bnraw_by_hand).sum(0))
    assert np.allclose(ev.grad["hprebn"], by_formula, atol=1e-12)
    assert np.allclose(ev.grad["hprebn"].sum(0), 0, atol=1e-12)
    print("∂L/∂hprebn =", np.round(ev.grad["hprebn"], 6).tolist(), "(the lecture's one-line formula agrees)")

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"batch_norm_lecture{suffix}.tex", values=values, lang=lang)
        d.write(out / f"batch_norm_lecture{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("batch_norm_lecture.svg" if shutil.which("dot") else "batch_norm_lecture.dot"),
                values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
