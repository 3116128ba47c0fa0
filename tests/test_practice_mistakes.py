"""The mistake table: each seeded mistake of a hand-written backward pass is named at its own step,
and the steps computed after it from the student's own numbers are "upstream", never "wrong"."""

from __future__ import annotations

import functools

import pytest

import symbackprop as sbp
from tests.practice_networks import NETWORKS, SEEDED_MISTAKES


@functools.cache
def network(name):
    return NETWORKS[name]()


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_the_students_backward_pass_without_a_mistake_is_correct(name):
    d, values, backward = network(name)
    g = sbp.grade(d, backward, values)
    assert [row.verdict for row in g] == ["correct"] * len(g), g.to_text()
    assert g.passed and g.first_wrong is None


@pytest.mark.parametrize(("name", "mistake", "code", "step"), SEEDED_MISTAKES,
                         ids=[f"{n}-{m}" for n, m, _, _ in SEEDED_MISTAKES])
def test_a_seeded_mistake_is_diagnosed_at_its_step_and_carried_after_it(name, mistake, code, step):
    d, values, backward = network(name)
    g = sbp.grade(d, functools.partial(backward, mistake=mistake), values)
    row = g[step]
    assert (row.verdict, row.mistake) == ("wrong", code), g.to_text()
    assert g.first_wrong == step and not g.passed
    names = [r.name for r in g]
    before, after = g.rows[:names.index(step)], g.rows[names.index(step) + 1:]
    assert all(r.verdict == "correct" for r in before), g.to_text()
    assert all(r.verdict in ("correct", "upstream") for r in after), g.to_text()
    assert row.hint and row.hint.endswith(".")


def test_the_table_covers_the_documented_codes_over_six_networks():
    assert len(SEEDED_MISTAKES) >= 24
    assert len({n for n, *_ in SEEDED_MISTAKES}) >= 5
    assert {"transpose", "sign", "batch_mean", "factor", "fan_out", "activation_point", "shape"} <= \
        {code for _, _, code, _ in SEEDED_MISTAKES} <= set(sbp.MISTAKES)
