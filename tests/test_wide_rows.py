"""Wide rows are broken where they read well, so that hardly any is scaled down to fit the line."""

from __future__ import annotations

import re

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.network import INPUT, PARAM
from symbackprop.printing.latex import _TERM_BREAKS, _top_level_parts, wrapped
from symbackprop.printing.widths import ROW_WIDTH, printed_width

MATRIX = r"\begin{bmatrix} 0.7148 & -0.9328 & 0.4593 & -0.6487 \\ 0.7264 & 0.08292 & -0.4006 & -0.1546 \end{bmatrix}"


def test_a_wide_difference_of_matrices_breaks_before_its_minus():
    rows = wrapped((rf"W &\leftarrow {MATRIX} - 0.01 \cdot {MATRIX}",))
    assert rows == (rf"W &\leftarrow {MATRIX}", rf"&\quad - 0.01 \cdot {MATRIX}")


def test_breaks_happen_only_at_the_top_level():
    inside = rf"x &= \left({MATRIX} + {MATRIX}\right) \odot \left({MATRIX} - {MATRIX}\right)"
    # each factor is still too wide: it is broken inside its parentheses, each row's delimiters balanced
    assert wrapped((inside,)) == (rf"x &= \left( {MATRIX} \right.", rf"&\quad \left. + {MATRIX} \right)",
                                  rf"&\quad \odot \left( {MATRIX} \right.", rf"&\quad \left. - {MATRIX} \right)")
    negative_first = rf"y &= -{MATRIX}"
    assert wrapped((negative_first,)) == (negative_first,)


def test_a_row_that_fits_is_left_alone():
    row = r"z_{1} &= W_{1} x + b_{1}"
    assert printed_width(row) <= ROW_WIDTH and wrapped((row,)) == (row,)


def _fitted_rows(latex: str) -> list[tuple[str, str]]:
    """The (left, right) arguments of every ``\\sbpfitrow`` in a document."""
    found, start = [], 0
    while (start := latex.find(r"\sbpfitrow{", start)) != -1:
        arguments, index = [], start + len(r"\sbpfitrow")
        for _ in range(2):
            depth, begin = 0, index
            while True:
                depth += {"{": 1, "}": -1}.get(latex[index], 0)
                index += 1
                if depth == 0:
                    break
            arguments.append(latex[begin + 1:index - 1])
        found.append(tuple(arguments))
        start = index
    return [f for f in found if f[1] != "#2"]


@pytest.mark.parametrize("network", [sbp.models.rnn(2, 3, 4), sbp.models.attention_head(4, T=3),
                                     sbp.mlp([8, 6, 4], activation="tanh", output_activation="identity",
                                             loss="cross_entropy"), sbp.reference_network()],
                         ids=["rnn", "attention", "classifier", "reference"])
def test_a_row_is_scaled_below_four_fifths_only_where_it_has_no_top_level_break(network):
    rng = np.random.default_rng(1)
    values = {q.name: rng.uniform(-1, 1, q.shape) if q.shape else float(rng.uniform(-1, 1))
              for q in network.quantities(INPUT, PARAM)}
    latex = sbp.backprop(network).to_latex(values, sections=("memory",))
    for left, right in _fitted_rows(latex):
        if (ROW_WIDTH - printed_width(left)) / printed_width(right) < 0.8:
            term = re.sub(r"^\\quad\s*(\+|-|\\odot)?\s*", "", right)  # a continuation row's own operator
            assert len(_top_level_parts(term, _TERM_BREAKS)) == 1, right[:120]


