"""A long unnamed expression the backward pass would repeat is named once, where it is first needed."""

from __future__ import annotations

import re

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.network import INPUT, PARAM

from .tooling import compile_latex, pdflatex, require_pdflatex

HIDDEN_GRADIENT = (r"\left(W_{2}^{\top} \, \frac{\partial L}{\partial \mathrm{out}}\right) \odot "
                   r"\left(1 - \tanh^{2}\left(W_{1} \, x + b_{1}\right)\right)")


def _inline_hidden_layer(quantity: str = "out") -> sbp.Network:
    net = sbp.Network()
    x, y = net.input("x", (2, 1)), net.input("y", (1, 1))
    w1, b1 = net.param("W1", (3, 2)), net.param("b1", (3, 1))
    w2, b2 = net.param("W2", (1, 3)), net.param("b2", (1, 1))
    out = net.node(quantity, w2 @ sbp.tanh(w1 @ x + b1) + b2)
    net.loss("L", sbp.mse(out, y))
    return net


def _values(network: sbp.Network, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {q.name: rng.uniform(-1, 1, q.shape) for q in network.quantities(INPUT, PARAM)}


def _backward(markdown: str) -> str:
    return markdown[markdown.index("### Backward Pass"):markdown.index("## Worked example")]


def test_the_gradient_into_an_unnamed_layer_is_named_once_and_then_used_by_name():
    derivation = sbp.backprop(_inline_hidden_layer())
    backward = _backward(derivation.to_markdown(_values(derivation.network), sections=()))
    assert backward.count(rf"u_{{1}} &= {HIDDEN_GRADIENT}") == 1
    assert HIDDEN_GRADIENT not in backward.replace(rf"u_{{1}} &= {HIDDEN_GRADIENT}", "")
    # ∂L/∂W1, ∂L/∂b1 and ∂L/∂x all read it by its name, the first after the name is said
    said = backward.index(r"u_{1} &=")
    for row in (r"&= u_{1} \, x^{\top}", r"&= u_{1} \in", r"&= W_{1}^{\top} \, u_{1}"):
        assert backward.index(row) > said, row


def test_the_name_is_said_before_every_use_in_every_format():
    derivation = sbp.backprop(_inline_hidden_layer())
    values = _values(derivation.network)
    for text in (derivation.to_latex(values), derivation.to_markdown(values), derivation.to_html(values)):
        uses = [m.start() for m in re.finditer(r"u_\{1\}", text)]
        assert uses and re.match(r"u_\{1\} &(amp;)?= ", text[uses[0]:]), text[uses[0] - 200:uses[0] + 80]


def test_the_letter_of_generated_names_is_one_the_network_does_not_use():
    derivation = sbp.backprop(_inline_hidden_layer(quantity="u"))
    backward = _backward(derivation.to_markdown(_values(derivation.network), sections=()))
    assert r"v_{1} &= " in backward and r"u_{1}" not in backward


def test_names_change_no_number(monkeypatch):
    network = _inline_hidden_layer()
    values = _values(network)
    named = sbp.backprop(network).to_markdown(values, sections=())
    monkeypatch.setattr("symbackprop.printing.naming.MIN_USES", 10**9)
    unnamed = sbp.backprop(network).to_markdown(values, sections=())
    assert r"u_{1}" in named and r"u_{1}" not in unnamed
    numbers = re.compile(r"-?\d+\.\d+")
    assert sorted(set(numbers.findall(named))) == sorted(set(numbers.findall(unnamed)))
    assert derivation_gradient_shown(named, sbp.backprop(network).evaluate(values).grad["W1"])


def derivation_gradient_shown(markdown: str, gradient: np.ndarray) -> bool:
    return all(f"{number:.4g}" in markdown for number in gradient.ravel())


def test_the_conventions_say_what_the_names_are():
    derivation = sbp.backprop(_inline_hidden_layer())
    assert "Generated names ($u_{1}$)" in derivation.to_markdown()
    assert "생성된 이름($u_{1}$)" in derivation.to_markdown(lang="ko")


def test_short_or_single_expressions_keep_their_own_form():
    derivation = sbp.backprop(sbp.reference_network())
    assert r"u_{1}" not in derivation.to_markdown()


@pytest.mark.skipif(pdflatex() is None, reason="pdflatex is not installed")
def test_a_document_with_generated_names_compiles():
    require_pdflatex()
    derivation = sbp.backprop(_inline_hidden_layer())
    compiled = compile_latex(derivation.to_latex(_values(derivation.network), page="full", lang="en", standalone=True))
    assert compiled.ok, compiled.errors
