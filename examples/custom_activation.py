"""Your own activation: write it as a Python function of one SymPy variable.

    python examples/custom_activation.py [--out DIR]

symbackprop differentiates it with SymPy when it is defined (so a function SymPy cannot
differentiate is refused right there), prints it under its own name, and compiles it and
its derivative to NumPy. Here: swish(t) = t·σ(t) in the hidden layer and a cube, given as
a SymPy Lambda, before the loss.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sympy as sp

import symbackprop as sbp


def swish(t):
    """t·σ(t), also known as SiLU (torch.nn.SiLU)."""
    return t * sbp.sigmoid(t)


Swish = sbp.elementwise(swish)
t = sp.Symbol("t", real=True)
Cube = sbp.elementwise(sp.Lambda(t, t**3 / 3), name="cube")

net = sbp.Network()
x = net.input("x", (2, 1))
y = net.input("y")
W1 = net.param("W1", (2, 2))
b1 = net.param("b1", (2, 1))
W2 = net.param("W2", (1, 2))
b2 = net.param("b2")
z1 = net.node("z1", W1 @ x + b1)
h1 = net.node("h1", Swish(z1))
z2 = net.node("z2", W2 @ h1 + b2)
h2 = net.node("h2", Cube(z2))
L = net.loss("L", sbp.half_squared_error(h2, y))

values = dict(sbp.reference_values(), y=0.5)


def output_folder() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the documents (default: out/)")
    folder = parser.parse_args().out
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main() -> None:
    out = output_folder()
    print("swish′(t) =", Swish.derivative.at(t))
    print("cube′(t)  =", Cube.derivative.at(t))
    d = sbp.backprop(net)
    ev = d.evaluate(values)
    print(f"L = {float(ev.forward['L']):.6f}, ∂L/∂W1 = {ev.grad['W1'].round(6).tolist()}")

    d.write(out / "custom_activation.tex", values=values)
    d.write(out / "custom_activation.md", values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
