"""Vanishing and exploding gradients in ten real layers: the page's 0.5¹⁰ ≈ 0.001 and 2¹⁰ = 1024.

    python examples/deep_chain.py [--out DIR]

Each chain has ten layers whose local factor ∂h_k/∂h_(k−1) = w · f′(z_k) is the same number,
so the gradient reaching the input is that number to the tenth power:

* sigmoid, weight 2: σ′(0) = ¼, so every layer halves the gradient — 0.5¹⁰ ≈ 0.001 (vanishing),
  even though the weights are larger than 1;
* ReLU, weight 0.5 (small weights): 0.5¹⁰ again;
* ReLU, weight 2 (large weights): 2¹⁰ = 1024 (exploding).

Then random width-16 networks show the same with initial weights drawn small or large. The
per-layer norms go into DIR (default: out/) as text, and as a PNG when matplotlib is installed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import symbackprop as sbp
from symbackprop.flow import deep_chain, plot_gradient_flow


def output_folder() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the documents (default: out/)")
    folder = parser.parse_args().out
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def random_network(activation: str, scale: float, depth: int = 10, width: int = 16, seed: int = 0):
    """A width-16 perceptron with W ~ N(0, scale²/width) and zero biases, at one random input."""
    rng = np.random.default_rng(seed)
    d = sbp.backprop(sbp.mlp([width] * (depth + 1), activation, activation))
    values = {"x": rng.normal(size=width), "y": rng.normal(size=width)}
    for k in range(1, depth + 1):
        values[f"W{k}"] = rng.normal(scale=scale / np.sqrt(width), size=(width, width))
        values[f"b{k}"] = np.zeros(width)
    return d, values


def main() -> None:
    out = output_folder()
    try:
        import matplotlib  # noqa: F401
        plotting = True
    except ImportError:
        plotting = False
    lines = []

    def say(text: str = "") -> None:
        print(text)
        lines.append(text)

    for activation, weight in (("sigmoid", 2.0), ("relu", 0.5), ("relu", 2.0)):
        chain = deep_chain(10, activation, weight)
        flow = chain.flow()
        say(f"{activation}, weight {weight:g}: factor per layer w·f′(z) = {chain.factor:g}; "
            f"‖∂L/∂x‖ / ‖∂L/∂h10‖ = {flow.end_to_end:.6g} = {chain.factor:g}¹⁰")
        say(f"  vanishing: {', '.join(flow.vanishing_names) or 'none'}; "
            f"exploding: {', '.join(flow.exploding_names) or 'none'}")
        say("  " + flow["h1"].chain)
        say(flow.summary())
        if activation == "relu":
            say("  (∂L/∂Wk = ∂L/∂zk · h(k−1)ᵀ: with ReLU the activations h shrink or grow by the same factor "
                "going up, so the weight gradients stay level while ∂L/∂h vanishes or explodes)")
        say()
        if plotting:
            plot_gradient_flow(flow, out / f"deep_chain_{activation}_{weight:g}.png",
                               title=f"{activation}, weight {weight:g}: ×{chain.factor:g} per layer")

    for activation, scale in (("sigmoid", 1.0), ("tanh", 0.5), ("relu", 3.0)):
        d, values = random_network(activation, scale)
        flow = d.gradient_flow(values)
        say(f"random width-16, depth-10 {activation} network, W ~ N(0, {scale:g}²/16): "
            f"‖∂L/∂x‖ / ‖∂L/∂h10‖ = {flow.end_to_end:.3g}; "
            f"‖∂L/∂W1‖ / ‖∂L/∂W10‖ = {flow['W1'].relative:.3g}")
        if plotting:
            plot_gradient_flow(flow, out / f"random_{activation}.png",
                               title=f"random {activation} network, weights × {scale:g}")

    (out / "deep_chain.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    where = "text and PNG plots" if plotting else "text (install matplotlib for plots)"
    print(f"{where} written to {out}/")


if __name__ == "__main__":
    main()
