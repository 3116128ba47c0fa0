"""The reference network on a batch of four samples: the loss and its gradients are means.

    python examples/batch.py [--out DIR]

Inputs carry a leading batch axis (x has shape (N, 2), y shape (N,)); parameters do not.
The derivation starts from L = (1/N) Σᵢ Lᵢ, so every parameter gradient is the mean of the
per-sample gradients — the page's ∂L/∂W1 = (1/N) Σᵢ ∂Lᵢ/∂W1, checked here sample by sample.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import symbackprop as sbp

net = sbp.reference_network()
batch = True
samples = {"x": [[1, 2], [0.5, -1], [2, 0.5], [-1, 1]], "y": [3, 1, 2, 0]}
values = dict(sbp.reference_values(), **samples)


def output_folder() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the documents (default: out/)")
    folder = parser.parse_args().out
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main() -> None:
    out = output_folder()
    d = sbp.backprop(net, batch=True)
    ev = d.evaluate(values)
    print(f"N = {ev.batch_size}, mean loss L = {float(ev.forward['L']):.6f}")

    per_sample = [d.evaluate(dict(values, x=xi, y=yi)) for xi, yi in zip(samples["x"], samples["y"])]
    for name in d.parameters:
        mean = np.mean([sample.grad[name] for sample in per_sample], axis=0)
        assert np.allclose(ev.grad[name], mean, atol=1e-12)
        print(f"∂L/∂{name} = {np.round(ev.grad[name], 6).tolist()}  (the mean of the {ev.batch_size} samples')")

    d.write(out / "batch.tex", values=values)
    d.write(out / "batch.md", values=values)
    sbp.check_gradients(d, values, strict=True)
    print(f"gradients agree with finite differences and sympy.diff; documents in {out}/")


if __name__ == "__main__":
    main()
