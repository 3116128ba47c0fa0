"""A formula converted term by term is the formula converted whole (printing/mathml.py).

latex2mathml writes a formula as one row of its top-level items, so a page converts each term of a
long formula once however many formulas repeat it.  The oracle is latex2mathml itself on the whole
formula: for every formula of the pages of many networks, in both languages, with and without
values, and for random formulas joined from their terms.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop.printing import mathml

NETWORKS = {
    "reference": sbp.reference_network,
    "scalar level": lambda: sbp.mlp([3, 3, 1], level="scalar"),
    "classifier": lambda: sbp.mlp([3, 4, 3], loss="cross_entropy", output_activation="identity"),
    "rnn": lambda: sbp.models.rnn(2, 2, 3),
    "lstm": lambda: sbp.models.lstm(1, 2, 2),
    "layer_norm": lambda: sbp.models.layer_norm(3),
    "attention_head": lambda: sbp.models.attention_head(2, T=2),
    "swiglu_mlp": lambda: sbp.models.swiglu_mlp(2, 3),
    "batch_norm": lambda: sbp.models.batch_norm(2, 3),
}


def _values(network, seed=0):
    rng = np.random.default_rng(seed)
    return {q.name: rng.normal(size=q.shape) for q in network.quantities("input", "param")}


@pytest.fixture(scope="module")
def page_formulas():
    """Every (formula, display) the MathML pages of NETWORKS convert."""
    found: set[tuple[str, str]] = set()
    converted = mathml._converted

    def recording(tex, display):
        found.add((tex, display))
        return converted(tex, display)

    mathml._converted = recording
    try:
        for build in NETWORKS.values():
            network = build()
            derivation = sbp.backprop(network)
            values = sbp.reference_values() if build is sbp.reference_network else _values(network)
            for lang in ("en", "ko"):
                derivation.to_html(values=values, katex="mathml", lang=lang, page="full")
                derivation.to_html(katex="mathml", lang=lang)
    finally:
        mathml._converted = converted
    return found


def _whole(tex: str, display: str) -> str:
    return mathml._exactly.__wrapped__(tex, display)  # latex2mathml on the formula as it is, nothing cached


def test_every_formula_of_the_pages_converted_term_by_term_is_the_formula_converted_whole(page_formulas):
    cut = [(tex, display) for tex, display in page_formulas if mathml._terms(tex) is not None]
    assert len(cut) > 100  # the pages' long formulas are cut: the comparison below is not empty
    for tex, display in cut:
        assert mathml._converted(tex, display) == _whole(tex, display), tex


def test_every_formula_of_the_pages_converted_from_its_shape_is_the_formula_converted_as_it_is(page_formulas):
    shaped = [(tex, display) for tex, display in page_formulas
              if mathml._NUMBER.search(tex) and not mathml._ONE_DIGIT_READ.search(tex)]
    assert len(shaped) > 300
    for tex, display in page_formulas:
        assert mathml._whole(tex, display) == _whole(tex, display), tex


@pytest.fixture(scope="module")
def terms(page_formulas):
    found = set()
    for tex, _ in page_formulas:
        pieces = mathml._terms(tex)
        found.update(p for p in pieces or () if p not in ("=", "+", "-", "\\cdot"))
    return sorted(found)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_formulas_joined_from_the_pages_terms_convert_as_they_do_whole(terms, data):
    count = data.draw(st.integers(2, 6))
    chosen = data.draw(st.lists(st.sampled_from(terms), min_size=count, max_size=count))
    operators = data.draw(st.lists(st.sampled_from(["=", "+", "-", "\\cdot"]), min_size=count - 1,
                                   max_size=count - 1))
    tex = chosen[0] + "".join(f" {op} {term}" for op, term in zip(operators, chosen[1:]))
    display = data.draw(st.sampled_from(["inline", "block"]))
    assert mathml._converted(tex, display) == _whole(tex, display)


@pytest.mark.parametrize("tex", [
    r"x^23 + \frac12 + x_{10} = 3.25 \cdot \text{layer 2} + \mathbf{0}_{3 \times 1}",
    r"W^{(1)}_{31,1} x_{1} + .5 + 1{,}000 + 1.5 \times 10^{-5} = \sqrt{2}",
    r"\begin{bmatrix} " + " & ".join(f"{k / 7:.2f}" for k in range(1100)) + r" \end{bmatrix} = x_{1}",
    r"a \over b + c = d",                      # an infix fraction reads the whole group
    r"x' + y' = \frac{\partial L}{\partial x}",  # a prime attaches to what comes before
    r"\displaystyle \sum_{i} a_{i} + b = c_{1} + c_{2}",
    r"\left( a + b \right) = \left\{ c - d \right\} + e_{1}",
    r"\begin{bmatrix} a + b & c \\ d & e \end{bmatrix} + \text{a = b} - f",
])
def test_formulas_that_read_beyond_one_term_are_converted_whole_or_cut_only_between_terms(tex):
    assert mathml._converted(tex, "block") == _whole(tex, "block")
    assert mathml._converted(tex, "inline") == _whole(tex, "inline")
