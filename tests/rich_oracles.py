"""Oracles for what a notebook displays: the reference network worked by hand, and GFM tables.

The hand computation uses NumPy on the page's formulas only (no derivation, no rule of the
engine); the table reader follows GitHub-flavoured Markdown's table syntax, which JupyterLab,
VS Code and nbconvert all render.
"""

from __future__ import annotations

import re

import numpy as np

#: The page's values, written out again rather than read from the library.
PAGE_VALUES = {
    "x": [1, 2], "y": 3,
    "W1": [[0.5, 0.3], [0.2, 0.4]], "b1": [0.1, 0.2],
    "W2": [[0.6, 0.8]], "b2": 0.1,
}


def reference_by_hand(values: dict = PAGE_VALUES) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Forward values and gradients of x → W1,b1 → ReLU → W2,b2 → ReLU → ½(h2 − y)², by hand."""
    x = np.array(values["x"], dtype=float).reshape(2, 1)
    y = float(values["y"])
    W1, b1 = np.array(values["W1"], dtype=float), np.array(values["b1"], dtype=float).reshape(2, 1)
    W2, b2 = np.array(values["W2"], dtype=float), float(values["b2"])
    z1 = W1 @ x + b1
    h1 = np.maximum(z1, 0)
    z2 = float((W2 @ h1)[0, 0] + b2)
    h2 = max(z2, 0.0)
    loss = 0.5 * (h2 - y) ** 2
    dh2 = h2 - y
    dz2 = dh2 * (z2 > 0)
    dh1 = W2.T * dz2
    dz1 = dh1 * (z1 > 0)
    forward = {"x": x, "y": y, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "z1": z1, "h1": h1, "z2": z2, "h2": h2,
               "L": loss}
    grad = {"h2": dh2, "z2": dz2, "W2": dz2 * h1.T, "b2": dz2, "h1": dh1, "z1": dz1, "W1": dz1 @ x.T, "b1": dz1,
            "x": W1.T @ dz1, "y": -dh2, "L": 1.0}
    return forward, grad


def significant(value: float, digits: int = 4) -> str:
    """A number as the documents print decimals: ``digits`` significant digits."""
    return f"{value:.{digits}g}"


def places(value: float, decimals: int = 2) -> str:
    """A number rounded to at most ``decimals`` places, trailing zeros dropped (1.2, 1.78, -1.22)."""
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


_RULE_CELL = re.compile(r"^:?-{3,}:?$")


def _cells(line: str) -> list[str]:
    line = line.strip()
    assert line.startswith("|") and line.endswith("|"), f"not a table row: {line!r}"
    return [cell.strip() for cell in line[1:-1].split("|")]


def markdown_tables(markdown: str) -> list[list[list[str]]]:
    """Every GFM table of a Markdown text as rows of cells (header first, the rule row left out).

    A header row, then a rule row with one ``---``, ``:---``, ``---:`` or ``:---:`` per column,
    then body rows with exactly as many cells; anything else fails the assertion.
    """
    lines = markdown.splitlines()
    tables = []
    index = 0
    while index < len(lines) - 1:
        following = lines[index + 1].strip()
        if lines[index].lstrip().startswith("|") and following.startswith("|") and set(following) <= set("|:- "):
            header, rule = _cells(lines[index]), _cells(lines[index + 1])
            assert all(_RULE_CELL.match(cell) for cell in rule), rule
            assert len(rule) == len(header), (header, rule)
            rows = [header]
            index += 2
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                row = _cells(lines[index])
                assert len(row) == len(header), f"row of {len(row)} cells under {len(header)} columns: {row}"
                rows.append(row)
                index += 1
            tables.append(rows)
        else:
            index += 1
    return tables
