"""The page's update step, gradient clipping, and a small training loop on lambdified gradients.

    python examples/training_loop.py [--out DIR]

First the page's numbers: one step θ ← θ − 0.01 · ∂L/∂θ on the reference example, and the
same step as LaTeX. Then clipping by global norm, as torch.nn.utils.clip_grad_norm_(…, 1.0)
does it. Then a 2-8-1 tanh network learns y = 2x₁ − x₂ + ½x₁x₂ from 64 samples; the loss
history goes into DIR (default: out/), with a PNG when matplotlib is installed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import symbackprop as sbp
from symbackprop.training import clip_grad_norm, sgd_step, sgd_update_latex, train


def output_folder() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the documents (default: out/)")
    folder = parser.parse_args().out
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main() -> None:
    out = output_folder()
    d = sbp.backprop(sbp.reference_network())
    values = sbp.reference_values()
    rate = float(sbp.REFERENCE_LEARNING_RATE)
    new = sgd_step(d, values, rate)
    print(f"The page's step with learning rate {rate}:")
    for name, value in new.items():
        print(f"  {name}: {np.round(np.asarray(values[name], dtype=float), 6).tolist()} → "
              f"{np.round(value, 6).tolist()}")
    before = float(d.evaluate(values).loss)
    after = float(d.evaluate({**values, **new}).loss)
    print(f"  loss {before:.6f} → {after:.6f}")
    latex = sgd_update_latex(d, sbp.REFERENCE_LEARNING_RATE)
    print(latex)

    grads = d.lambdify()(**values)
    clipped = clip_grad_norm(grads, max_norm=1.0)
    print(f"\nclip_grad_norm(max_norm=1.0): total norm {clipped.total_norm:.6f}, "
          f"every gradient × {clipped.coefficient:.6f}")
    print(f"  ∂L/∂W1 {np.round(grads['W1'], 4).tolist()} → {np.round(clipped.grads['W1'], 4).tolist()}")

    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, size=(64, 2))
    data = {"x": x, "y": (2 * x[:, 0] - x[:, 1] + 0.5 * x[:, 0] * x[:, 1])[:, None]}
    net = sbp.backprop(sbp.mlp([2, 8, 1], "tanh", "identity", "mse"))
    history = train(net, data, learning_rate=0.1, epochs=40, batch_size=16)
    clipped_history = train(net, data, learning_rate=0.1, epochs=40, batch_size=16, max_norm=0.5)
    print(f"\nA 2-8-1 tanh network, 64 samples, batches of 16, learning rate 0.1, {history.steps} steps:")
    for epoch in (0, 1, 5, 10, 20, 40):
        print(f"  epoch {epoch:>2}: mean squared error {history.losses[epoch]:.5f}"
              f"   (clipped at 0.5: {clipped_history.losses[epoch]:.5f})")
    assert history.losses[-1] < 0.05 * history.losses[0]

    lines = ["epoch,loss,loss_clipped"]
    lines += [f"{e},{a:.8f},{b:.8f}" for e, (a, b) in enumerate(zip(history.losses, clipped_history.losses))]
    (out / "training_loss.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "update_step.tex").write_text(latex + "\n", encoding="utf-8")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print(f"loss history and the LaTeX step written to {out}/ (install matplotlib for a plot)")
        return
    figure = Figure(figsize=(6.4, 4.0))
    axes = figure.subplots()
    axes.semilogy(history.losses, label="plain")
    axes.semilogy(clipped_history.losses, "--", label="clipped at 0.5")
    axes.set_xlabel("epoch")
    axes.set_ylabel("mean squared error")
    axes.legend()
    figure.tight_layout()
    figure.savefig(out / "training_loss.png")
    print(f"loss history, its plot and the LaTeX step written to {out}/")


if __name__ == "__main__":
    main()
