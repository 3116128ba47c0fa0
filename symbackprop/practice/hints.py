"""The sentences a graded row says, in English and Korean: one per verdict and one per mistake.

Templates use ``str.format`` fields filled from the grader's details; a gradient is written
∂L/∂name, as the worksheets write it.
"""

from __future__ import annotations

from typing import Any

HINTS: dict[str, dict[str, str]] = {
    "en": {
        "correct": "Right.",
        "rounded": "Right to the {places} decimal places given.",
        "rounded.from": "Right, from your rounded answer for {rounded_from}.",
        "upstream": "Follows from your answer for {sources}; this step itself is right, so correct that one first.",
        "missing": "No answer for {gradient}.",
        "unreadable": "Cannot read the answer: {reason}.",
        "wrong": "Not what the chain rule gives: {gradient} = {rule}.",
        "mistake.transpose": "A transpose: {gradient} has the shape of {name}, {shape}; check which factor carries "
                             "the ᵀ in {rule}.",
        "mistake.transpose.factor": "A transpose: the factor here is {factor}, as in {gradient} = {rule}.",
        "mistake.transpose.expression": "A transpose: {reason}; with {factor}ᵀ the shapes fit ({gradient} = {rule}).",
        "mistake.shape.expression": "The shapes do not fit: {reason}; {gradient} = {rule}.",
        "mistake.activation_point": "The derivative of {activation} belongs at its input {input}, not at its "
                                    "output {output}.",
        "mistake.dropped_factor": "The local derivative {factor} is missing: {gradient} = {rule}.",
        "mistake.fan_out": "{name} is used by {users}; {gradient} adds the gradients coming back through all of "
                           "them, and the one through {left_out} is left out.",
        "mistake.sign": "The sign is flipped: {gradient} = {rule}.",
        "mistake.batch_mean.left_out": "Off by a factor of {n}: the mean over {n} divides by {n} once, and that "
                                       "division is missing.",
        "mistake.batch_mean.twice": "Off by a factor of 1/{n}: the mean's division by {n} is applied twice.",
        "mistake.factor": "Off by a constant factor of {factor}: {gradient} = {rule}.",
        "mistake.shape": "{gradient} has the shape of {name}, {shape}; the answer has the shape {given}.",
    },
    "ko": {
        "correct": "맞음.",
        "rounded": "주어진 소수점 {places}자리까지 맞음.",
        "rounded.from": "앞에서 반올림한 {rounded_from}의 값으로 계산하면 맞음.",
        "upstream": "앞에서 구한 {sources}의 값에서 따라 나온 결과이며 이 단계 자체는 맞음. 그 답부터 고칠 것.",
        "missing": "{gradient}의 답이 없음.",
        "unreadable": "답을 읽을 수 없음: {reason}.",
        "wrong": "chain rule이 주는 값과 다름: {gradient} = {rule}.",
        "mistake.transpose": "전치(transpose) 실수: {gradient}의 shape은 {name}의 shape {shape}와 같음. {rule}에서 "
                             "어느 인수에 ᵀ가 붙는지 확인할 것.",
        "mistake.transpose.factor": "전치(transpose) 실수: 여기서 곱하는 인수는 {factor}임. {gradient} = {rule}.",
        "mistake.transpose.expression": "전치(transpose) 실수: {reason}. {factor}ᵀ를 쓰면 shape이 맞음 "
                                        "({gradient} = {rule}).",
        "mistake.shape.expression": "shape이 맞지 않음: {reason}. {gradient} = {rule}.",
        "mistake.activation_point": "{activation}의 도함수는 출력 {output}이 아니라 입력 {input}에서 계산함.",
        "mistake.dropped_factor": "국소 도함수(local derivative) {factor}가 빠짐: {gradient} = {rule}.",
        "mistake.fan_out": "{name}을(를) 쓰는 곳은 {users}이므로 {gradient}는 그 모든 경로로 돌아오는 gradient의 합임. "
                           "{left_out}을(를) 거쳐 오는 항이 빠짐.",
        "mistake.sign": "부호가 반대임: {gradient} = {rule}.",
        "mistake.batch_mean.left_out": "{n}배 차이: {n}개에 대한 평균은 {n}으로 한 번 나누는데, 그 나눗셈이 빠짐.",
        "mistake.batch_mean.twice": "1/{n}배 차이: 평균의 {n}으로 나누기가 두 번 적용됨.",
        "mistake.factor": "상수배 {factor}만큼 차이: {gradient} = {rule}.",
        "mistake.shape": "{gradient}의 shape은 {name}의 shape {shape}와 같아야 하는데 답의 shape은 {given}임.",
    },
}


def gradient_text(name: str, loss: str = "L") -> str:
    return f"∂{loss}/∂{name}"


def hint(key: str, lang: str, **details: Any) -> str:
    """The sentence of ``key`` (a verdict or "mistake.<code>") with ``details`` filled in."""
    table = HINTS[lang]
    return table[key].format(**{k: _text(v) for k, v in details.items()})


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}" if value >= 1 else _fraction(value)
    if isinstance(value, (list, tuple)) and not all(isinstance(v, int) for v in value):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, tuple):
        return "×".join(str(v) for v in value) if value else "scalar"
    return str(value)


def _fraction(value: float) -> str:
    for denominator in (2, 3, 4):
        if abs(value * denominator - round(value * denominator)) < 1e-12 and round(value * denominator) == 1:
            return f"1/{denominator}"
    return f"{value:g}"


__all__ = ["HINTS", "gradient_text", "hint"]
