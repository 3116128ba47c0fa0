"""A convolution's backward pass with numbers, in the im2col form.

    python examples/convolution.py [--out DIR]

One 4×4 image x (1, 4, 4), two 2×2 filters w (2, 1, 2, 2) and their biases b (2, 1), stride 1 and no
padding: out = sbp.conv2d(x, w, b) is 2×3×3, as F.conv2d(x, w, b) (a cross-correlation), and the loss is
½‖flat − y‖², with flat = out laid out a filter per row (2×9). The document writes the convolution as a
matrix product: X_col holds the 2×2 patch under each of the nine positions as a column (4×9), W_mat a
filter per row (2×4), and Y_mat = W_mat X_col + b (2×9, a filter per row). The backward pass is then
two matrix products, ∂L/∂W = ∂L/∂Y_mat · X_colᵀ (every position's patch weighted by its upstream
gradient) and ∂L/∂X = col2im(W_matᵀ ∂L/∂Y_mat), where col2im adds each column back into the patch it
came from, so an entry of x under several windows collects one term from each (the centre entries four,
the corners one); ∂L/∂b sums each row of ∂L/∂Y_mat over the positions. Writes the derivation (LaTeX and
Markdown, English and Korean) and the computational graph into DIR.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import symbackprop as sbp
from symbackprop.graph import write_graph

net = sbp.Network()
x = net.input("x", (1, 4, 4))                      # one channel, 4×4
y = net.input("y", (2, 9))                         # a target per filter and position
w = net.param("w", (2, 1, 2, 2))                   # two 2×2 filters
b = net.param("b", (2, 1))
out = net.node("out", sbp.conv2d(x, w, b))         # (2, 3, 3): stride 1, no padding
flat = net.node("flat", out.reshape(2, -1))        # (2, 9): Y_mat, a filter per row
net.loss("L", sbp.half_squared_error(flat, y))

values = {
    "x": [[[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 2], [1, 0, 1, 1]]],
    "y": [[1, 2, 1, 0, 1, 2, 1, 0, 1], [0, 1, 1, 1, 0, 1, 1, 1, 0]],
    "w": [[[[1, 0], [-1, 1]]], [[[0.5, 0.5], [0, -0.5]]]],
    "b": [0.5, -1],
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
    # The sliding window, by hand: each position's upstream gradient weights its patch (for ∂L/∂w)
    # and sends the filter back onto the patch (for ∂L/∂x).
    xs, ws = np.asarray(values["x"], float)[0], np.asarray(values["w"], float)[:, 0]
    g = np.asarray(ev.grad["out"], float).reshape(2, 3, 3)
    dw, dx = np.zeros((2, 2, 2)), np.zeros((4, 4))
    for f, i, j in np.ndindex(2, 3, 3):
        dw[f] += g[f, i, j] * xs[i:i + 2, j:j + 2]
        dx[i:i + 2, j:j + 2] += g[f, i, j] * ws[f]
    assert np.allclose(np.asarray(ev.grad["w"], float).reshape(2, 2, 2), dw, atol=1e-12)
    assert np.allclose(np.asarray(ev.grad["x"], float).reshape(4, 4), dx, atol=1e-12)
    print("∂L/∂w =", np.round(dw, 6).tolist())

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"convolution{suffix}.tex", values=values, lang=lang)
        d.write(out / f"convolution{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("convolution.svg" if shutil.which("dot") else "convolution.dot"), values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences; documents in {out}/")


if __name__ == "__main__":
    main()
