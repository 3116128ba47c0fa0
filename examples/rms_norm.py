"""RMS normalisation of one column of three features: out = γ ⊙ x/√(mean(x²) + ε), as in LLaMA.

    python examples/rms_norm.py [--out DIR]

Unlike LayerNorm nothing is subtracted: x is divided by its root mean square and scaled by γ.
x reaches the loss twice, directly and through the mean square, so ∂L/∂x is a recorded sum.
ε is PyTorch's default for float64, 2⁻⁵². Writes the derivation (LaTeX and Markdown, English and
Korean) and the computational graph into DIR.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import symbackprop as sbp
from symbackprop.graph import write_graph

net = sbp.models.rms_norm(3)

# mean(x²) = 3, so the root mean square is √3.
values = {"x": [1.0, -2.0, 2.0], "y": [0.5, -1.0, 1.0], "gamma": [1.0, 0.5, 2.0]}


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
    rms = np.sqrt(np.mean(x**2) + 2.0**-52)
    assert np.allclose(ev.forward["xhat"].ravel(), x / rms, atol=1e-12)
    print("rms =", round(float(rms), 6), " ∂L/∂x =", np.round(ev.grad["x"].ravel(), 6).tolist())
    # Scaling x does not change x / rms, so the gradient at x is orthogonal to x.
    assert abs(float(ev.grad["x"].ravel() @ x)) < 1e-12

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"rms_norm{suffix}.tex", values=values, lang=lang)
        d.write(out / f"rms_norm{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("rms_norm.svg" if shutil.which("dot") else "rms_norm.dot"), values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
