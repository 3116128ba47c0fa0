"""check_gradients at scale: each oracle's sample is bounded by work, deterministic, and reported as such."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop import check_plan, checking
from symbackprop.printing.check_text import check_markdown

SIZES = [8, 32, 32, 4]  # 1,476 parameters


@pytest.fixture(scope="module")
def wide():
    net = sbp.mlp(SIZES, activation="tanh", output_activation="identity", loss="cross_entropy")
    rng = np.random.default_rng(0)
    values = {q.name: rng.normal(size=q.shape) / 2 for q in net.quantities("input", "param")}
    values["y"] = np.eye(4)[:, 1:2]
    return sbp.backprop(net), values


def test_the_sympy_oracle_spends_no_more_than_its_work_bound(wide, monkeypatch):
    d, values = wide
    charged = []
    plan = check_plan.sympy_plan

    def recording(*args, **kwargs):
        positions, complete = plan(*args, **kwargs)
        charged.append((positions, complete))
        return positions, complete

    monkeypatch.setattr(checking, "sympy_plan", recording)
    report = sbp.check_gradients(d, values)
    (positions, complete), = charged
    assert report.passed and not complete and report.sympy_sampled
    assert 0 < report.sympy_checked == sum(len(p) for p in positions.values()) < 1476
    rows = {r.name: r for r in report.rows}
    assert rows["W3"].sympy_elements and rows["b3"].sympy_elements  # the cheap ones, nearest the loss
    assert not rows["W1"].sympy_elements  # its every element reaches the whole network: over the bound
    assert report.finite_checked == report.elements == 1476
    again = sbp.check_gradients(d, values)
    assert [r.sympy_elements for r in again.rows] == [r.sympy_elements for r in report.rows]


@pytest.mark.slow
def test_a_larger_bound_derives_more(wide, monkeypatch):
    d, values = wide
    before = sbp.check_gradients(d, values).sympy_checked
    monkeypatch.setattr(checking, "sympy_plan",
                        functools.partial(check_plan.sympy_plan, work=3 * check_plan.SYMPY_ORACLE_WORK))
    assert sbp.check_gradients(d, values).sympy_checked > before


def test_finite_differences_sample_a_network_past_their_bound(wide, monkeypatch):
    d, values = wide
    monkeypatch.setattr(check_plan, "FINITE_DIFFERENCE_ELEMENTS", 100)
    report = sbp.check_gradients(d, values, use_sympy=False)
    assert report.passed and report.finite_checked <= 100 and report.sympy_skipped
    for row in report.rows:
        assert 1 <= row.finite_checked < row.size or row.size == row.finite_checked
        checked = np.zeros(np.shape(row.derived), dtype=bool)
        for e in row.finite_elements:
            checked[e] = True
        assert np.isfinite(row.finite_differences[checked]).all() and np.isnan(row.finite_differences[~checked]).all()
    assert report.coverage() == f"sympy.diff: skipped; finite differences: {report.finite_checked} of 1,476 elements"
    text = str(report)
    assert "nan" not in text.lower() and "—" in text and report.coverage() in text


def test_a_wrong_element_among_the_finite_differences_sample_is_caught(wide, monkeypatch):
    d, values = wide
    monkeypatch.setattr(check_plan, "FINITE_DIFFERENCE_ELEMENTS", 100)
    sample = {r.name: r.finite_elements for r in sbp.check_gradients(d, values, use_sympy=False).rows}
    element = sample["W2"][-1]
    right = d.evaluate(values)
    wrong_grad = dict(right.grad)
    wrong_grad["W2"] = right.grad["W2"].copy()
    wrong_grad["W2"][element] += 1e-3
    wrong = type(right)(right.forward, wrong_grad, right.batch_size, right.exact, right._loss_name)
    monkeypatch.setattr(type(d), "evaluate", lambda self, v, **k: wrong)
    report = sbp.check_gradients(d, values, use_sympy=False)
    assert [r.name for r in report.rows if not r.passed] == ["W2"]


def test_the_notebook_display_is_the_same_table_in_markdown(wide):
    d, values = wide
    report = sbp.check_gradients(d, values)
    markdown = report._repr_markdown_()
    assert markdown == check_markdown(report)
    header, rule, *rows = markdown.split("\n\n")[0].splitlines()
    assert header.startswith("| parameter | derived |") and len(rows) == 6
    assert "—" in markdown and "nan" not in markdown.lower()
    assert report.coverage() in markdown and markdown.endswith("ok: all 6 gradients agree (tolerance 1e-05)")
    assert check_markdown(report, lang="ko").startswith("| 파라미터 |")


def test_the_spread_of_the_finite_differences_sample_is_fixed():
    net = sbp.mlp([3, 4, 1])
    plan = check_plan.finite_difference_plan(net, forward_operations=10**7, samples=1)  # 15 of 21 affordable
    assert not plan.complete and sum(len(p) for p in plan.positions.values()) <= 15
    assert plan == check_plan.finite_difference_plan(net, forward_operations=10**7, samples=1)
    assert all(positions for positions in plan.positions.values())  # each parameter keeps at least one element
    assert plan.positions["W1"][0] == (0, 0) and (3, 2) in plan.positions["W1"]  # the first and the last


def test_finite_differences_of_a_deep_narrow_network_cost_a_bounded_number_of_passes():
    # each pass of a deep network costs its length in NumPy calls, however little arithmetic it does:
    # the passes finite differences make shrink as the network deepens, so their total work stays bounded
    checked = {}
    for depth in (64, 256, 1024):
        net = sbp.mlp([4] * depth + [1])
        lines = sum(1 for q in net.quantities(elements=True) if q.definition is not None)
        plan = check_plan.finite_difference_plan(net, forward_operations=50 * depth, samples=1)
        checked[depth] = sum(len(p) for p in plan.positions.values())
        assert checked[depth] * lines * check_plan.LINE_OPERATIONS <= check_plan.FINITE_DIFFERENCE_WORK
        assert checked[depth] >= 1
    assert checked[64] > checked[256] > checked[1024]
    small = check_plan.finite_difference_plan(sbp.reference_network(), forward_operations=30, samples=1)
    assert sum(len(p) for p in small.positions.values()) == 9  # a small network: every element
