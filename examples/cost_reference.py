"""What backpropagation costs on the reference network, measured: forward, backward and the naive way.

    python examples/cost_reference.py [--out DIR]

The page says one forward and one backward pass (about 2× the forward cost) give every
gradient, while deriving each ∂L/∂θ on its own costs about one pass per parameter. This
prints the operation counts that back the claim for the page's network and a few larger
perceptrons, and writes them as a Markdown table into DIR (default: out/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import symbackprop as sbp
from symbackprop.cost import count_operations


def output_folder() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the documents (default: out/)")
    folder = parser.parse_args().out
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main() -> None:
    out = output_folder()
    d = sbp.backprop(sbp.reference_network())
    report = d.cost()
    print("The reference network (x → W1, b1 → ReLU → W2, b2 → ReLU → ½(h2 − y)²)")
    print(report)

    rows = ["| network | parameters | forward | backward | backward / forward | (forward + backward) / forward "
            "| naive (sympy.diff per parameter) | naive / forward |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    print("\nLarger perceptrons (ReLU, ½‖h − y‖²):")
    for sizes in ([2, 2, 1], [2, 4, 4, 1], [4, 8, 8, 1], [8, 16, 16, 1], [16, 32, 32, 1], [4] * 32 + [1]):
        r = sbp.backprop(sbp.mlp(sizes)).cost()
        label = f"width 4, depth {len(sizes) - 1}" if len(sizes) > 8 else str(sizes)
        naive = "—" if r.naive.operations is None else ("≈ " if r.naive.estimated else "") + f"{r.naive.operations:,}"
        ratio = "—" if r.naive_ratio is None else ("≈ " if r.naive.estimated else "") + f"{r.naive_ratio:,.0f}×"
        print(f"  {label:<22} p = {r.parameters:>5,}  forward {r.forward:>6,}  backward {r.backward:>6,} "
              f"({r.backward_ratio:.2f}×)  naive {naive:>14} ({ratio})")
        rows.append(f"| {label} | {r.parameters:,} | {r.forward:,} | {r.backward:,} | {r.backward_ratio:.2f} "
                    f"| {r.backprop_ratio:.2f} | {naive} | {ratio} |")

    vector = count_operations(sbp.backprop(sbp.mlp([4, 8, 8, 1])))
    scalar = count_operations(sbp.backprop(sbp.mlp([4, 8, 8, 1], level="scalar")))
    assert (vector.forward, vector.backward) == (scalar.forward, scalar.backward)
    print(f"\nOne definition at both levels: [4, 8, 8, 1] counts forward {vector.forward:,} and backward "
          f"{vector.backward:,} as matrices and as one symbol per weight.")

    text = ["# What backpropagation costs", "", "The reference network:", "", "```", str(report), "```", "",
            "Larger perceptrons:", "", *rows, ""]
    (out / "cost_reference.md").write_text("\n".join(text), encoding="utf-8")
    print(f"table written to {out / 'cost_reference.md'}")


if __name__ == "__main__":
    main()
