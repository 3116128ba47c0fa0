"""The whole reference page (page="full"): the page's sections in its order, built from the document's network.

The headings below are the reference page's own (backpropagation.ko.md), transcribed in its order.
Golden files are compared exactly and rewritten only with SYMBACKPROP_REGEN_GOLDEN=1.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.rules import RULES
from symbackprop.torch_code import torch_code
from tests.test_printing import compare_golden
from tests.tooling import (
    compile_latex,
    html_math,
    katex_errors,
    markdown_math,
    need,
    require_katex,
    require_pdflatex,
)

#: The reference page's headings (level, text), in its order.
PAGE_HEADINGS = [
    (1, "Backpropagation"), (2, "정의"), (2, "왜 필요한가?"), (2, "기본 아이디어"), (2, "수학적 표현"),
    (3, "Forward Pass"), (3, "Backward Pass"), (2, "구체적 예시"), (3, "Forward Pass"), (3, "Backward Pass"),
    (2, "Chain Rule의 적용"), (2, "계산 그래프"), (2, "배치 처리에서의 역전파"), (2, "역전파의 효율성"),
    (2, "주의사항과 문제점"), (3, "Gradient 소실 (Vanishing Gradient)"), (3, "Gradient 폭발 (Exploding Gradient)"),
    (3, "메모리 사용"), (2, "PyTorch에서의 구현"), (2, "역전파의 역사적 의의"), (2, "핵심 요약"), (2, "관련 개념"),
]
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)


@pytest.fixture(scope="module")
def reference():
    return sbp.backprop(sbp.reference_network())


@pytest.fixture(scope="module")
def pages(reference):
    values = sbp.reference_values()
    return {lang: reference.to_markdown(values, page="full", lang=lang, decimals=2) for lang in ("en", "ko")}


def headings(markdown: str) -> list[tuple[int, str]]:
    found = []
    for line in _FENCE.sub("", markdown).splitlines():
        match = re.match(r"(#+) (.*)", line)
        if match:
            found.append((len(match.group(1)), match.group(2)))
    return found


def section(markdown: str, heading: str) -> str:
    """The text from a ``## heading`` to the next heading of level 2."""
    start = markdown.index(f"\n## {heading}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:end if end != -1 else len(markdown)]


def tanh_network() -> sbp.Network:
    """A three-layer tanh network with names of its own (p, q, A, c) and the mean squared error."""
    net = sbp.Network()
    h = net.input("u", (3, 1))
    t = net.input("t", (2, 1))
    for k, (rows, cols) in enumerate([(4, 3), (3, 4), (2, 3)], start=1):
        A = net.param(f"A{k}", (rows, cols))
        c = net.param(f"c{k}", (rows, 1))
        h = net.node(f"p{k}", A @ h + c)
        if k < 3:
            h = net.node(f"q{k}", sbp.tanh(h))
    net.loss("J", sbp.mse(h, t))
    return net


def tanh_values(net: sbp.Network) -> dict:
    rng = np.random.default_rng(7)
    return {q.name: rng.normal(size=q.shape) for q in net.quantities() if q.kind in ("input", "param")}


# -- golden files -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_full_reference_page_matches_its_golden_file(pages, lang):
    compare_golden(f"reference-full.{lang}.md", pages[lang])


def test_the_derivation_stays_the_default(reference):
    values = sbp.reference_values()
    assert reference.to_markdown(values, lang="ko") == reference.to_markdown(values, lang="ko", page="derivation")
    assert "## 정의" not in reference.to_markdown(values, lang="ko")


# -- sections, in the page's order --------------------------------------------------------------


def test_every_heading_of_the_page_is_there_in_its_order(pages):
    ours = headings(pages["ko"])
    remaining = iter(ours)
    missing = [h for h in PAGE_HEADINGS if h not in remaining]  # a subsequence, in order
    assert not missing, missing
    # presence follows the page: no section of its own
    assert [h for h in ours if h[0] <= 2] == [h for h in PAGE_HEADINGS if h[0] <= 2]


def test_english_has_the_same_structure(pages):
    en, ko = headings(pages["en"]), headings(pages["ko"])
    assert [level for level, _ in en] == [level for level, _ in ko]
    assert en[0] == (1, "Backpropagation")
    assert ["Definition", "Why is it needed?", "The basic idea"] == [text for level, text in en if level == 2][:3]
    assert pages["en"].count("\n---\n") == pages["ko"].count("\n---\n")


def test_the_pages_numbers_to_two_decimals(pages):
    example = section(pages["ko"], "구체적 예시")
    assert re.search(r"^z_\{2\} &= .* = 1\.78 \\\\$", example, re.M)
    assert re.search(r"^L &= .* = 0\.74$", example, re.M)
    assert re.search(r"^\\frac\{\\partial L\}\{\\partial h_\{2\}\} &= .* = -1\.22 \\\\$", example, re.M)
    assert re.search(r"^\\frac\{\\partial L\}\{\\partial W_\{2\}\} &= .* = \\begin\{bmatrix\} -1\.46 & -1\.46 "
                     r"\\end\{bmatrix\}", example, re.M)
    assert re.search(r"^\\frac\{\\partial L\}\{\\partial W_\{1\}\} &= .* = \\begin\{bmatrix\} -0\.73 & -1\.46 \\\\",
                     example, re.M)
    torch = section(pages["ko"], "PyTorch에서의 구현")
    assert r"| `0.weight` | $W_{1}$ | $\begin{bmatrix} -0.73 & -1.46 \\" in torch
    assert r"| `2.bias` | $b_{2}$ | $-1.22$ |" in torch


def test_the_opening_counts_this_networks_layers_and_parameters():
    net = sbp.mlp([3, 4, 3, 2], activation="tanh", output_activation="tanh", loss="mse")
    page = sbp.backprop(net).to_markdown(page="full", lang="ko", sections=())
    size = sum(q.size for q in net.params)  # 4·3+4 + 3·4+3 + 2·3+2
    assert size == 39
    why = section(page, "왜 필요한가?")
    assert "이 3층 신경망을 생각해봅시다:" in why
    assert f"파라미터가 ${size}$개라면" in why
    assert r"\text{층3}(W_{3}, b_{3}) \rightarrow \text{출력}(" in why
    assert "그 뒤의 층(층2, 층3)을 거쳐서" in why


# -- the graph and its node rules ---------------------------------------------------------------


def test_the_graph_is_the_reference_networks(pages):
    graph = section(pages["ko"], "계산 그래프")
    assert r"x & \xrightarrow{\times} [W_{1}] \xrightarrow{+} [b_{1}] \longrightarrow z_{1}" in graph
    assert r"z_{1} & \xrightarrow{\operatorname{ReLU}} h_{1}" in graph
    assert r"h_{2} & \xrightarrow{" in graph and r"[y] \longrightarrow L" in graph
    for rule in ("add", "matmul", "relu"):
        label, rest = RULES[rule].explanation["ko"].split(":", 1)
        assert f"- **{label}**:{rest}" in graph
    # the loss's rule in math: the formula its step derived
    assert r"$\frac{\partial L}{\partial h_{2}} = h_{2} - y$ 형태로 gradient 계산" in graph
    order = [graph.index(f"**{RULES[r].explanation['ko'].split(':')[0]}**") for r in ("add", "matmul", "relu")]
    assert order == sorted(order)  # in the order the forward pass meets them, as the page lists them


def test_the_graph_of_another_network_has_its_own_names_and_rules():
    net = tanh_network()
    page = sbp.backprop(net).to_markdown(tanh_values(net), page="full", lang="en", sections=())
    graph = section(page, "Computational graph")
    for name in ("u", "A_{1}", "c_{1}", "p_{1}", "q_{1}", "A_{3}", "p_{3}", "J", "[t]"):
        assert name in graph, name
    for name in ("W_{1}", "b_{1}", "z_{1}", "h_{1}", "h_{2}"):
        assert name not in graph, name
    assert RULES["tanh"].explanation["en"].capitalize()[:20] in graph
    assert "ReLU" not in graph
    assert r"\xrightarrow{\tanh} q_{1}" in graph


# -- the batch -----------------------------------------------------------------------------------


def test_the_batch_section_has_this_networks_batch_formulas(pages):
    batch = section(pages["en"], "Backpropagation in batches")
    assert r"L &= \frac{1}{N} \sum_{i=1}^{N} L_{i}" in batch
    for name in ("W_{1}", "b_{1}", "W_{2}", "b_{2}"):
        assert rf"\frac{{\partial L}}{{\partial {name}}} &= \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} " \
               rf"\frac{{\partial L_{{i}}}}{{\partial {name}}}" in batch
    # each sample's term, as the batch derivation recorded it
    assert r"= \sum_{i=1}^{N} \frac{\partial L}{\partial z_{1}} \, x^{\top}" in batch
    assert r"\frac{\partial L}{\partial h_{2}} &= \frac{1}{N} \left(h_{2} - y\right)" in batch


def test_the_batch_section_of_another_network():
    net = tanh_network()
    batch = section(sbp.backprop(net).to_markdown(page="full", sections=()), "Backpropagation in batches")
    assert r"\frac{\partial J}{\partial A_{2}} &= \frac{1}{N}" in batch
    assert "W_{1}" not in batch


def test_the_batch_section_stacks_each_quantity_on_a_first_axis():
    net = sbp.Network()
    X = net.input("X", (3, 2))
    W = net.param("W", (2, 4))
    c = net.param("c", (4, 1))
    S = net.node("S", X @ W)
    v = net.node("v", sbp.tanh(S) @ c)
    net.loss("L", sbp.total(v * v))
    batch = section(sbp.backprop(net).to_markdown(page="full", sections=()), "Backpropagation in batches")
    for name, stacked in (("X", r"N \times 3 \times 2"), ("S", r"N \times 3 \times 4"), ("v", r"N \times 3")):
        assert rf"${name} \in \mathbb{{R}}^{{{stacked}}}$" in batch, name


# -- PyTorch -------------------------------------------------------------------------------------


def _code_block(text: str) -> str:
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


@pytest.mark.slow
def test_the_pages_pytorch_code_prints_our_gradients(pages, reference):
    need(importlib.util.find_spec("torch") is not None, "torch is not installed (pip install torch==2.13.0)")
    code = _code_block(section(pages["en"], "Implementation in PyTorch"))
    assert code == torch_code(reference.network, sbp.reference_values())
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    printed = dict(re.findall(r"^(\S+): tensor\((.*?)\)$", run.stdout, re.S | re.M))
    grad = reference.evaluate(sbp.reference_values()).grad
    for torch_name, name in {"0.weight": "W1", "0.bias": "b1", "2.weight": "W2", "2.bias": "b2"}.items():
        numbers = [float(n) for n in re.findall(r"-?\d+\.\d*(?:e[+-]?\d+)?", printed[torch_name])]
        np.testing.assert_allclose(numbers, np.ravel(grad[name]), atol=1e-6)


def test_a_network_pytorch_cannot_express_gets_a_message():
    net = sbp.Network()
    x = net.input("x", (2, 1))
    y = net.input("y", (2, 1))
    W = net.param("W1", (2, 2))
    z = net.node("z1", W @ x + x)  # a skip connection: no nn.Sequential of Linear layers
    net.loss("L", sbp.mse(z, y))
    d = sbp.backprop(net)
    for lang, phrase in (("en", "no PyTorch program is written"), ("ko", "PyTorch 코드를 만들지 않았습니다")):
        torch = d.to_markdown(page="full", lang=lang, sections=()).split("\n## ")
        text = next(s for s in torch if s.startswith(("Implementation in PyTorch", "PyTorch에서의 구현")))
        assert phrase in text and "```python" not in text


def test_without_values_the_page_has_no_worked_example_and_runnable_structure(reference):
    page = reference.to_markdown(page="full", sections=())
    assert "## Worked example" not in page
    assert "x = torch.rand(1, 2)" in section(page, "Implementation in PyTorch")


# -- links, math and the writers -----------------------------------------------------------------


def test_markdown_keeps_wikilinks_and_latex_writes_words(reference, pages):
    related = section(pages["ko"], "관련 개념")
    assert "- [[Machine Learning Basics]] - 머신러닝 기본 원리" in related
    assert "[[Optimization Algorithms]]" in related
    tex = reference.to_latex(sbp.reference_values(), page="full", lang="ko", decimals=2)
    assert "[[Optimization" not in tex and "Optimization Algorithms" in tex


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_full_page_compiles_with_pdflatex(reference, lang):
    require_pdflatex(korean=lang == "ko")
    source = reference.to_latex(sbp.reference_values(), page="full", lang=lang, decimals=2, standalone=True)
    compiled = compile_latex(source)
    assert compiled.ok, compiled.errors or compiled.log[-2000:]
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide", compiled.log)]
    assert all(w <= 1 for w in widths), widths


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_full_pages_math_parses_with_katex(reference, pages, lang):
    require_katex()
    html = reference.to_html(sbp.reference_values(), page="full", lang=lang, decimals=2, katex="cdn")
    formulas = markdown_math(pages[lang]) + html_math(html)
    assert len(formulas) > 100
    assert katex_errors(formulas) == []


def test_the_command_writes_the_full_page(tmp_path, pages):
    run = subprocess.run([sys.executable, "-m", "symbackprop", "derive", "--page", "full", "--lang", "ko",
                          "--decimals", "2", "-o", "page.md"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "page.md").read_text(encoding="utf-8") == pages["ko"]
