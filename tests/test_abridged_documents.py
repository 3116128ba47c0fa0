"""A pass longer than ``abridge`` items writes its first and last halves and says how many it left out."""

from __future__ import annotations

import re

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.choices import ABRIDGE
from symbackprop.printing.abridge import Omitted, abridged
from symbackprop.printing.options import DocumentOptionError

from .tooling import compile_latex, pdflatex, require_pdflatex

MARKER = re.compile(r"<!-- step (\d+) ")


def _rnn(steps: int):
    network = sbp.models.rnn(2, 3, T=steps)
    rng = np.random.default_rng(5)
    values = {q.name: rng.normal(size=q.shape) * 0.5 for q in network.quantities("input", "param")}
    return sbp.backprop(network), values


@pytest.mark.parametrize("count, limit", [(0, 4), (4, 4), (5, 4), (9, 2), (121, 120), (1000, 7)])
def test_abridged_keeps_the_first_and_last_halves_and_counts_the_rest(count, limit):
    items = list(range(count))
    shown = abridged(items, limit)
    if count <= limit:
        assert shown == items
        return
    gap = next(k for k, item in enumerate(shown) if isinstance(item, Omitted))
    kept = [item for item in shown if not isinstance(item, Omitted)]
    assert len(kept) == limit and shown[gap].count == count - limit
    assert kept == items[:gap] + items[count - (limit - gap):]  # in order, nothing repeated
    assert abridged(items, None) == items


def test_a_long_recurrence_is_written_at_its_ends_with_every_parameter_gradient():
    derivation, values = _rnn(300)
    text = derivation.to_markdown(values=values)
    whole = derivation.to_markdown(values=values, abridge=None)
    assert len(text) < len(whole) / 2
    marked = {int(m) for m in MARKER.findall(text)}
    assert {int(m) for m in MARKER.findall(whole)} == {s.index for s in derivation.steps}
    assert marked < {s.index for s in derivation.steps}
    # the loss's end and the parameters' sums (the last steps of the sweep) are there
    assert {0, 1} <= marked and {s.index for s in derivation.steps if s.target in ("W", "U", "b")} & marked
    for parameter in ("W", "U", "b"):
        assert rf"\frac{{\partial L}}{{\partial {parameter}}} &=" in text
    assert "more layers of steps of the same form" in text and r"$\vdots$ stands for" in text
    # the numbers shown are the numbers of the whole document
    gradient = derivation.evaluate(values).grad["W"]
    assert all(f"{x:.4g}" in text for x in gradient.ravel()[:3])


def test_every_format_and_language_says_what_it_left_out():
    derivation, values = _rnn(150)
    assert "같은 꼴의 층" in derivation.to_markdown(values=values, lang="ko")
    assert "more layers of steps" in derivation.to_latex(values=values)
    assert "more layers of steps" in derivation.to_html(values=values)
    assert "more layers of steps" in derivation.to_latex(values=values, page="full")


def test_a_network_within_the_limit_is_written_whole():
    derivation, values = _rnn(8)
    assert derivation.to_markdown(values=values) == derivation.to_markdown(values=values, abridge=None)
    assert ABRIDGE >= 100


def test_a_smaller_limit_abridges_sooner():
    derivation, values = _rnn(8)
    text = derivation.to_markdown(values=values, abridge=6)
    assert r"$\vdots$ stands for" in text and "more layers of steps" in text


@pytest.mark.parametrize("limit", [1, 0, -3, True, 2.5, "10"])
def test_a_limit_that_is_not_a_whole_number_of_at_least_two_is_refused(limit):
    derivation, _ = _rnn(2)
    with pytest.raises(DocumentOptionError, match="abridge"):
        derivation.to_markdown(abridge=limit)


def test_the_command_line_abridges_by_default_and_writes_all_on_request(tmp_path):
    from symbackprop.cli import main

    spec = tmp_path / "net.py"
    spec.write_text("import symbackprop as sbp\nnet = sbp.models.rnn(2, 3, T=150)\n", encoding="utf-8")
    short, whole = tmp_path / "short.md", tmp_path / "whole.md"
    assert main(["derive", str(spec), "-o", str(short), "-q", "--sections", "none"]) == 0
    assert main(["derive", str(spec), "-o", str(whole), "-q", "--sections", "none", "--abridge", "all"]) == 0
    assert "more layers of steps" in short.read_text(encoding="utf-8")
    assert "more layers of steps" not in whole.read_text(encoding="utf-8")
    assert main(["derive", str(spec), "-o", str(short), "--abridge", "one"]) != 0


@pytest.mark.skipif(pdflatex() is None, reason="pdflatex is not installed")
def test_an_abridged_document_compiles():
    require_pdflatex()
    derivation, values = _rnn(150)
    compiled = compile_latex(derivation.to_latex(values=values, standalone=True, abridge=30))
    assert compiled.ok, compiled.errors
