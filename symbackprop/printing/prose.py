"""Every sentence and heading of the documents, one table per language.

The Korean table follows the reference page's wording (Forward Pass, Backward
Pass, 출력층에서 시작, 첫 번째 층으로 전파, 구체적 예시 …).  The sentence that
explains each chain-rule step is not here: it comes with the rule, from
:data:`symbackprop.rules.RULES`.  Templates use ``str.format`` fields and the
markup of :mod:`symbackprop.printing.blocks`; Korean particles never follow a
formula, so no sentence depends on how a name is pronounced.
"""

from __future__ import annotations

import re

from ..rules import RULES

LANGUAGES = ("en", "ko")

PROSE: dict[str, dict[str, str]] = {
    "en": {
        "title": "Backpropagation, step by step",
        "intro": "The gradient of the loss ${loss}$ with respect to every parameter, derived with the "
                 "[[Chain rule|chain rule]] from the output layer back to the first layer.",
        "network.heading": "Mathematical formulation",
        "network.intro": "The network computes one named value after another:",
        "network.where": "where:",
        "describe.linear": "linear transformation",
        "describe.activation": "activation function applied",
        "describe.loss": "the [[Loss Function|loss function]]",
        "network.batch": "With a batch of $N$ samples the loss is the mean of the samples' losses:",
        "network.shapes": "Shapes:",
        "network.functions": "Functions written in Python:",
        "forward.heading": "Forward Pass",
        "forward.intro": "First the [[Forward Pass|forward pass]] computes every intermediate result and stores it:",
        "backward.heading": "Backward Pass",
        "backward.intro": "Now compute the [[Gradient|gradients]] backwards, starting from ${seed}$.",
        "backward.batch": "Every gradient of a node below is one sample's and already carries the factor "
                          "$\\frac{1}{N}$; a parameter is shared by all samples, so its gradient adds the "
                          "samples' terms up.",
        "backward.unreached": "The loss does not depend on {names}; those gradients are 0.",
        "layer.output": "Start at the output layer:",
        "layer.first": "Gradients of layer {n}:",
        "layer.propagate": "Propagate to layer {n}:",
        "role.output": "Differentiate the loss directly",
        "role.activation": "Gradient of the activation",
        "role.weight": "Gradient of the weights",
        "role.bias": "Gradient of the bias",
        "role.passed": "Gradient passed down to the previous layer",
        "role.input": "Gradient with respect to the input (not needed for the update)",
        "role.parameter": "Gradient of the parameter",
        "role.node": "Gradient of the intermediate value",
        "role.part": "Contribution of each path (added up below)",
        "role.fan_out": "Fan-out: the paths add up",
        "local": "Local derivative",
        "local.plural": "Local derivatives",
        "local.right": "{local} contributes {factor}, multiplied on the right",
        "local.left": "{local} contributes {factor}, multiplied on the left",
        "local.elementwise": "element-wise",
        "rule": "Rule",
        "rule.join": "; ",
        "example.heading": "Worked example",
        "example.loss": "The loss is",
        "example.values": "Take these values:",
        "value.input": "input",
        "value.target": "target",
        "value.parameter": "parameter",
        "example.exact": "The values are exact, so every result below is an exact fraction.",
        "example.rounded": "Decimals are rounded to {digits} significant digits.",
        "example.batch": "The inputs hold a batch of {n} samples: every input and node lists its values sample by "
                         "sample, and every parameter's gradient is the mean over the batch.",
        "example.computation": "Computation:",
        "example.backward": "The same steps with the numbers:",
        "example.update": "Now that every parameter's gradient is known, one step of [[Gradient|gradient]] "
                          "descent with learning rate $\\eta = {eta}$ updates the parameters:",
        "chain.heading": "Applying the chain rule",
        "chain.intro": "Backpropagation works because of the [[Chain rule|chain rule]]: the gradient of a "
                       "parameter is the product of the local derivatives along the path from the loss to it, "
                       "added up over the paths where a value is used more than once:",
        "chain.paths": "{n} paths from the loss; each is a product of local derivatives like the one above",
        "chain.order": "Backpropagation computes the longest chain, the one of ${name}$, from the left, one factor "
                       "at a time, and every partial product is a gradient already computed above:",
        "chain.first": "${adjoint}$ (output layer)",
        "chain.step": "${product} = {adjoint}$",
        "chain.outro": "So no product is computed twice.",
        "conventions.heading": "Conventions",
        "conventions.layout": "Every gradient has the shape of the quantity it differentiates, as PyTorch's "
                              "`.grad` does: ${adjoint} \\in {shape}$, the shape of ${name}$.",
        "conventions.notation": "$\\odot$ is the element-wise product, juxtaposition the matrix product, "
                                "$^{\\top}$ the transpose, and $\\mathbf{1}[\\cdot]$ is 1 where the condition "
                                "holds and 0 elsewhere.",
        "conventions.relu": "ReLU has no derivative at 0; like PyTorch's [[Autograd]] this document uses "
                            "$\\operatorname{{ReLU}}'(0) = 0$.",
        "conventions.relu_other": "ReLU has no derivative at 0; this document uses "
                                  "$\\operatorname{{ReLU}}'(0) = {value}$ (PyTorch's [[Autograd]] uses 0).",
        "code.heading": "Generated code",
        "code.intro": "The same steps as NumPy code (`Derivation.lambdify().source`):",
        "code.latexify": "Its gradient lines, rendered by latexify:",
        "code.no_latexify": "latexify is not installed here, so the code is shown as text only.",
    },
    "ko": {
        "title": "Backpropagation: 단계별 유도",
        "intro": "손실 ${loss}$의 각 파라미터에 대한 [[Gradient]]를 [[Chain rule]](연쇄 법칙)으로 "
                 "출력층에서 입력층 방향으로 거꾸로 계산합니다.",
        "network.heading": "수학적 표현",
        "network.intro": "이 신경망은 이름 붙은 값을 차례로 계산합니다:",
        "network.where": "여기서:",
        "describe.linear": "선형 변환",
        "describe.activation": "활성화 함수 적용",
        "describe.loss": "손실 계산, [[Loss Function]]",
        "network.batch": "배치 크기가 $N$이라면 손실은 각 샘플 손실의 평균입니다:",
        "network.shapes": "크기(shape):",
        "network.functions": "Python으로 정의한 함수:",
        "forward.heading": "Forward Pass",
        "forward.intro": "먼저 순방향으로 계산하며([[Forward Pass]]) 모든 중간 결과를 저장합니다:",
        "backward.heading": "Backward Pass",
        "backward.intro": "이제 역방향으로 gradient를 계산합니다. 시작점은 ${seed}$입니다.",
        "backward.batch": "아래 노드의 gradient는 샘플 하나의 것이며 이미 $\\frac{1}{N}$을 포함합니다. "
                          "파라미터는 모든 샘플이 공유하므로 그 gradient는 샘플별 항을 모두 더한 것입니다.",
        "backward.unreached": "손실은 {names}에 의존하지 않으므로 그 gradient는 0입니다.",
        "layer.output": "출력층에서 시작:",
        "layer.first": "{ordinal} 층의 gradient:",
        "layer.propagate": "{ordinal} 층으로 전파:",
        "role.output": "손실 함수를 직접 미분",
        "role.activation": "활성화 함수의 gradient",
        "role.weight": "가중치의 gradient",
        "role.bias": "편향의 gradient",
        "role.passed": "다음 층으로 전달할 gradient",
        "role.input": "입력에 대한 gradient (업데이트에는 필요 없음)",
        "role.parameter": "파라미터의 gradient",
        "role.node": "중간 값의 gradient",
        "role.part": "경로별 기여 (아래에서 합산)",
        "role.fan_out": "여러 경로의 합 (fan-out)",
        "local": "국소 미분",
        "local.plural": "국소 미분",
        "local.right": "{local}: 오른쪽에 곱하는 인수 {factor}",
        "local.left": "{local}: 왼쪽에 곱하는 인수 {factor}",
        "local.elementwise": "원소별",
        "rule": "규칙",
        "rule.join": "; ",
        "example.heading": "구체적 예시",
        "example.loss": "손실 함수는 다음과 같습니다:",
        "example.values": "다음 값을 대입해봅시다:",
        "value.input": "입력",
        "value.target": "정답",
        "value.parameter": "파라미터",
        "example.exact": "값이 정확한 분수이므로 아래의 모든 결과도 정확한 분수입니다.",
        "example.rounded": "소수는 유효숫자 {digits}자리로 반올림했습니다.",
        "example.batch": "입력은 샘플 {n}개의 배치입니다. 입력과 노드는 샘플별 값을 차례로 나열하고, "
                         "파라미터의 gradient는 배치 평균입니다.",
        "example.computation": "계산 과정:",
        "example.backward": "같은 단계에 숫자를 대입합니다:",
        "example.update": "이제 모든 파라미터의 gradient를 알았으므로, [[Gradient]] descent로 업데이트할 수 "
                          "있습니다 (학습률 $\\eta = {eta}$):",
        "chain.heading": "Chain Rule의 적용",
        "chain.intro": "역전파가 작동하는 이유는 [[Chain rule]] 덕분입니다. 여러 함수가 합성된 경우, 전체 미분은 "
                       "각 부분의 미분을 곱한 것입니다 (한 값이 여러 곳에 쓰이면 경로별 곱을 더합니다):",
        "chain.paths": "손실에서 오는 경로 {n}개의 합이며, 각 경로는 위와 같은 국소 미분의 곱입니다",
        "chain.order": "역전파의 핵심은 가장 긴 연쇄(${name}$)를 왼쪽 항부터 차례대로 계산하는 것이며, "
                       "각 중간 곱은 위에서 이미 구한 gradient입니다:",
        "chain.first": "${adjoint}$ 계산 (출력층)",
        "chain.step": "${product} = {adjoint}$ 계산",
        "chain.outro": "이렇게 하면 중복 계산 없이 효율적으로 gradient를 구할 수 있습니다.",
        "conventions.heading": "표기 규칙",
        "conventions.layout": "모든 gradient는 PyTorch의 `.grad`처럼 미분하는 값과 같은 shape를 가집니다: "
                              "${adjoint} \\in {shape}$ (${name}$의 shape).",
        "conventions.notation": "$\\odot$는 원소별 곱, 나란히 쓴 것은 행렬 곱, $^{\\top}$는 전치이고, "
                                "$\\mathbf{1}[\\cdot]$는 조건이 참이면 1, 아니면 0입니다.",
        "conventions.relu": "ReLU는 0에서 미분할 수 없습니다. 이 문서는 PyTorch의 [[Autograd]]와 같이 "
                            "$\\operatorname{{ReLU}}'(0) = 0$을 씁니다.",
        "conventions.relu_other": "ReLU는 0에서 미분할 수 없습니다. 이 문서는 "
                                  "$\\operatorname{{ReLU}}'(0) = {value}$을 씁니다 (PyTorch의 [[Autograd]]는 0).",
        "code.heading": "생성된 코드",
        "code.intro": "같은 단계를 NumPy 코드로 옮긴 것입니다 (`Derivation.lambdify().source`):",
        "code.latexify": "gradient 계산 줄을 latexify로 표시하면:",
        "code.no_latexify": "latexify가 설치되어 있지 않아 코드만 보여줍니다.",
    },
}

