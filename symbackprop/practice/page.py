"""The practice mode of the interactive page: what its script needs to judge a typed answer offline.

For each gradient of the backward pass the page asks for, the script gets the true numbers, the
numbers each known mistake would give (from the true upstream gradients, which the page has shown
by then) with the code and hint :func:`symbackprop.grade` gives for them, and the sentences for a
right, a rounded, a wrongly shaped and an otherwise wrong answer.  The judging itself is the
grader's rule on numbers: right within floating point, right to the decimals typed, or the first
mistake whose numbers match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..network import PARAM
from .grading import PracticeNumbers, grade
from .hints import HINTS, gradient_text, hint
from .mistakes import candidates
from .quantities import backward_quantities
from .report import VERDICT_WORDS

if TYPE_CHECKING:
    from ..derivation import Derivation

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "prompt": "Your answer for {gradient} ({count} numbers, row by row), before the step shows it:",
        "prompt.one": "Your answer for {gradient}, before the step shows it:",
        "check": "Check",
        "reveal": "Show the answer",
        "waiting": "Answer the box to go on",
        "shape": "{gradient} has {count} numbers; the answer has {given}.",
        "empty": "no number was typed",
    },
    "ko": {
        "prompt": "{gradient}의 값을 입력하세요 (숫자 {count}개, 행 순서대로). 맞히면 이 단계가 보입니다:",
        "prompt.one": "{gradient}의 값을 입력하세요. 맞히면 이 단계가 보입니다:",
        "check": "확인",
        "reveal": "정답 보기",
        "waiting": "칸을 채우면 다음 단계로 갑니다",
        "shape": "{gradient}는 숫자 {count}개인데 답은 {given}개임.",
        "empty": "숫자를 입력하지 않음",
    },
}


def practice_data(derivation: Derivation, values: Any, lang: str) -> dict[str, Any]:
    """By step index, each asked gradient's numbers, mistakes and sentences; and the page's words."""
    numbers = PracticeNumbers(derivation, values)
    true_numbers = numbers.steps(numbers.forward, numbers.truth, numbers.batch_size)
    boxes = {}
    for name in backward_quantities(derivation):
        step = derivation.step_for(name)
        boxes[str(step.index)] = _box(derivation, numbers, true_numbers, name, values, lang)
    words = dict(WORDS[lang])
    words.update({f"verdict.{k}": v for k, v in VERDICT_WORDS[lang].items()})
    words.update({"correct": HINTS[lang]["correct"], "rounded": HINTS[lang]["rounded"],
                  "unreadable": HINTS[lang]["unreadable"]})
    return {"boxes": boxes, "words": words}


def _box(derivation: Derivation, numbers: PracticeNumbers, true_numbers, name: str, values: Any,
         lang: str) -> dict[str, Any]:
    truth = numbers.truth[name]
    public = numbers.public.grad[name].shape
    gradient = gradient_text(name, derivation.loss)
    parts = [(s, true_numbers.edges[s.index]) for s in derivation.steps_into(name) if s.kind == "edge"]
    mistakes, seen = [], []
    for candidate in candidates(parts, true_numbers, numbers.truth, parameter=derivation.network[name].kind == PARAM,
                                batch_size=numbers.batch_size, counts=numbers.counts()):
        flat = np.ravel(candidate.value)
        if flat.size != truth.size or np.allclose(flat, np.ravel(truth)) or any(np.allclose(flat, s) for s in seen):
            continue
        seen.append(flat)
        row = grade(derivation, {f"d{name}": flat.reshape(public)}, values, lang=lang, blanks=[name])[name]
        if row.verdict == "wrong" and row.mistake is not None:
            mistakes.append({"code": row.mistake, "values": flat.tolist(), "hint": row.hint})
    far = np.ravel(truth) + 1000.0  # no mistake gives this: the grader's sentence for a wrong step
    wrong = grade(derivation, {f"d{name}": far.reshape(public)}, values, lang=lang, blanks=[name])[name].hint
    count = int(truth.size)
    prompt = WORDS[lang]["prompt.one" if count == 1 else "prompt"].format(gradient=gradient, count=count)
    return {"name": name, "expected": np.ravel(truth).tolist(), "mistakes": mistakes, "wrong": wrong,
            "prompt": prompt, "shape": WORDS[lang]["shape"].replace("{gradient}", gradient).replace(
                "{count}", str(count)),
            "shape_code": "shape", "upstream": hint("upstream", lang, sources=gradient)}


__all__ = ["WORDS", "practice_data"]
