"""A residual block: the input added back to a two-layer ReLU branch, out = x + W2·ReLU(W1·x + b1) + b2.

    python examples/residual_block.py [--out DIR]

The skip connection gives x two ways to the loss: ∂L/∂x is the gradient that arrives straight
from out plus the one that comes back through the branch, W1ᵀ ∂L/∂z1, added in one recorded sum
step. The values are exact fractions, so every number of the worked example is exact. Writes the
derivation (LaTeX and Markdown, English and Korean) and the computational graph into DIR.
"""

from __future__ import annotations

import argparse
import shutil
from fractions import Fraction
from pathlib import Path

import symbackprop as sbp
from symbackprop.graph import write_graph

net = sbp.models.residual_block(2)

values = {
    "x": [Fraction(1), Fraction(-1, 2)], "y": [Fraction(1, 2), Fraction(1)],
    "W1": [[Fraction(1, 2), Fraction(-1, 4)], [Fraction(1, 4), Fraction(1)]], "b1": [Fraction(0), Fraction(-1, 4)],
    "W2": [[Fraction(1), Fraction(-1, 2)], [Fraction(1, 2), Fraction(1, 4)]], "b2": [Fraction(1, 4), Fraction(0)],
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
    exact = d.evaluate(values, exact=True)
    print("∂L/∂x =", exact.grad["x"].tolist())
    # The skip connection: the gradient at out reaches x unchanged, and the branch adds W1ᵀ ∂L/∂z1.
    through_branch = exact.forward["W1"].T @ exact.grad["z1"]
    assert (exact.grad["x"] == exact.grad["out"] + through_branch).all()

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"residual_block{suffix}.tex", values=values, lang=lang)
        d.write(out / f"residual_block{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("residual_block.svg" if shutil.which("dot") else "residual_block.dot"), values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
