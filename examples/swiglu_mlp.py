"""The SwiGLU feed-forward block of LLaMA: out = W2·(SiLU(W1·x) ⊙ W3·x), d_model = 2, d_ff = 3.

    python examples/swiglu_mlp.py [--out DIR]

The gate g = SiLU(a) and the up projection u = W3·x are multiplied element by element, so the
gradient splits at h = g ⊙ u: ∂L/∂g = ∂L/∂h ⊙ u and ∂L/∂u = ∂L/∂h ⊙ g, and x, which feeds both
branches, adds the two back in one recorded sum step. Writes the derivation (LaTeX and
Markdown, English and Korean) and the computational graph into DIR.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import symbackprop as sbp
from symbackprop.graph import write_graph

net = sbp.models.swiglu_mlp(2, 3)

values = {
    "x": [1.0, -0.5], "y": [0.5, 0.0],
    "W1": [[0.5, -0.5], [1.0, 0.25], [-0.5, 1.0]],
    "W3": [[0.25, 0.5], [-1.0, 0.5], [0.5, 0.5]],
    "W2": [[1.0, -0.5, 0.25], [0.5, 0.25, -1.0]],
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
    a = ev.forward["a"]
    silu = a / (1 + np.exp(-a))
    assert np.allclose(ev.forward["g"], silu, atol=1e-12)
    assert np.allclose(ev.grad["u"], ev.grad["h"] * silu, atol=1e-12)
    print("∂L/∂u = ∂L/∂h ⊙ g =", np.round(ev.grad["u"].ravel(), 6).tolist())

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"swiglu_mlp{suffix}.tex", values=values, lang=lang)
        d.write(out / f"swiglu_mlp{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("swiglu_mlp.svg" if shutil.which("dot") else "swiglu_mlp.dot"), values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
