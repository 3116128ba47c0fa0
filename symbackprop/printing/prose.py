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

from ..choices import LANGUAGES  # noqa: F401 - where the printers and tests have always found it
from ..rules import RULES

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
        "network.batch": "With a batch of $N$ samples the loss is the mean of the samples' losses, each the "
                         "loss as written for one sample (a term that does not depend on the sample, such as a "
                         "penalty on a parameter, is in every one of them and so counts once in the mean):",
        "network.shapes": "Shapes:",
        "network.functions": "Functions written in Python:",
        "forward.heading": "Forward Pass",
        "forward.intro": "First the [[Forward Pass|forward pass]] computes every intermediate result and stores it:",
        "backward.heading": "Backward Pass",
        "backward.intro": "Now compute the [[Gradient|gradients]] backwards, starting from ${seed}$.",
        "backward.batch": "Every gradient of a node below is one sample's and already carries the factor "
                          "$\\frac{1}{N}$; a parameter is shared by all samples, so its gradient adds the "
                          "samples' terms up (a term that is the same for every sample is added $N$ times, "
                          "which cancels the $\\frac{1}{N}$).",
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
        "role.target": "Gradient with respect to the target (not needed for the update)",
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
        "example.rounded_places": "Decimals are rounded to at most {decimals} places after the point.",
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
        "conventions.names": "Generated names ({names}) stand for expressions several steps share; each is "
                             "written out where it is first used.",
        "code.heading": "Generated code",
        "code.intro": "The same steps as NumPy code (`Derivation.lambdify().source`):",
        "code.latexify": "Its gradient lines, rendered by latexify:",
        "code.no_latexify": "latexify is not installed here, so the code is shown as text only.",
        "efficiency.heading": "Efficiency of backpropagation",
        "efficiency.intro": "Backpropagation is efficient because it computes nothing twice. The operations it takes "
                            "on this network, per sample (one scalar +, −, ×, ÷ or power, or one function "
                            "application, element by element):",
        "efficiency.what": "",
        "efficiency.operations": "Operations",
        "efficiency.ratio": "× forward pass",
        "efficiency.forward": "Forward pass",
        "efficiency.backward": "Backward pass: the gradients of all ${p}$ parameters",
        "efficiency.backprop": "**Backpropagation**: 1 forward + 1 backward pass",
        "efficiency.page_naive": "Each parameter on its own, as the page counts it: ${p}$ forward passes",
        "efficiency.naive": "Each parameter on its own, measured: `sympy.diff` of the whole loss, once per parameter",
        "efficiency.claim": "The page says 1 forward + 1 backward pass costs about $2 \\times$ the forward pass; "
                            "here backpropagation takes ${ratio} \\times$ the forward pass (${backprop}$ operations).",
        "efficiency.counted": "Computing each parameter's gradient on its own takes one forward pass per parameter, "
                              "and the passes share nothing: ${p} \\times {forward} = {naive}$ operations, "
                              "${speedup} \\times$ backpropagation. This figure is counted from the forward pass's "
                              "operations, as the page counts it; it is not measured.",
        "efficiency.speedup": "Deriving each parameter's gradient on its own from the fully expanded loss shares "
                              "nothing: ${naive}$ operations, ${speedup} \\times$ backpropagation.",
        "efficiency.estimated": "The measured naive count is an estimate: ${derived}$ of the ${p}$ parameters were "
                                "derived with `sympy.diff`, and each weight's count was extrapolated from its mean "
                                "per element.",
        "efficiency.sample.one": "The sample is the first element of each parameter, the same on every run.",
        "efficiency.sample.two": "The sample is the first and the last element of each parameter, the same on "
                                 "every run.",
        "efficiency.sample.many": "The sample is ${k}$ evenly spaced elements of each parameter, the first and the "
                                  "last among them, the same on every run.",
        "efficiency.skipped": "The naive way was not measured: the fully expanded loss alone has ${loss}$ "
                              "operations, too many to differentiate once per parameter.",
        "efficiency.skipped_build": "The naive way was not measured: the forward pass has ${forward}$ operations, "
                                    "too many to expand the loss into one expression.",
        "flow.heading": "Gradient flow: vanishing and exploding gradients",
        "flow.intro": "By the [[Chain rule|chain rule]] the gradient that reaches a layer is a product of local "
                      "derivatives, from the loss down through every layer above it:",
        "flow.diag": "($\\operatorname{diag}(v)$ multiplies element by element by $v$.)",
        "flow.paths": "a sum over {n} paths from the loss",
        "flow.norms": "At the given values, the (Frobenius) norm of each layer's gradient and its ratio to the same "
                      "gradient of the top layer; a ratio below ${vanishing}$ counts as vanishing, above "
                      "${exploding}$ as exploding:",
        "flow.layer": "Layer",
        "flow.output": "Output",
        "flow.output_norm": "Gradient norm",
        "flow.relative": "Relative",
        "flow.weight": "Weight",
        "flow.weight_norm": "Gradient norm",
        "flow.status": "Status",
        "flow.status.ok": "ok",
        "flow.status.vanishing": "**vanishing**",
        "flow.status.exploding": "**exploding**",
        "flow.status.no reference": "no reference",
        "flow.vanishing": "**Vanishing gradient** at {names}: less than ${vanishing}$ of the top layer's gradient "
                          "reaches that far, so the first layers are hardly updated.",
        "flow.exploding": "**Exploding gradient** at {names}: more than ${exploding}$ times the top layer's gradient "
                          "reaches that far, so updates become unstable (gradient clipping helps).",
        "flow.healthy": "At these values no gradient vanishes (below ${vanishing}$ of the top layer's) or explodes "
                        "(above ${exploding}$ times).",
        "flow.end_to_end": "From the top layer down to layer {bottom}, the gradient norm is multiplied by about "
                           "${factor}$ per layer, as in the page's $0.5^{10} \\approx 0.001$ and $2^{10} = 1024$:",
        "flow.figure": "The gradient norm per layer:",
        "memory.heading": "Memory use",
        "memory.intro": "The backward pass reads these forward values, so the forward pass must store them:",
        "memory.item": "{value}: read to compute {readers}",
        "memory.none": "The backward pass reads no intermediate value, so the forward pass stores none.",
        "abridged.more": "… and {n} more",
        "abridged.rows": "$\\vdots$ stands for {n} more rows of the same form "
                         "(the option `abridge=None` writes them all).",
        "abridged.layers": "… {n} more layers of steps of the same form (the option `abridge=None` writes them all).",
        "memory.total": "In all ${n}$ numbers per sample, and ${total}$ for a batch of $N = {batch}$: memory grows "
                        "as layers × batch size × hidden size ({layers} layers here).",
        "memory.also": "The backward pass also reads the inputs (${inputs}$ numbers per sample) and the parameters "
                       "(${params}$ numbers), which are kept anyway.",
        "memory.checkpoint": "**Gradient checkpointing** that keeps only the output of {every} ({kept}) stores "
                             "${stored}$ numbers per sample instead of ${plain}$ (at most ${peak}$ held at once) "
                             "and recomputes the rest during the backward pass: ${ops}$ more operations per sample, "
                             "${ratio}$ forward passes.",
        "memory.every_layer": "every layer",
        "memory.every_layers": "one layer in every {k}",
        "memory.no_saving": "Gradient checkpointing would not save memory on this network.",
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
        "network.batch": "배치 크기가 $N$이라면 손실은 각 샘플 손실의 평균입니다. 각 샘플 손실은 적힌 그대로의 "
                         "손실이며, 샘플에 의존하지 않는 항(파라미터에 대한 벌점 등)은 모든 샘플 손실에 들어 있으므로 "
                         "평균에서 한 번 계산됩니다:",
        "network.shapes": "크기(shape):",
        "network.functions": "Python으로 정의한 함수:",
        "forward.heading": "Forward Pass",
        "forward.intro": "먼저 순방향으로 계산하며([[Forward Pass]]) 모든 중간 결과를 저장합니다:",
        "backward.heading": "Backward Pass",
        "backward.intro": "이제 역방향으로 gradient를 계산합니다. 시작점은 ${seed}$입니다.",
        "backward.batch": "아래 노드의 gradient는 샘플 하나의 것이며 이미 $\\frac{1}{N}$을 포함합니다. "
                          "파라미터는 모든 샘플이 공유하므로 그 gradient는 샘플별 항을 모두 더한 것입니다"
                          "(모든 샘플에서 같은 항은 $N$번 더해져 $\\frac{1}{N}$이 상쇄됩니다).",
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
        "role.target": "정답에 대한 gradient (업데이트에는 필요 없음)",
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
        "example.rounded_places": "소수는 소수점 아래 최대 {decimals}자리로 반올림했습니다.",
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
        "conventions.names": "생성된 이름({names})은 여러 단계가 함께 쓰는 식을 나타내며, "
                             "처음 쓰이는 곳에서 풀어 씁니다.",
        "code.heading": "생성된 코드",
        "code.intro": "같은 단계를 NumPy 코드로 옮긴 것입니다 (`Derivation.lambdify().source`):",
        "code.latexify": "gradient 계산 줄을 latexify로 표시하면:",
        "code.no_latexify": "latexify가 설치되어 있지 않아 코드만 보여줍니다.",
        "efficiency.heading": "역전파의 효율성",
        "efficiency.intro": "역전파가 효율적인 이유는 중복 계산을 제거하기 때문입니다. 이 신경망에서 샘플 하나당 "
                            "연산 수를 세면 다음과 같습니다 (스칼라 +, −, ×, ÷, 거듭제곱, 함수 적용을 원소별로 "
                            "하나씩 셉니다):",
        "efficiency.what": "",
        "efficiency.operations": "연산 수",
        "efficiency.ratio": "× forward pass",
        "efficiency.forward": "Forward pass",
        "efficiency.backward": "Backward pass: 파라미터 ${p}$개의 gradient 전부",
        "efficiency.backprop": "**역전파**: 1번의 forward + 1번의 backward pass",
        "efficiency.page_naive": "각 파라미터를 독립적으로 계산 (페이지의 계산): forward pass ${p}$번",
        "efficiency.naive": "각 파라미터를 독립적으로 계산 (측정): 파라미터마다 전체 손실을 `sympy.diff`",
        "efficiency.claim": "페이지는 1번의 forward + 1번의 backward pass의 비용을 forward 비용의 약 2배로 봅니다. "
                            "이 신경망에서 측정한 역전파의 비용은 forward pass의 ${ratio}$배 (연산 ${backprop}$개)"
                            "입니다.",
        "efficiency.counted": "각 파라미터의 gradient를 독립적으로 계산하면 파라미터마다 forward pass가 한 번씩 "
                              "필요하고 아무것도 공유하지 않습니다: 연산 ${p} \\times {forward} = {naive}$개, 곧 "
                              "역전파의 ${speedup}$배입니다. 이 값은 페이지처럼 forward pass의 연산 수로 센 것이며, "
                              "측정한 값이 아닙니다.",
        "efficiency.speedup": "각 파라미터의 gradient를 전개한 손실에서 따로따로 미분하면 아무것도 공유하지 않아 "
                              "연산 ${naive}$개, 곧 역전파의 ${speedup}$배가 필요합니다.",
        "efficiency.estimated": "측정한 값은 추정치입니다: 파라미터 ${p}$개 중 ${derived}$개만 `sympy.diff`로 "
                                "미분하고, 각 가중치의 값은 원소당 평균으로 외삽했습니다.",
        "efficiency.sample.one": "표본은 각 파라미터의 첫 원소이며, 실행할 때마다 같습니다.",
        "efficiency.sample.two": "표본은 각 파라미터의 첫 원소와 마지막 원소이며, 실행할 때마다 같습니다.",
        "efficiency.sample.many": "표본은 각 파라미터에서 고르게 떨어진 원소 ${k}$개 (첫 원소와 마지막 원소 포함)이며, "
                                  "실행할 때마다 같습니다.",
        "efficiency.skipped": "비효율적인 방법은 측정하지 않았습니다: 전개한 손실 자체가 연산 ${loss}$개라서 "
                              "파라미터마다 미분하기에는 너무 큽니다.",
        "efficiency.skipped_build": "비효율적인 방법은 측정하지 않았습니다: forward pass가 연산 ${forward}$개라서 "
                                    "손실을 하나의 식으로 전개하기에는 너무 큽니다.",
        "flow.heading": "Gradient 소실/폭발",
        "flow.intro": "[[Chain rule]]에 의해 각 층에 도달하는 gradient는 손실에서 그 층까지 위의 모든 층을 거치는 "
                      "국소 미분의 곱입니다:",
        "flow.diag": "($\\operatorname{diag}(v)$는 원소별로 $v$를 곱합니다.)",
        "flow.paths": "손실에서 오는 경로 {n}개의 합",
        "flow.norms": "주어진 값에서 각 층 gradient의 (Frobenius) norm과, 최상위 층의 같은 gradient에 대한 비율입니다. "
                      "비율이 ${vanishing}$ 미만이면 소실, ${exploding}$ 초과이면 폭발로 봅니다:",
        "flow.layer": "층",
        "flow.output": "출력",
        "flow.output_norm": "gradient norm",
        "flow.relative": "비율",
        "flow.weight": "가중치",
        "flow.weight_norm": "gradient norm",
        "flow.status": "상태",
        "flow.status.ok": "정상",
        "flow.status.vanishing": "**소실**",
        "flow.status.exploding": "**폭발**",
        "flow.status.no reference": "기준 없음",
        "flow.vanishing": "**Gradient 소실** ({names}): 최상위 층 gradient의 ${vanishing}$배보다 작은 gradient만 "
                          "도달하므로 초기 층의 파라미터는 거의 업데이트되지 않습니다.",
        "flow.exploding": "**Gradient 폭발** ({names}): 최상위 층 gradient의 ${exploding}$배보다 큰 gradient가 "
                          "도달하므로 파라미터가 불안정하게 변합니다 (gradient clipping이 도움이 됩니다).",
        "flow.healthy": "이 값에서는 소실(최상위 층의 ${vanishing}$배 미만)하거나 폭발(${exploding}$배 초과)하는 "
                        "gradient가 없습니다.",
        "flow.end_to_end": "최상위 층에서 {bottom}층까지 gradient의 norm은 층마다 약 ${factor}$배가 됩니다 "
                           "(페이지의 예: $0.5^{10} \\approx 0.001$, $2^{10} = 1024$):",
        "flow.figure": "층별 gradient norm:",
        "memory.heading": "메모리 사용",
        "memory.intro": "Backward pass가 다음 forward 값을 읽으므로 forward pass에서 저장해야 합니다:",
        "memory.item": "{value}: {readers} 계산에 사용",
        "memory.none": "Backward pass가 읽는 중간 값이 없으므로 forward pass는 아무것도 저장하지 않습니다.",
        "abridged.more": "… 외 {n}개",
        "abridged.rows": "같은 꼴의 식 {n}개를 생략한 자리를 $\\vdots$ 기호가 나타냅니다 "
                         "(`abridge=None` 옵션이면 모두 씁니다).",
        "abridged.layers": "… 같은 꼴의 층 {n}개의 단계를 생략합니다 (`abridge=None` 옵션이면 모두 씁니다).",
        "memory.total": "모두 합쳐 샘플 하나당 숫자 ${n}$개, 배치 크기 $N = {batch}$에서는 ${total}$개입니다. "
                        "메모리 사용량은 층 수 × 배치 크기 × hidden size에 비례합니다 (여기서는 층 {layers}개).",
        "memory.also": "Backward pass는 입력(샘플 하나당 ${inputs}$개)과 파라미터(${params}$개)도 읽지만, 이들은 "
                       "어차피 보관됩니다.",
        "memory.checkpoint": "{every} 출력만 보관하는 **gradient checkpointing** ({kept})은 샘플 하나당 "
                             "${plain}$개 대신 ${stored}$개를 저장하고 (동시에 최대 ${peak}$개), 나머지는 "
                             "backward pass 중에 다시 계산합니다: 샘플 하나당 연산 ${ops}$개, forward pass "
                             "${ratio}$번 분량이 추가됩니다.",
        "memory.every_layer": "모든 층의",
        "memory.every_layers": "{k}층마다 한 층의",
        "memory.no_saving": "이 신경망에서는 gradient checkpointing으로 메모리를 줄일 수 없습니다.",
    },
}

