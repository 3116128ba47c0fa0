"""Three classes: a ReLU hidden layer, logits, softmax cross-entropy with a one-hot target.

    python examples/softmax_3class.py [--out DIR]

As for nn.CrossEntropyLoss, the network outputs logits z2 and the loss applies the
softmax itself (through log-sum-exp, so large logits do not overflow). The gradient with
respect to the logits is softmax(z2) − y.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import symbackprop as sbp

net = sbp.Network()
x = net.input("x", (2, 1))
y = net.input("y", (3, 1))              # one-hot: the true class is the second
W1 = net.param("W1", (3, 2))
b1 = net.param("b1", (3, 1))
W2 = net.param("W2", (3, 3))
b2 = net.param("b2", (3, 1))
z1 = net.node("z1", W1 @ x + b1)
h1 = net.node("h1", sbp.relu(z1))
z2 = net.node("z2", W2 @ h1 + b2)       # the logits
L = net.loss("L", sbp.cross_entropy(z2, y))

values = {
    "x": [1.0, -0.5], "y": [0, 1, 0],
    "W1": [[0.2, -0.4], [0.6, 0.1], [-0.3, 0.8]], "b1": [0.1, 0.0, -0.1],
    "W2": [[0.3, -0.2, 0.5], [-0.6, 0.4, 0.2], [0.1, 0.1, -0.4]], "b2": [0.0, 0.1, -0.1],
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
    logits = ev.forward["z2"].ravel()
    softmax = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    print("softmax(z2)     =", np.round(softmax, 6).tolist())
    print("∂L/∂z2          =", np.round(ev.grad["z2"].ravel(), 6).tolist())
    assert np.allclose(ev.grad["z2"].ravel(), softmax - np.ravel(values["y"]), atol=1e-12)
    print("softmax(z2) − y = ∂L/∂z2, as the derivation says")

    d.write(out / "softmax_3class.tex", values=values)
    d.write(out / "softmax_3class.md", values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
