"""Layer normalisation of one column of three features: out = γ ⊙ (x − μ)/√(σ² + ε) + β.

    python examples/layer_norm.py [--out DIR]

The derivation goes back through each step of the forward pass: the scale and shift, the division
by σ, the square root, the mean of the squares (the variance) and the mean μ, which x reaches
twice (directly and through μ), so ∂L/∂x is a recorded sum. As F.layer_norm(x, (3,), γ, β).
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

net = sbp.models.layer_norm(3)

# μ = 1, x − μ = [1, −1, 0] and σ² = 2/3: the normalisation is easy to follow by hand.
values = {
    "x": [2.0, 0.0, 1.0], "y": [1.0, -1.0, 0.5],
    "gamma": [1.0, 0.5, 2.0], "beta": [0.0, 0.25, -0.5],
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
    x = np.ravel(values["x"])
    xhat = (x - x.mean()) / np.sqrt(x.var() + 1e-5)  # NumPy's var is the biased one, as PyTorch's
    assert np.allclose(ev.forward["xhat"].ravel(), xhat, atol=1e-12)
    print("x̂ =", np.round(xhat, 6).tolist(), " ∂L/∂x =", np.round(ev.grad["x"].ravel(), 6).tolist())
    # Normalising removes the mean, so the gradient reaching x has none: its entries sum to zero.
    assert abs(ev.grad["x"].sum()) < 1e-12

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"layer_norm{suffix}.tex", values=values, lang=lang)
        d.write(out / f"layer_norm{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("layer_norm.svg" if shutil.which("dot") else "layer_norm.dot"), values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
