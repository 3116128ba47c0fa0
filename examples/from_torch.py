"""The page's PyTorch example, derived: nn.Sequential(Linear(2, 4), ReLU(), Linear(4, 1)).

    python examples/from_torch.py [--out DIR]

Builds the page's model (seeded, float64), runs its forward pass and loss.backward() on
x = [[1, 2]], y = [[3]], converts the same module with from_torch and prints the derived
gradients next to PyTorch's .grad. The derivation is written into DIR (default: out/).
Needs torch (pip install torch==2.13.0).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

import symbackprop as sbp
from symbackprop.torch_bridge import from_torch, torch_parameter_names


def output_folder() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the documents (default: out/)")
    folder = parser.parse_args().out
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main() -> None:
    out = output_folder()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    y = torch.tensor([[3.0]], dtype=torch.float64)
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()

    net, values = from_torch(model)  # the module's weights; x and y are ours to add
    d = sbp.backprop(net)
    evaluation = d.evaluate({**values, "x": x.numpy(), "y": y.numpy()})
    print(f"loss: PyTorch {loss.item():.12f}, symbackprop {float(evaluation.loss):.12f}")
    worst = 0.0
    for torch_name, ours in torch_parameter_names(model).items():
        theirs = dict(model.named_parameters())[torch_name].grad.numpy()
        derived = np.asarray(evaluation.grad[ours]).reshape(theirs.shape)
        worst = max(worst, float(np.max(np.abs(derived - theirs))))
        print(f"{torch_name:>8} = {ours}: .grad {np.round(theirs, 6).tolist()}")
        print(f"{'':>13} derived {np.round(derived, 6).tolist()}")
    print(f"largest difference: {worst:.1e}")
    assert worst < 1e-10

    for step in d.steps:
        if step.kind == "edge" and step.target in d.parameters:
            print(f"  ∂L/∂{step.target} = {step.result!r}")
    d.write(out / "from_torch.md", values={**values, "x": [1, 2], "y": 3})
    print(f"derivation written to {out / 'from_torch.md'}")


if __name__ == "__main__":
    main()