_KOREAN_ORDINALS = ("첫", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열")


def ordinal(n: int, lang: str) -> str:
    """두 번째 for 2 in Korean; plain numbers in English (the templates say "layer 2")."""
    if lang == "ko":
        return f"{_KOREAN_ORDINALS[n - 1]} 번째" if 1 <= n <= len(_KOREAN_ORDINALS) else f"{n}번째"
    return str(n)


_FIELD = re.compile(r"\{\{|\}\}|\{(\w+)\}")


def say(lang: str, key: str, **fields: object) -> str:
    """The sentence ``key`` in ``lang`` with its fields filled in.

    Only ``{name}`` of a given field is replaced, so the LaTeX braces of a
    template (``\\frac{1}{N}``) need no escaping; ``{{`` and ``}}`` still mean a brace.
    """

    def fill(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        return str(fields[match.group(1)]) if match.group(1) in fields else match.group(0)

    return _FIELD.sub(fill, PROSE[lang][key])


def rule_sentences(keys: tuple[str, ...] | list[str], lang: str) -> str:
    """The registry's explanation of each rule, joined; English starts with a capital letter."""
    sentences = [RULES[key].explanation[lang] for key in dict.fromkeys(keys) if key in RULES]
    text = PROSE[lang]["rule.join"].join(sentences)
    return text[:1].upper() + text[1:] if lang == "en" else text