@pytest.mark.parametrize("network", [
    sbp.models.rnn(2, 3, 4), sbp.models.layer_norm(4, T=3), sbp.models.rms_norm(4, T=3), sbp.models.swiglu_mlp(4, 8),
    sbp.models.residual_block(4), sbp.mlp([6, 8, 8, 3], activation="sigmoid", loss="cross_entropy"),
    sbp.mlp([8, 6, 4], activation="tanh", output_activation="identity", loss="cross_entropy"),
], ids=["rnn", "layer_norm", "rms_norm", "swiglu", "residual", "sigmoid_classifier", "tanh_classifier"])
def test_no_row_of_the_whole_page_is_scaled_below_four_fifths(network):
    rng = np.random.default_rng(1)
    values = {q.name: rng.uniform(-1, 1, q.shape) if q.shape else float(rng.uniform(-1, 1))
              for q in network.quantities(INPUT, PARAM)}
    latex = sbp.backprop(network).to_latex(values, page="full")
    for left, right in _fitted_rows(latex):
        assert (ROW_WIDTH - printed_width(left)) / printed_width(right) >= 0.8, right[:160]


def _rows_of(text: str, lhs: str) -> list[str]:
    """Each equation of ``lhs`` with its continuation rows, wherever the document writes one."""
    lines, found = text.splitlines(), []
    for i, line in enumerate(lines):
        if line.startswith(lhs):
            rows = [line]
            for following in lines[i + 1:]:
                if not following.startswith("&"):
                    break
                rows.append(following)
            found.append("\n".join(rows))
    return found


def test_a_long_fan_out_shows_its_first_and_last_terms_around_an_ellipsis():
    network = sbp.models.rnn(2, 3, 20)
    rng = np.random.default_rng(2)
    values = {q.name: rng.uniform(-1, 1, q.shape) for q in network.quantities(INPUT, PARAM)}
    text = sbp.backprop(network).to_markdown(values, sections=())
    equations = _rows_of(text, r"\frac{\partial L}{\partial W} &=")
    assert len(equations) >= 3  # the backward pass, its worked numbers and the chain rule
    for equation in equations:
        assert r"\cdots" in equation
        assert "z_{10}" not in equation and equation.count(r"\begin{bmatrix}") <= 8
    assert r"\partial z_{20}}{\partial W}" in equations[0] and r"\partial z_{1}}{\partial W}" in equations[0]


def test_a_matrix_wider_than_the_line_shows_its_first_three_and_last_two_columns():
    network = sbp.mlp([8, 6, 4], activation="tanh", output_activation="identity", loss="cross_entropy")
    rng = np.random.default_rng(1)
    values = {q.name: rng.uniform(-1, 1, q.shape) for q in network.quantities(INPUT, PARAM)}
    latex = sbp.backprop(network).to_latex(values, sections=())
    eight_wide = [m for m in re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", latex) if r"\cdots" in m]
    assert eight_wide and all(row.count("&") == 5 for m in eight_wide for row in m.split(r"\\")), eight_wide[:1]
    for left, right in _fitted_rows(latex):
        assert (ROW_WIDTH - printed_width(left)) / printed_width(right) >= 0.8, right[:120]


def test_a_product_of_two_wide_matrices_continues_on_a_row_of_its_own():
    network = sbp.models.attention_head(4, T=3)
    rng = np.random.default_rng(1)
    values = {q.name: rng.uniform(-1, 1, q.shape) for q in network.quantities(INPUT, PARAM)}
    latex = sbp.backprop(network).to_latex(values, sections=())
    continued = [line for line in latex.splitlines() if line.startswith(r"&\quad \begin{bmatrix}")]
    assert continued
    for _left, right in _fitted_rows(latex):
        assert r"\end{bmatrix} \begin{bmatrix}" not in right, right[:120]


def test_a_group_inside_a_matrix_is_never_split():
    entry = rf"\left({MATRIX} - {MATRIX}\right) + {MATRIX}"
    row = rf"x &= \begin{{bmatrix}} {entry} \\ {entry} \end{{bmatrix}}"
    for line in wrapped((row,)):
        assert line.count(r"\begin{bmatrix}") == line.count(r"\end{bmatrix}"), line
        assert line.count(r"\left") == line.count(r"\right"), line
