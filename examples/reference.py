"""The reference page's two-layer ReLU network and its worked example, derived step by step.

    python examples/reference.py [--out DIR]

writes the derivation in English and Korean (LaTeX and Markdown) and the computational
graph into DIR (default: out/), and prints the page's numbers. The same file is also a
NET for the command line, which reads `net` and `values` from it:

    symbackprop derive examples/reference.py -o derivation.tex
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import sympy as sp

import symbackprop as sbp
from symbackprop.graph import write_graph

# x → z1 = W1·x + b1 → h1 = ReLU(z1) → z2 = W2·h1 + b2 → h2 = ReLU(z2) → L = ½(h2 − y)²
net = sbp.Network()
x = net.input("x", (2, 1))
y = net.input("y")
W1 = net.param("W1", (2, 2))
b1 = net.param("b1", (2, 1))
W2 = net.param("W2", (1, 2))
b2 = net.param("b2")
z1 = net.node("z1", W1 @ x + b1)
h1 = net.node("h1", sbp.relu(z1))
z2 = net.node("z2", W2 @ h1 + b2)
h2 = net.node("h2", sbp.relu(z2))
L = net.loss("L", sp.Rational(1, 2) * (h2 - y) ** 2)

# The page's numbers: x = [1, 2], y = 3.
values = {
    "x": [1, 2], "y": 3,
    "W1": [[0.5, 0.3], [0.2, 0.4]], "b1": [0.1, 0.2],
    "W2": [[0.6, 0.8]], "b2": 0.1,
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
    print(f"forward:  z1 = {ev.forward['z1'].ravel().round(6).tolist()}, z2 = {float(ev.forward['z2']):.6g}, "
          f"L = {float(ev.forward['L']):.6g}")
    for name in ("h2", "z2", "W2", "b2", "h1", "z1", "W1", "b1"):
        print(f"∂L/∂{name} = {ev.grad[name].round(6).tolist()}")

    for lang in ("en", "ko"):
        suffix = "" if lang == "en" else ".ko"
        d.write(out / f"reference{suffix}.tex", values=values, lang=lang)
        d.write(out / f"reference{suffix}.md", values=values, lang=lang)
    graph = out / ("reference.svg" if shutil.which("dot") else "reference.dot")
    write_graph(net, graph, values=values)

    sbp.check_gradients(d, values, strict=True)  # raises if any gradient disagrees with the oracles
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
