"""A binary classifier: tanh hidden layer, sigmoid output, binary cross-entropy.

    python examples/sigmoid_classifier.py [--out DIR]

The loss's gradient with respect to the output logit collapses to p − y: the σ′ of the
sigmoid cancels against the 1/(p(1 − p)) of the cross-entropy. The derivation shows both
factors; the numbers confirm the cancellation. The loss is nn.BCELoss's (logs clamped at
−100, so p = 0 or 1 stays finite).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import symbackprop as sbp

net = sbp.Network()
x = net.input("x", (2, 1))
y = net.input("y")                      # the label, 0 or 1
W1 = net.param("W1", (3, 2))
b1 = net.param("b1", (3, 1))
W2 = net.param("W2", (1, 3))
b2 = net.param("b2")
z1 = net.node("z1", W1 @ x + b1)
h1 = net.node("h1", sbp.tanh(z1))
z2 = net.node("z2", W2 @ h1 + b2)       # the logit
p = net.node("p", sbp.sigmoid(z2))      # the probability of class 1
L = net.loss("L", sbp.binary_cross_entropy(p, y))

values = {
    "x": [0.5, -1.0], "y": 1,
    "W1": [[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]], "b1": [0.0, 0.1, -0.1],
    "W2": [[0.7, -0.8, 0.9]], "b2": 0.05,
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
    print("∂L/∂z2 =", d.gradient("z2"))
    ev = d.evaluate(values)
    probability, gradient = float(ev.forward["p"]), float(ev.grad["z2"])
    label = values["y"]
    print(f"p = {probability:.6f}, y = {label}, ∂L/∂z2 = {gradient:.6f} (p − y = {probability - label:.6f})")
    assert abs(gradient - (probability - label)) < 1e-12

    d.write(out / "sigmoid_classifier.tex", values=values)
    d.write(out / "sigmoid_classifier.md", values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
