"""The whole reference page's own prose, one table per language.

The Korean table keeps the page's wording (정의, 왜 필요한가?, 기본 아이디어 …); the English
one translates it.  Where the page gives a number of its example network (three layers, the
parameters to differentiate), a field takes this network's.  Korean particles never follow a
formula or a field, so no sentence depends on how a name or a number is pronounced.
"""

from __future__ import annotations

import re

PAGE_PROSE: dict[str, dict[str, str]] = {
    "en": {
        "title": "Backpropagation",
        # 정의
        "definition.heading": "Definition",
        "definition.text": "**Backpropagation** is the algorithm that efficiently computes the [[Gradient|gradient]] "
                           "of the loss with respect to every parameter of a neural network. The name says how it "
                           "runs: it starts at the loss function and propagates backwards, from the output layer "
                           "towards the input layer.",
        "definition.loss": "loss",
        "definition.output": "output layer",
        "definition.layer": "layer {k}",
        "definition.goal": "Training a neural network means finding the parameters that minimise the "
                           "[[Loss Function|loss function]]. Backpropagation computes every gradient this needs in "
                           "a single pass: here the gradients of all ${p}$ parameters of this network.",
        # 왜 필요한가?
        "why.heading": "Why is it needed?",
        "why.network": "Consider this network with {layers} layers:",
        "why.network.one": "Consider this network with one layer:",
        "why.input": "input",
        "why.output": "output",
        "why.derivatives": "As [[Machine Learning Basics|machine learning basics]] teach, training needs the "
                           "derivative of the loss with respect to every parameter:",
        "why.problem": "The trouble is that a parameter of the first layer (${first}$) affects the loss only "
                       "through the layers after it ({through}). It is not a direct relation but a complicated "
                       "one, through several steps.",
        "why.independent": "If each parameter's gradient were computed on its own:",
        "why.here": "with this network's ${p}$ parameters, ${p}$ computations",
        "why.ten_thousand": "with 10,000 parameters, 10,000 computations",
        "why.hundred_million": "with 100 million parameters, 100 million computations",
        "why.solution": "That is not practical. Backpropagation solves the problem and computes every gradient "
                        "with **a single forward pass and a single backward pass**.",
        # 기본 아이디어
        "idea.heading": "The basic idea",
        "idea.text": "The key idea of backpropagation is to apply the [[Chain rule|chain rule]] systematically.",
        "idea.delivery": "Think of planning deliveries. Rather than driving out to each of 100 houses "
                         "separately, it is efficient to visit all of them on one best route. Backpropagation "
                         "does the same: instead of computing each parameter's gradient separately, it collects "
                         "all of them in one backward pass.",
        "idea.forward": "**During the forward pass:**",
        "idea.forward.store": "compute each layer's output and store the intermediate results",
        "idea.forward.need": "those intermediate results are needed later for the gradients",
        "idea.forward.here": "in this network they are {names}",
        "idea.backward": "**During the backward pass:**",
        "idea.backward.start": "start at the loss and go back one layer at a time",
        "idea.backward.chain": "apply the [[Chain rule|chain rule]] to get each layer's gradients",
        "idea.backward.reuse": "reuse the current layer's gradient to compute the previous layer's",
        "idea.backward.here": "in this network the backward pass below takes {n} chain-rule steps",
        # 계산 그래프
        "graph.heading": "Computational graph",
        "graph.intro": "Another way to understand backpropagation is the computational graph. Every operation "
                       "carried out during the [[Forward Pass|forward pass]] is drawn as a graph.",
        "graph.forward": "**Forward pass graph** (a name in brackets is the operation's other input):",
        "graph.backward": "**Backward pass:** follow this graph backwards and compute the gradient at each node. "
                          "Each operation knows how to compute the gradient with respect to its inputs; the "
                          "operations of this network:",
        "graph.loss": "**The loss**: the gradient starts as ${formula}$",
        "graph.outro": "Each node receives the gradient with respect to its output, computes the gradient with "
                       "respect to its inputs and passes it on to the node before. This chain of passes is "
                       "backpropagation.",
        # 배치 처리에서의 역전파
        "batch.heading": "Backpropagation in batches",
        "batch.intro": "In practice several samples are processed at once. With a batch of $N$ samples:",
        "batch.forward": "**Forward pass:** the same equations for every sample, and the loss is the mean of the "
                         "samples' losses:",
        "batch.shapes": "With the samples on a first axis, one per row (as PyTorch stores a batch): {shapes}.",
        "batch.backward": "**Backward pass:** compute each sample's gradient, then take the mean:",
        "batch.terms": "Each term of the sums on the right is one sample's, and already carries the factor "
                       "${seed}$.",
        "batch.torch": "PyTorch does this automatically, so the same code works for one sample and for a batch.",
        # 역전파의 효율성
        "efficiency.heading": "Efficiency of backpropagation",
        "efficiency.intro": "Backpropagation is efficient because it removes repeated computation.",
        "efficiency.naive": "**The inefficient way (each parameter on its own):**",
        "efficiency.naive.count": "${p}$ parameters (in this network)",
        "efficiency.naive.forward": "a forward pass for each gradient",
        "efficiency.naive.total": "in all $O(p \\times \\text{forward cost})$",
        "efficiency.backprop": "**Backpropagation:**",
        "efficiency.backprop.forward": "1 forward pass",
        "efficiency.backprop.backward": "1 backward pass (about the cost of the forward pass)",
        "efficiency.backprop.total": "in all $O(2 \\times \\text{forward cost})$",
        "efficiency.measured": "Counted on this network, per sample (one scalar +, −, ×, ÷ or power, or one "
                               "function application, element by element):",
        "efficiency.example": "For example, in a model with 100 million parameters:",
        "efficiency.example.naive": "the inefficient way: 100 million forward passes",
        "efficiency.example.backprop": "backpropagation: 1 forward + 1 backward pass",
        "efficiency.outro": "The difference in speed is a factor of hundreds of millions. Without backpropagation "
                            "modern deep learning would have been impossible.",
        # 주의사항과 문제점
        "caveats.heading": "Pitfalls and problems",
        "vanishing.heading": "Vanishing gradient",
        "vanishing.text": "In a deep network the [[Chain rule|chain rule]] multiplies many gradients together, "
                          "and the product can shrink and shrink:",
        "vanishing.small": "If each factor is below 1 (say 0.5), the gradient gets closer to 0 the deeper the "
                           "network:",
        "vanishing.effect": "The first layers' parameters are hardly updated, and the network does not learn "
                            "properly.",
        "fixes": "**Remedies:**",
        "vanishing.fix.relu": "activation functions such as ReLU",
        "vanishing.fix.norm": "Batch Normalization",
        "vanishing.fix.residual": "Residual Connections (ResNet)",
        "vanishing.fix.init": "a suitable weight initialisation",
        "exploding.heading": "Exploding gradient",
        "exploding.text": "Conversely, if each factor is above 1, the gradient grows explosively:",
        "exploding.effect": "The parameters change erratically and the loss becomes `NaN`.",
        "exploding.more": "A small learning rate and a suitable weight initialisation help too.",
        "flow.heading": "Gradient flow in this network",
        "memory.heading": "Memory use",
        "memory.text": "Backpropagation needs every intermediate result of the forward pass to be stored. With "
                       "deep networks and large batches, memory use grows quickly.",
        "memory.formula": "**Memory use:**",
        "memory.checkpoint": "Very deep networks can save memory with techniques such as gradient checkpointing.",
        # PyTorch에서의 구현
        "pytorch.heading": "Implementation in PyTorch",
        "pytorch.intro": "PyTorch carries out backpropagation automatically. This network in PyTorch, with the "
                         "values above:",
        "pytorch.intro_structure": "PyTorch carries out backpropagation automatically. This network in PyTorch "
                                   "(no values were given, so the parameters keep PyTorch's initial values and "
                                   "the input and target are random):",
        "pytorch.prints": "What it prints, the `.grad` of every parameter (here computed by the derivation above, "
                          "not by PyTorch):",
        "pytorch.parameter": "parameter",
        "pytorch.called": "Calling `loss.backward()`:",
        "pytorch.called.walk": "walks the computational graph backwards",
        "pytorch.called.chain": "applies the [[Chain rule|chain rule]] automatically",
        "pytorch.called.store": "stores the gradient in every parameter's `.grad`",
        "pytorch.outro": "A developer need not mind the mathematical details of backpropagation and only defines "
                         "the model's structure. Understanding how it works inside, though, helps a great deal "
                         "with debugging and optimisation.",
        "pytorch.unsupported": "This network is not an `nn.Sequential` of `nn.Linear` and activation modules "
                               "(layers $z_k = W_k h_{k-1} + b_k$ and $h_k = f(z_k)$ with PyTorch's activations, "
                               "and a loss of the last output against one target), so no PyTorch program is "
                               "written for it here.",
        # 역전파의 역사적 의의
        "history.heading": "Historical significance of backpropagation",
        "history.text": "The backpropagation algorithm was popularised in 1986 by Rumelhart, Hinton and Williams. "
                        "Similar ideas existed before, but their paper made training neural networks practical.",
        "history.before": "Before backpropagation:",
        "history.before.depth": "neural networks were limited to 2–3 layers",
        "history.before.each": "each parameter was optimised on its own",
        "history.before.cost": "the computational cost was too high to be practical",
        "history.after": "After backpropagation:",
        "history.after.depth": "networks of any depth can be trained",
        "history.after.efficient": "gradients are computed efficiently",
        "history.after.base": "the foundation of modern deep learning",
        "history.outro": "Backpropagation is one of the key techniques of the deep learning revolution. By "
                         "applying a simple mathematical principle, the chain rule, systematically, it made it "
                         "possible to train hundreds of millions of parameters efficiently.",
        # 핵심 요약
        "summary.heading": "Key points",
        "summary.all": "Backpropagation efficiently computes the gradient of every parameter of a neural network "
                       "(all ${p}$ of them here)",
        "summary.chain": "It applies the [[Chain rule|chain rule]] systematically and gets every gradient in one "
                         "pass",
        "summary.store": "The forward pass stores the intermediate results, the backward pass computes the "
                         "gradients",
        "summary.graph": "It walks the computational graph backwards, propagating the gradient at each node",
        "summary.problems": "Watch out for vanishing and exploding gradients",
        "summary.autograd": "PyTorch's [[Autograd]] does it automatically",
        # 관련 개념
        "related.heading": "Related concepts",
        "related.before": "**Prerequisites:**",
        "related.ml": "[[Machine Learning Basics]] - the basic principles of machine learning",
        "related.gradient": "[[Gradient]] - what a gradient means and does",
        "related.forward": "[[Forward Pass]] - the forward pass",
        "related.core": "**Core concepts:**",
        "related.chain": "[[Chain rule]] - the mathematical basis of backpropagation",
        "related.deep": "[[Deep Learning Core Concepts]] - the overall structure of deep learning",
        "related.next": "**Next steps:**",
        "related.autograd": "[[Autograd]] - PyTorch's automatic differentiation",
        "related.optimization": "[[Optimization Algorithms]] - optimisation with gradients",
    },
    "ko": {
        "title": "Backpropagation",
        "definition.heading": "정의",
        "definition.text": "**역전파(Backpropagation)** 는 신경망의 각 파라미터에 대한 [[Gradient]]를 효율적으로 "
                           "계산하는 알고리즘입니다. “역전파”라는 이름은 손실 함수에서 시작하여 출력층에서 입력층 "
                           "방향으로 거꾸로 전파되기 때문에 붙었습니다.",
        "definition.loss": "손실",
        "definition.output": "출력층",
        "definition.layer": "층{k}",
        "definition.goal": "신경망 학습의 핵심은 [[Loss Function]]을 최소화하는 파라미터를 찾는 것입니다. 역전파는 "
                           "이를 위해 필요한 gradient를 단 한 번의 pass로 모두 계산합니다. 이 신경망에서는 파라미터 "
                           "${p}$개의 gradient입니다.",
        "why.heading": "왜 필요한가?",
        "why.network": "이 {layers}층 신경망을 생각해봅시다:",
        "why.network.one": "이 1층 신경망을 생각해봅시다:",
        "why.input": "입력",
        "why.output": "출력",
        "why.derivatives": "[[Machine Learning Basics]]에서 배웠듯이, 학습하려면 각 파라미터에 대한 손실의 미분을 "
                           "계산해야 합니다:",
        "why.problem": "문제는 초기 층의 파라미터(${first}$)가 손실에 미치는 영향이 그 뒤의 층({through})을 거쳐서 "
                       "나타난다는 것입니다. 직접적인 관계가 아니라 여러 단계를 거친 복잡한 관계입니다.",
        "why.independent": "만약 각 파라미터의 gradient를 독립적으로 계산한다면:",
        "why.here": "이 신경망처럼 파라미터가 ${p}$개라면 ${p}$번의 계산 필요",
        "why.ten_thousand": "파라미터가 1만 개라면 1만 번의 계산 필요",
        "why.hundred_million": "파라미터가 1억 개라면 1억 번의 계산 필요",
        "why.solution": "이는 실용적이지 않습니다. 역전파는 이 문제를 해결하여 **단 한 번의 forward pass와 한 번의 "
                        "backward pass**로 모든 gradient를 계산합니다.",
        "idea.heading": "기본 아이디어",
        "idea.text": "역전파의 핵심 아이디어는 [[Chain rule]](연쇄 법칙)을 체계적으로 적용하는 것입니다.",
        "idea.delivery": "배달 경로를 최적화하는 상황을 생각해봅시다. 100개의 집에 각각 개별적으로 배달하러 가는 "
                         "대신, 한 번의 최적 경로로 모든 집을 방문하는 것이 효율적입니다. 역전파도 마찬가지입니다. "
                         "각 파라미터의 gradient를 따로따로 계산하는 대신, 한 번의 역방향 pass로 모든 gradient를 "
                         "수집합니다.",
        "idea.forward": "**Forward pass 중:**",
        "idea.forward.store": "각 층의 출력을 계산하면서 중간 결과를 저장",
        "idea.forward.need": "이 중간 결과들은 나중에 gradient 계산에 필요",
        "idea.forward.here": "이 신경망의 중간 결과: {names}",
        "idea.backward": "**Backward pass 중:**",
        "idea.backward.start": "손실에서 시작하여 한 층씩 거슬러 올라감",
        "idea.backward.chain": "[[Chain rule]]을 적용하여 각 층의 gradient 계산",
        "idea.backward.reuse": "이전 층의 gradient 계산에 현재 층의 gradient 재사용",
        "idea.backward.here": "이 신경망에서는 아래 Backward Pass의 chain rule 단계 {n}개",
        "graph.heading": "계산 그래프",
        "graph.intro": "역전파를 이해하는 또 다른 방법은 계산 그래프(computational graph)입니다. [[Forward Pass]] "
                       "중에 수행된 모든 연산을 그래프로 표현합니다.",
        "graph.forward": "**Forward pass 그래프** (대괄호 안의 이름은 연산의 다른 입력):",
        "graph.backward": "**Backward pass:** 이 그래프를 거꾸로 따라가며 각 노드에서 gradient를 계산합니다. 각 "
                          "연산은 자신의 입력에 대한 gradient를 계산하는 방법을 알고 있습니다. 이 신경망의 연산은:",
        "graph.loss": "**{label}**: ${formula}$ 형태로 gradient 계산",
        "graph.outro": "각 노드는 자신의 출력에 대한 gradient를 받아서, 자신의 입력에 대한 gradient를 계산하여 이전 "
                       "노드로 전달합니다. 이 과정이 연쇄적으로 일어나는 것이 역전파입니다.",
        "batch.heading": "배치 처리에서의 역전파",
        "batch.intro": "실전에서는 여러 샘플을 동시에 처리합니다. 샘플 $N$개의 배치라면:",
        "batch.forward": "**Forward pass:** 모든 샘플에 같은 식을 적용하고, 손실은 샘플 손실의 평균입니다:",
        "batch.shapes": "샘플을 첫 번째 축에 하나씩 쌓으면 (PyTorch가 배치를 저장하는 방식): {shapes}.",
        "batch.backward": "**Backward pass:** 각 샘플의 gradient를 계산한 후 평균을 냅니다:",
        "batch.terms": "오른쪽 합의 각 항은 샘플 하나의 값이며, 배치 평균의 인수가 이미 들어 있습니다: ${seed}$.",
        "batch.torch": "PyTorch는 이를 자동으로 처리하므로, 단일 샘플이든 배치든 같은 코드로 작동합니다.",
        "efficiency.heading": "역전파의 효율성",
        "efficiency.intro": "역전파가 효율적인 이유는 중복 계산을 제거하기 때문입니다.",
        "efficiency.naive": "**비효율적인 방법 (각 파라미터를 독립적으로 계산):**",
        "efficiency.naive.count": "파라미터 ${p}$개 (이 신경망)",
        "efficiency.naive.forward": "각 gradient 계산에 forward pass 필요",
        "efficiency.naive.total": "총 $O(p \\times \\text{forward cost})$",
        "efficiency.backprop": "**역전파:**",
        "efficiency.backprop.forward": "1번의 forward pass",
        "efficiency.backprop.backward": "1번의 backward pass (forward와 비슷한 비용)",
        "efficiency.backprop.total": "총 $O(2 \\times \\text{forward cost})$",
        "efficiency.measured": "이 신경망에서 샘플 하나당 연산 수를 세면 다음과 같습니다 (스칼라 +, −, ×, ÷, "
                               "거듭제곱, 함수 적용을 원소별로 하나씩 셉니다):",
        "efficiency.example": "예를 들어 파라미터가 1억 개인 모델에서:",
        "efficiency.example.naive": "비효율적 방법: 1억 번 forward pass",
        "efficiency.example.backprop": "역전파: 1번 forward + 1번 backward",
        "efficiency.outro": "속도 차이가 수억 배입니다. 역전파가 없었다면 현대의 딥러닝은 불가능했을 것입니다.",
        "caveats.heading": "주의사항과 문제점",
        "vanishing.heading": "Gradient 소실 (Vanishing Gradient)",
        "vanishing.text": "깊은 신경망에서 [[Chain rule]]에 의해 여러 gradient가 곱해지면서 값이 점점 작아질 수 "
                          "있습니다:",
        "vanishing.small": "각 항이 1보다 작으면 (예: 0.5), 층이 깊어질수록 gradient가 0에 가까워집니다:",
        "vanishing.effect": "초기 층의 파라미터는 거의 업데이트되지 않아 학습이 제대로 이루어지지 않습니다.",
        "fixes": "**해결 방법:**",
        "vanishing.fix.relu": "ReLU 같은 활성화 함수 사용",
        "vanishing.fix.norm": "Batch Normalization",
        "vanishing.fix.residual": "Residual Connection (ResNet)",
        "vanishing.fix.init": "적절한 가중치 초기화",
        "exploding.heading": "Gradient 폭발 (Exploding Gradient)",
        "exploding.text": "반대로 각 항이 1보다 크면 gradient가 폭발적으로 커집니다:",
        "exploding.effect": "파라미터가 불안정하게 변하고 손실이 `NaN`이 됩니다.",
        "exploding.more": "작은 학습률과 적절한 가중치 초기화도 도움이 됩니다.",
        "flow.heading": "이 신경망의 gradient 흐름",
        "memory.heading": "메모리 사용",
        "memory.text": "역전파를 위해서는 forward pass의 모든 중간 결과를 저장해야 합니다. 층이 깊고 배치 크기가 "
                       "크면 메모리 사용량이 급증합니다.",
        "memory.formula": "**메모리 사용량:**",
        "memory.checkpoint": "매우 깊은 네트워크에서는 gradient checkpointing 같은 기법을 사용하여 메모리를 절약할 수 "
                             "있습니다.",
        "pytorch.heading": "PyTorch에서의 구현",
        "pytorch.intro": "PyTorch는 역전파를 자동으로 처리합니다. 이 신경망을 위의 값으로 PyTorch에 옮기면:",
        "pytorch.intro_structure": "PyTorch는 역전파를 자동으로 처리합니다. 이 신경망을 PyTorch에 옮기면 (값이 "
                                   "주어지지 않았으므로 파라미터는 PyTorch의 초기값, 입력과 정답은 난수):",
        "pytorch.prints": "출력되는 모든 파라미터의 `.grad` (여기서는 PyTorch가 아니라 위의 유도로 계산한 값):",
        "pytorch.parameter": "파라미터",
        "pytorch.called": "`loss.backward()`를 호출하면:",
        "pytorch.called.walk": "계산 그래프를 거꾸로 순회",
        "pytorch.called.chain": "[[Chain rule]]을 자동으로 적용",
        "pytorch.called.store": "모든 파라미터의 `.grad`에 gradient 저장",
        "pytorch.outro": "개발자는 역전파의 수학적 세부사항을 신경 쓸 필요 없이, 모델 구조만 정의하면 됩니다. 하지만 "
                         "내부 원리를 이해하면 디버깅과 최적화에 큰 도움이 됩니다.",
        "pytorch.unsupported": "이 신경망은 `nn.Linear`와 활성화 모듈로 이루어진 `nn.Sequential`로 나타낼 수 "
                               "없으므로 (PyTorch의 활성화 함수를 쓰는 층 $z_k = W_k h_{k-1} + b_k$, "
                               "$h_k = f(z_k)$와 마지막 출력 및 정답 하나의 손실), 여기서는 PyTorch 코드를 만들지 "
                               "않았습니다.",
        "history.heading": "역전파의 역사적 의의",
        "history.text": "역전파 알고리즘은 1986년 Rumelhart, Hinton, Williams에 의해 대중화되었습니다. 이전에도 "
                        "유사한 아이디어가 있었지만, 이들의 논문이 신경망 학습을 실용적으로 만들었습니다.",
        "history.before": "역전파 이전에는:",
        "history.before.depth": "신경망이 2-3층으로 제한",
        "history.before.each": "각 파라미터를 독립적으로 최적화",
        "history.before.cost": "계산 비용이 너무 커서 실용성 낮음",
        "history.after": "역전파 이후:",
        "history.after.depth": "임의의 깊이의 신경망 학습 가능",
        "history.after.efficient": "효율적인 gradient 계산",
        "history.after.base": "현대 딥러닝의 기초",
        "history.outro": "역전파는 딥러닝 혁명의 핵심 기술 중 하나입니다. Chain rule이라는 간단한 수학적 원리를 "
                         "체계적으로 적용하여, 수억 개의 파라미터를 효율적으로 학습할 수 있게 만들었습니다.",
        "summary.heading": "핵심 요약",
        "summary.all": "역전파는 신경망의 모든 파라미터에 대한 gradient를 효율적으로 계산 (이 신경망에서는 "
                       "${p}$개)",
        "summary.chain": "[[Chain rule]]을 체계적으로 적용하여 한 번의 pass로 모든 gradient 계산",
        "summary.store": "Forward pass에서 중간 결과 저장, backward pass에서 gradient 계산",
        "summary.graph": "계산 그래프를 거꾸로 순회하며 각 노드에서 gradient 전파",
        "summary.problems": "Gradient 소실/폭발 문제 주의 필요",
        "summary.autograd": "PyTorch의 [[Autograd]]가 자동으로 처리",
        "related.heading": "관련 개념",
        "related.before": "**선수 지식:**",
        "related.ml": "[[Machine Learning Basics]] - 머신러닝 기본 원리",
        "related.gradient": "[[Gradient]] - Gradient의 의미와 역할",
        "related.forward": "[[Forward Pass]] - 순전파 과정",
        "related.core": "**핵심 개념:**",
        "related.chain": "[[Chain rule]] - 역전파의 수학적 기초",
        "related.deep": "[[Deep Learning Core Concepts]] - 딥러닝 전체 구조",
        "related.next": "**다음 단계:**",
        "related.autograd": "[[Autograd]] - PyTorch의 자동 미분 시스템",
        "related.optimization": "[[Optimization Algorithms]] - Gradient를 사용한 최적화",
    },
}

_FIELD = re.compile(r"\{\{|\}\}|\{(\w+)\}")


def page_say(lang: str, key: str, **fields: object) -> str:
    """The sentence ``key`` in ``lang``, only the given ``{fields}`` filled (LaTeX braces stay)."""

    def fill(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        return str(fields[match.group(1)]) if match.group(1) in fields else match.group(0)

    return _FIELD.sub(fill, PAGE_PROSE[lang][key])
