"""A scalar expression graph in which one node feeds two others (fan-out).

    python examples/scalar_fanout.py [--out DIR]

a = w·x + b is used by both f = sin(a) and g = a²; backpropagation adds the two gradients
that reach a — ∂L/∂a = ∂L/∂f · cos(a) + ∂L/∂g · 2a — in one recorded "sum" step, and only
then passes ∂L/∂a on to w and b. Any differentiable SymPy expression can be a node.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import sympy as sp

import symbackprop as sbp
from symbackprop.graph import write_graph

net = sbp.Network()
x = net.input("x")
y = net.input("y")
w = net.param("w")
b = net.param("b")
a = net.node("a", w * x + b)
f = net.node("f", sp.sin(a))
g = net.node("g", a**2)
u = net.node("u", f * g + sp.exp(-g))
L = net.loss("L", sp.Rational(1, 2) * (u - y) ** 2)

values = {"x": 1.5, "y": 0.25, "w": 0.8, "b": -0.3}


def output_folder() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the documents (default: out/)")
    folder = parser.parse_args().out
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main() -> None:
    out = output_folder()
    d = sbp.backprop(net)
    for step in d.steps:
        arrow = f"  (from {step.source})" if step.source else ""
        print(f"{step.kind:>4}  ∂L/∂{step.target} = {step.result}{arrow}")
    fan_out = [step for step in d.steps if step.kind == "sum"]
    # a feeds two nodes: one sum. g appears twice in u's own definition: one edge, already summed.
    assert [step.target for step in fan_out] == ["a"]

    ev = d.evaluate(values)
    print(f"∂L/∂w = {float(ev.grad['w']):.6f}, ∂L/∂b = {float(ev.grad['b']):.6f}")
    d.write(out / "scalar_fanout.tex", values=values)
    d.write(out / "scalar_fanout.md", values=values)
    write_graph(net, out / ("scalar_fanout.svg" if shutil.which("dot") else "scalar_fanout.dot"), values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