#: Words counted after a number in the sentences above, and their form after 1 ("$1$ number").
SINGULAR: dict[str, dict[str, str]] = {
    "en": {"numbers": "number", "operations": "operation", "parameters": "parameter", "forward passes": "forward pass",
           "layers": "layer"},
    "ko": {},
}
_COUNTED = sorted({word for table in SINGULAR.values() for word in table}, key=len, reverse=True)
_ONE = re.compile(r"(\$1\$|\b1) (more )?(" + "|".join(map(re.escape, _COUNTED)) + r")\b")

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
    A counted word after the number 1 takes its singular form (:data:`SINGULAR`).
    """

    def fill(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        return str(fields[match.group(1)]) if match.group(1) in fields else match.group(0)

    text = _FIELD.sub(fill, PROSE[lang][key])
    singular = SINGULAR[lang]
    return _ONE.sub(lambda m: f"{m.group(1)} {m.group(2) or ''}{singular[m.group(3)]}", text) if singular else text


def rule_sentences(keys: tuple[str, ...] | list[str], lang: str) -> str:
    """The registry's explanation of each rule, joined; English starts with a capital letter."""
    sentences = [RULES[key].explanation[lang] for key in dict.fromkeys(keys) if key in RULES]
    text = PROSE[lang]["rule.join"].join(sentences)
    return text[:1].upper() + text[1:] if lang == "en" else text
