"""sbp.exercise: worksheets from a seed are the same file every time, their keys are evaluate's numbers and
grade correct, and the PDFs typeset in English and Korean without an overfull line."""

from __future__ import annotations

import re

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.ops.softmax_targets import class_indices
from symbackprop.printing.documents import typeset
from symbackprop.tensor.gather import index_inputs
from tests.practice_networks import NETWORKS
from tests.tooling import katex_errors, markdown_math, require_katex, require_pdflatex

_OVERFULL = re.compile(r"Overfull \\[hv]box")


def reference():
    return sbp.backprop(sbp.reference_network())


@pytest.mark.parametrize("suffix", [".md", ".tex", ".html"])
def test_the_same_seed_writes_the_same_bytes(tmp_path, suffix):
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    sbp.exercise(reference(), seed=7).write(first)
    sbp.exercise(sbp.backprop(sbp.reference_network()), seed=7).write(second)
    assert first.read_bytes() == second.read_bytes()
    third = tmp_path / f"c{suffix}"
    sbp.exercise(reference(), seed=8).write(third)
    assert third.read_bytes() != first.read_bytes()


def test_drawn_numbers_are_hand_friendly():
    for name, build in NETWORKS.items():
        d = build()[0]
        for seed in range(3):
            ex = sbp.exercise(d, seed=seed)
            for value in ex.values.values():
                entries = np.ravel(value)
                assert np.allclose(entries * 10, np.round(entries * 10)) and np.all(np.abs(entries) <= 1), name
            ev = d.evaluate(ex.values)
            for step in d.edges:
                if step.rules == ("relu",):
                    assert np.all(np.abs(ev.forward[step.target]) >= 0.05), (name, seed, step.target)


def test_the_key_is_evaluates_numbers_and_grades_correct(tmp_path):
    for name, build in NETWORKS.items():
        d = build()[0]
        ex = sbp.exercise(d, seed=3)
        ev = d.evaluate(ex.values)
        for quantity, value in ex.key.items():
            assert np.array_equal(value, ev.grad[quantity])
        assert sbp.grade(d, ex.answers, ex.values).passed, name
    ex = sbp.exercise(reference(), seed=3)
    key = ex.to_markdown(key=True)
    for value in ex.key.values():
        for entry in np.ravel(value):
            assert f"{entry:.2f}".rstrip("0").rstrip(".").replace("-0", "-0") in key or f"{entry:.2f}" in key


def test_blanks_choose_the_boxes():
    d = reference()
    assert sbp.exercise(d, blanks="parameters").blanks == ["W2", "b2", "W1", "b1"]
    assert sbp.exercise(d, blanks=["W1", "h1"]).blanks == ["h1", "W1"]
    sheet = sbp.exercise(d, blanks="parameters").to_markdown()
    assert sheet.count(r"\boxed") == 2 + 1 + 4 + 2
    with pytest.raises(sbp.UnknownNameError, match="'q'"):
        sbp.exercise(d, blanks=["q"])
    with pytest.raises(sbp.OptionError):
        sbp.exercise(d, blanks="everything")


def test_given_values_are_used_as_they_are():
    ex = sbp.exercise(reference(), sbp.reference_values())
    assert ex.values == sbp.reference_values() and ex.seed is None
    assert "-1.22" in ex.to_markdown(key=True)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_pdfs_typeset_without_an_overfull_line(lang):
    require_pdflatex(korean=lang == "ko")
    for name in ("reference", "sigmoid_batch", "rnn", "layer_norm"):
        ex = sbp.exercise(NETWORKS[name]()[0], seed=1, lang=lang)
        for key in (False, True):
            log = typeset(ex.to_latex(key=key), timeout=120).log
            assert not _OVERFULL.search(log), (name, key, _OVERFULL.findall(log))


def test_the_markdown_math_renders_in_katex():
    require_katex()
    ex = sbp.exercise(NETWORKS["fan_out"]()[0], seed=2)
    for key in (False, True):
        assert katex_errors(markdown_math(ex.to_markdown(key=key))) == []


BEYOND_MATRICES = {
    "convolution and pooling (rank 4)": lambda: sbp.models.cnn(),
    "lstm": lambda: sbp.models.lstm(2, 2, T=2),
    "the lecture's embedding, batchnorm and cross-entropy": lambda: sbp.models.embedding_mlp(5, 2, 2, 3, 4),
    "batchnorm": lambda: sbp.models.batch_norm(2, 3),
}


@pytest.mark.parametrize("name", sorted(BEYOND_MATRICES))
def test_worksheets_of_tensors_indices_and_batchnorms_draw_numbers_and_grade(name):
    d = sbp.backprop(BEYOND_MATRICES[name]())
    ex = sbp.exercise(d, seed=1)
    assert ex.values == sbp.exercise(d, seed=1).values  # the seed decides the numbers
    bounds = {input_name: bound for input_name, bound, _ in [*index_inputs(d.network), *class_indices(d.network)]}
    for quantity, value in ex.values.items():
        entries = np.ravel(value)
        assert np.shape(value) == (d.network[quantity].shape or ())
        if quantity in bounds:  # an index: an integer below its bound
            assert np.array_equal(entries, np.round(entries))
            assert entries.min() >= 0 and entries.max() < bounds[quantity]
        else:
            assert np.allclose(entries * 10, np.round(entries * 10)) and np.all(np.abs(entries) <= 1), quantity
    ev = d.evaluate(ex.values)
    for quantity, value in ex.key.items():
        assert np.array_equal(value, ev.grad[quantity])
    assert sbp.grade(d, ex.answers, ex.values).passed
    assert "\\begin{bmatrix}" in ex.to_markdown(key=True)


def test_a_parameter_the_network_cannot_move_does_not_stop_the_drawing():
    d = sbp.backprop(sbp.models.embedding_mlp(5, 2, 2, 3, 4))  # b1 before a batchnorm: its gradient is always 0
    ex = sbp.exercise(d, seed=0)
    assert np.all(np.abs(d.evaluate(ex.values).grad["b1"]) < 1e-12)  # zero up to rounding
    for parameter in ("C", "W1", "W2", "b2", "bngain", "bnbias"):
        assert np.any(np.abs(d.evaluate(ex.values).grad[parameter]) > 1e-3), parameter
