"""The step ∂L/∂y for the target y of a loss is called the target's and explained by its own rule."""

from __future__ import annotations

import re

import pytest

import symbackprop as sbp
from symbackprop.rules import RULES

OUTPUTS = {"half_squared_error": "relu", "mse": "identity", "binary_cross_entropy": "sigmoid",
           "bce_with_logits": "identity", "cross_entropy": "identity"}

# written out by hand from each loss's ∂L/∂y, so a sentence that drifts from the formula fails
TARGET_SENTENCES = {
    "half_squared_error": "For the target, the squared error gives $(y - h)$.",
    "mse": "For the target, the mean squared error gives $2(y - h)/n$.",
    "binary_cross_entropy": r"For the target, binary cross-entropy gives $(\log(1 - p) - \log p)/n$.",
    "bce_with_logits": "For the target, binary cross-entropy on logits gives $-z/n$.",
    "cross_entropy": r"For the target, softmax with cross-entropy gives $-\log \operatorname{softmax}(z)$.",
}
ROLES = {"en": "Gradient with respect to the target (not needed for the update):",
         "ko": "정답에 대한 gradient (업데이트에는 필요 없음):"}


def _step_text(document: str, derivation: sbp.Derivation, target: str) -> str:
    """The document's text from the marker of the step into ``target`` to the next marker."""
    (step,) = [s for s in derivation.steps if s.target == target]
    start = document.index(f"<!-- step {step.index} edge -->")
    following = re.compile(r"<!-- step \d+ ").search(document, start + 1)
    return document[start:following.start() if following else len(document)]


@pytest.mark.parametrize("loss", sorted(OUTPUTS))
def test_the_targets_step_has_the_targets_rule_and_role(loss):
    derivation = sbp.backprop(sbp.mlp([2, 2], output_activation=OUTPUTS[loss], loss=loss))
    text = _step_text(derivation.to_markdown(), derivation, "y")
    assert ROLES["en"] in text and "with respect to the input" not in text
    assert f"Rule — {TARGET_SENTENCES[loss]}" in text
    prediction_sentence = RULES[f"loss:{loss}"].explanation["en"]
    assert prediction_sentence[:1].upper() + prediction_sentence[1:] not in text


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_reference_pages_target_is_called_the_target(lang):
    derivation = sbp.backprop(sbp.reference_network())  # a scalar loss, ½(h2 − y)²
    text = _step_text(derivation.to_markdown(lang=lang), derivation, "y")
    assert ROLES[lang] in text
    expected = {"en": "Rule — For the target, the squared error gives $(y - h)$.",
                "ko": "규칙 — 제곱 오차: 정답에 대한 gradient는 $(y - h)$."}[lang]
    assert expected in text
    # the prediction keeps its own sentence
    prediction = _step_text(derivation.to_markdown(lang=lang), derivation, "h2")
    assert "$(h - y)$" in prediction and ROLES[lang] not in prediction


def test_an_input_that_is_not_compared_is_still_the_input():
    net = sbp.Network()
    x = net.input("x")
    w = net.param("w")
    h = net.node("h", w * x)
    net.loss("L", h ** 2)
    derivation = sbp.backprop(net)
    text = _step_text(derivation.to_markdown(), derivation, "x")
    assert "Gradient with respect to the input (not needed for the update):" in text and "target" not in text
