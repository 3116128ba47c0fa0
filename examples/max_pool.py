"""Max-pooling's backward pass: each window's gradient is routed to its maximum.

    python examples/max_pool.py [--out DIR]

One 4×4 image x (1, 4, 4) pooled by 2×2 windows with stride 2, sbp.max_pool2d(x, 2),
as F.max_pool2d(x, 2): the four windows do not overlap and each keeps its largest entry, so pooled is
2×2; flat = pooled laid out as a 2×2 matrix, out = flat v with a weight v (2, 1), and the loss
is ½‖out − y‖². Max is a selection, not a sum: its local derivative is 1 at the entry that was kept and 0 at the
other three, so the backward pass copies each window's upstream gradient onto the position of its
maximum and leaves zeros everywhere else in ∂L/∂x. The top-left window holds a tie (3 at [0, 0] and at
[1, 1]); as in PyTorch, the first maximal entry in row-major order, [0, 0], gets the whole gradient and
the other 3 gets none. Writes the derivation (LaTeX and Markdown, English and Korean) and the
computational graph into DIR.
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
y = net.input("y", (2, 1))
v = net.param("v", (2, 1))                         # a weight after the pool, so there is a parameter to train
pooled = net.node("pooled", sbp.max_pool2d(x, 2))  # (1, 2, 2): four 2×2 windows, stride 2
flat = net.node("flat", pooled.reshape(2, 2))
out = net.node("out", flat @ v)
net.loss("L", sbp.half_squared_error(out, y))

values = {
    # floats, so that the worked example is evaluated in floats (exact evaluation is for matrices);
    # the top-left window ties, 3 at [0, 0] and at [1, 1]
    "x": [[[3.0, 1.0, 0.0, 2.0], [0.0, 3.0, 4.0, 1.0], [1.0, 5.0, 2.0, 0.0], [2.0, 0.0, 1.0, 3.0]]],
    "y": [2.0, 3.0],
    "v": [1.0, -0.5],
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
    # The routing, by hand: each window's gradient goes to its first maximum in row-major order.
    xs = np.asarray(values["x"], float)[0]
    g = np.asarray(ev.grad["pooled"], float).reshape(2, 2)
    by_hand = np.zeros((4, 4))
    for i, j in np.ndindex(2, 2):
        window = xs[2 * i:2 * i + 2, 2 * j:2 * j + 2]
        r, c = np.unravel_index(np.argmax(window), window.shape)   # argmax: the first maximum
        by_hand[2 * i + r, 2 * j + c] = g[i, j]
    assert np.allclose(np.asarray(ev.grad["x"], float).reshape(4, 4), by_hand, atol=1e-12)
    print("∂L/∂x =", np.round(by_hand, 6).tolist(), " (the tie at [0, 0] and [1, 1]: [0, 0] gets it)")

    for lang, suffix in (("en", ""), ("ko", ".ko")):
        d.write(out / f"max_pool{suffix}.tex", values=values, lang=lang)
        d.write(out / f"max_pool{suffix}.md", values=values, lang=lang)
    write_graph(net, out / ("max_pool.svg" if shutil.which("dot") else "max_pool.dot"), values=values)
    # No check_gradients here: at the tie max is not differentiable, and finite differences would
    # split the top-left window's gradient between its two 3s where PyTorch (and the document) gives it to one.
    print(f"documents in {out}/")


if __name__ == "__main__":
    main()
