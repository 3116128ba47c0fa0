"""What Jupyter shows for a step, an evaluation and the reports: their ``_repr_*_`` methods.

The content is checked against the derivation (a step's rows are the document's, its result
is the gradient worked by hand), against the documents (a report shows its section verbatim),
against GFM's table syntax, and against KaTeX.
"""

from __future__ import annotations

import importlib.util
import pickle
import runpy
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.analysis.cost import CostReport
from symbackprop.derivation import EDGE, SEED, Step
from symbackprop.explicit import to_explicit
from symbackprop.printing.names import Notation
from symbackprop.printing.numbers import WorkedValues
from symbackprop.printing.rich import cost_markdown, evaluation_markdown, flow_markdown, step_rows
from tests.rich_oracles import PAGE_VALUES, markdown_tables, reference_by_hand, significant
from tests.tooling import katex_errors, markdown_math, need, network_examples, require_katex

BATCH = {"x": [[1, 2], [0.5, -1], [2, 0.5], [-1, 1], [1, 1]], "y": [3, 1, 2, 0, 1]}


@pytest.fixture(scope="module")
def d():
    return sbp.backprop(sbp.reference_network())


@pytest.fixture(scope="module")
def notation(d):
    return Notation(d.network)


def _mime_types(value) -> set[str]:
    """The MIME types IPython's display machinery produces for ``value``, as a notebook receives them."""
    need(importlib.util.find_spec("IPython") is not None, "IPython is not installed (pip install -e \".[test]\")")
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(value)
    return set(data)


# -- a step ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reference", "scalar_fanout", "batch", "residual_block"])
def test_a_step_shows_the_documents_rows_for_it(name):
    example = runpy.run_path(str(next(p for p in network_examples() if p.stem == name)))
    d = sbp.backprop(example["net"], batch=example.get("batch", False))
    document = d.to_markdown(sections=())
    for step in d.steps:
        latex = step._repr_latex_()
        assert latex.startswith("$$\n") and latex.endswith("\n$$")
        rows = step_rows(d, step)
        shown = rows if len(rows) > 1 else [rows[0].replace("&=", "=")]  # one row is a plain equation
        assert all(row in latex for row in shown)
        # the document's Backward Pass prints the same rows (a run of one row, as a plain equation)
        assert all(row in document or row.replace("&=", "=") in document for row in rows), step


def test_a_step_names_its_target_and_the_chain_it_came_through(d, notation):
    for step in d.steps:
        if step.kind != EDGE or not step.complete:
            continue
        first = step._repr_latex_().splitlines()[2 if "aligned" in step._repr_latex_() else 1]
        assert first.startswith(notation.adjoint(step.target))
        if step.source != d.loss:
            assert f"{notation.adjoint(step.source)}" in first and notation.local(step.source, step.target) in first


@pytest.mark.parametrize("name", ["W1", "b1", "W2", "b2", "z1", "h1"])
def test_the_step_shown_for_a_name_evaluates_to_its_gradient_worked_by_hand(d, name):
    _, grad = reference_by_hand()
    step = d.step_for(name)
    assert rf"\frac{{\partial L}}{{\partial {Notation(d.network).name(name)}}} &=" in step._repr_latex_()
    worked = WorkedValues(d, PAGE_VALUES, digits=4, learning_rate=0.1)
    def sympy(lookup):
        return lambda name: sp.ImmutableMatrix(lookup(name)) if np.ndim(lookup(name)) == 2 else lookup(name)

    value = to_explicit(step.result, sympy(worked.forward), sympy(worked.gradient))  # the formula at the page's values
    assert np.allclose(np.array(value, dtype=float).reshape(np.shape(grad[name])), grad[name])


def test_a_step_outside_a_derivation_shows_as_text():
    step = Step(index=0, kind=SEED, target="L", source=None, result=1, rules=())
    assert step._repr_latex_() is None
    assert _mime_types(step) == {"text/plain"}


def test_replacing_a_step_keeps_it_equal_and_displayable_only_through_its_derivation(d):
    step = d.step_for("W2")
    assert replace(step) == step and replace(step)._repr_latex_() is None


def test_a_step_pickles_without_its_derivation(d):
    step = d.step_for("W2")
    assert pickle.loads(pickle.dumps(step)) == step


# -- an evaluation ---------------------------------------------------------------------------------


def test_the_evaluation_table_lists_every_quantity_with_the_numbers_worked_by_hand(d, notation):
    forward, grad = reference_by_hand()
    ev = d.evaluate(PAGE_VALUES)
    assert _mime_types(ev) == {"text/plain", "text/markdown"}
    markdown = ev._repr_markdown_()
    assert f"$L = {significant(forward['L'])}$" in markdown
    (table,) = markdown_tables(markdown)
    assert [row[0] for row in table[1:]] == [f"${notation.name(q.name)}$" for q in d.network.quantities()]
    kinds = {"input": "input", "param": "parameter", "node": "node", "loss": "loss"}
    assert [row[1] for row in table[1:]] == [kinds[q.kind] for q in d.network.quantities()]
    for row, quantity in zip(table[1:], d.network.quantities()):
        name = quantity.name
        shape = r"\mathbb{R}" if quantity.shape is None else rf"\mathbb{{R}}^{{{quantity.shape[0]} \times " \
                                                             rf"{quantity.shape[1]}}}"
        assert row[2] == f"${shape}$"
        for cell, value in ((row[3], forward[name]), (row[4], grad[name])):
            assert all(significant(v) in cell for v in np.ravel(value)), (name, cell)


