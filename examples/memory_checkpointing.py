"""What the backward pass must keep from the forward pass, and what gradient checkpointing saves.

    python examples/memory_checkpointing.py [--out DIR]

For the reference network it lists, step by step, the forward values each backward step reads.
For a 13-layer perceptron it shows that the stored numbers grow as layers × batch × hidden
(the page's formula), then checkpoints every k-th layer's output, recomputes the rest during
the backward pass, and checks on numbers that the gradients are unchanged and the memory held
is what the plan says. A summary goes into DIR (default: out/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import symbackprop as sbp
from symbackprop.memory import checkpointed_evaluation


def output_folder() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the documents (default: out/)")
    folder = parser.parse_args().out
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main() -> None:
    out = output_folder()
    lines = []

    def say(text: str = "") -> None:
        print(text)
        lines.append(text)

    d = sbp.backprop(sbp.reference_network())
    report = d.memory(batch=1)
    say("The reference network: what each backward step reads")
    for step in report.steps:
        reads = ", ".join(step.nodes + step.inputs + step.params) or "nothing (the gradient passes as it is)"
        say(f"  ∂L/∂{step.target:<3} (from {step.source}): {reads}")
    say(str(report))
    say()

    say("Stored numbers ∝ layers × batch × hidden (tanh perceptrons, 3 inputs, 1 output):")
    for layers, hidden, batch in ((4, 8, 16), (8, 8, 16), (4, 16, 16), (4, 8, 32)):
        m = sbp.backprop(sbp.mlp([3] + [hidden] * layers + [1], "tanh", "identity")).memory(batch=batch)
        say(f"  {layers} layers × hidden {hidden:>2} × batch {batch}: {m.activation_numbers:>6,} numbers")
    say()

    sizes = [3] + [16] * 12 + [1]
    deep = sbp.backprop(sbp.mlp(sizes, "tanh", "identity"))
    rng = np.random.default_rng(0)
    batch = 64
    values = {"x": rng.normal(size=(batch, 3)), "y": rng.normal(size=batch)}
    for k, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        values[f"W{k}"] = rng.normal(scale=1 / np.sqrt(m), size=(n, m))
        values[f"b{k}"] = np.zeros(n)
    plain = deep.evaluate(values)
    say(f"A 13-layer perceptron (12 hidden layers of 16), batch {batch}:")
    say(f"  {'plan':<26} {'stored':>8} {'peak':>8} {'recomputed operations':>22}  gradients equal to plain")
    for every in (None, 1, 2, 3, 4, 6):
        run = checkpointed_evaluation(deep, values, checkpoint_every=every)
        plan = run.plan
        same = all(np.allclose(run.grad[p], plain.grad[p], rtol=1e-12, atol=1e-15) for p in deep.parameters)
        assert same and run.peak_numbers == plan.peak_numbers
        name = "store all it reads" if every is None else f"checkpoint every {every}"
        say(f"  {name:<26} {plan.stored_numbers:>8,} {plan.peak_numbers:>8,} "
            f"{plan.recompute_operations:>12,} ({plan.recompute_ratio:.2f} forward)  {'yes' if same else 'NO'}")
    say()
    say(str(deep.memory(batch=batch)))

    (out / "memory_checkpointing.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"summary written to {out / 'memory_checkpointing.txt'}")


if __name__ == "__main__":
    main()