def test_an_exact_evaluation_shows_exact_fractions():
    d = sbp.backprop(sbp.reference_network())
    x = [Fraction(v) for v in PAGE_VALUES["x"]]
    W1 = [[Fraction(str(v)) for v in row] for row in PAGE_VALUES["W1"]]
    b1 = [Fraction(str(v)) for v in PAGE_VALUES["b1"]]
    h1 = [max(W1[i][0] * x[0] + W1[i][1] * x[1] + b1[i], 0) for i in range(2)]
    h2 = max(sum(Fraction(str(w)) * h for w, h in zip(PAGE_VALUES["W2"][0], h1)) + Fraction(str(PAGE_VALUES["b2"])), 0)
    loss = (h2 - PAGE_VALUES["y"]) ** 2 / 2
    markdown = d.evaluate(sbp.reference_values(exact=True), exact=True)._repr_markdown_()
    assert rf"$L = \frac{{{loss.numerator}}}{{{loss.denominator}}}$" in markdown
    assert "exact fraction" in markdown and "rounded" not in markdown


def test_a_batch_lists_the_first_samples_and_the_mean_parameter_gradients():
    d = sbp.backprop(sbp.reference_network(), batch=True)
    values = dict(PAGE_VALUES, **BATCH)
    markdown = d.evaluate(values)._repr_markdown_()
    (table,) = markdown_tables(markdown)
    rows = {row[0]: row for row in table[1:]}
    x_cell = rows["$x$"][3]
    assert x_cell.count(r"\begin{bmatrix}") == 4 and r"\ldots" in x_cell
    per_sample = [reference_by_hand(dict(PAGE_VALUES, x=x, y=y))[1] for x, y in zip(BATCH["x"], BATCH["y"])]
    for name in ("W1", "W2", "b2"):
        mean = np.mean([g[name] for g in per_sample], axis=0)
        assert all(significant(v) in rows[f"${Notation(d.network).name(name)}$"][4] for v in np.ravel(mean))
    assert "batch of 5 samples" in markdown


def test_the_evaluation_rounds_to_places_and_speaks_korean(d):
    markdown = evaluation_markdown(d.evaluate(PAGE_VALUES), decimals=2, lang="ko")
    assert "$L = 0.74$" in markdown and "소수점 아래 최대 2자리" in markdown
    (table,) = markdown_tables(markdown)
    assert table[0][0] == "이름" and "파라미터" in {row[1] for row in table[1:]}


# -- the reports --------------------------------------------------------------------------------


def test_each_report_shows_its_document_section_verbatim(d):
    assert _mime_types(d.cost()) == {"text/plain", "text/markdown"}
    assert d.cost()._repr_markdown_() in d.to_markdown(sections=("efficiency",))
    flow = d.gradient_flow(PAGE_VALUES)._repr_markdown_()
    assert flow.startswith("## ") and flow in d.to_markdown(PAGE_VALUES, sections=("flow",))
    for batch in (1, 32):
        memory = d.memory(batch)._repr_markdown_()
        assert memory in d.to_markdown(sections=("memory",), batch_size=batch)
    assert "$192$" in d.memory(32)._repr_markdown_() and "$192$" not in d.memory(1)._repr_markdown_()


def test_the_reports_tables_are_well_formed(d):
    for markdown in (d.cost()._repr_markdown_(), d.gradient_flow(PAGE_VALUES)._repr_markdown_()):
        (table,) = markdown_tables(markdown)
        assert len(table) > 2


def test_the_reports_speak_korean(d):
    assert cost_markdown(d.cost(), lang="ko").startswith("## 역전파의 효율성")
    assert flow_markdown(d.gradient_flow(PAGE_VALUES), lang="ko").startswith("## Gradient 소실/폭발")


def test_a_report_without_its_derivation_shows_as_text(d):
    report = d.cost()
    bare = CostReport(report.counts, report.naive, report.parameters)
    assert bare == report and bare._repr_markdown_() is None
    assert _mime_types(bare) == {"text/plain"}


# -- KaTeX -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_display_of_every_example_is_valid_katex():
    require_katex()
    formulas = []
    for path in network_examples():
        example = runpy.run_path(str(path))
        d = sbp.backprop(example["net"], batch=example.get("batch", False))
        texts = [step._repr_latex_() for step in d.steps]
        texts += [d.cost(naive=False)._repr_markdown_(), d.memory(4)._repr_markdown_()]
        values = example.get("values")
        if values is not None:
            texts += [d.evaluate(values)._repr_markdown_(), d.gradient_flow(values)._repr_markdown_()]
        for text in texts:
            markdown_tables(text)
            formulas += markdown_math(text)
    assert len(formulas) > 500
    assert katex_errors(formulas) == []
