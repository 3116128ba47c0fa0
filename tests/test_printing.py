"""The documents' text: golden files, notation, numbers from evaluate(), prose, options.

Nothing here runs an external tool (tests/test_documents.py compiles and renders).
Golden files are compared exactly and rewritten only with SYMBACKPROP_REGEN_GOLDEN=1.
They are made without latexify (its rendering of a user's Python function is
tested on its own), so they hold wherever latexify is not installable.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import time
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop import tensor as T
from symbackprop.analysis import naive as naive_module
from symbackprop.analysis.reports import Reports, analyse
from symbackprop.cost import CostReport, NaiveCost
from symbackprop.ops.activations import ReLU, Sigmoid
from symbackprop.printing import DocumentOptionError, code, documents
from symbackprop.printing.names import Notation
from symbackprop.printing.numbers import NumberFormat
from symbackprop.printing.scalars import scalar_latex
from symbackprop.printing.tensors import TensorPrinter
from symbackprop.rules import RULES
from tests.tooling import network_examples

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = network_examples()
REGENERATE = os.environ.get("SYMBACKPROP_REGEN_GOLDEN") == "1"

#: What SymPy's own printers would leak into a document, and what a derivative must never look like.
ARTEFACTS = ("Lambda(", r"\mapsto", r"_{\circ}", "Dummy", r"\theta", "dL/d", "Heaviside", "symbackprop_argument",
             r"\operatorname{relu'}", "relu'", "_d,", r"\frac{d ", r"\frac{d", r"{\partial d")
EDGE_MARKER = re.compile(r"step \d+ edge")


@pytest.fixture(autouse=True)
def without_latexify(monkeypatch, request):
    """Documents as they are where latexify is absent, unless a test asks for latexify."""
    if not getattr(request.function, "uses_latexify", False):
        monkeypatch.setattr(code, "latexify_module", lambda: None)


@pytest.fixture(scope="module")
def reference():
    return sbp.backprop(sbp.reference_network())


def compare_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with SYMBACKPROP_REGEN_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        lines = difflib.unified_diff(expected.splitlines(), text.splitlines(), "golden", "now", lineterm="", n=1)
        diff = "\n".join(lines)
        pytest.fail(f"{name} differs from its golden file (SYMBACKPROP_REGEN_GOLDEN=1 rewrites it):\n{diff[:3000]}")


def load_example(path: Path):
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- golden files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("with_values", [False, True], ids=["symbols", "values"])
def test_reference_documents_match_golden_files(reference, lang, with_values):
    values = sbp.reference_values() if with_values else None
    stem = f"reference.{lang}" + (".values" if with_values else "")
    compare_golden(f"{stem}.tex", reference.to_latex(values, standalone=True, lang=lang))
    compare_golden(f"{stem}.md", reference.to_markdown(values, lang=lang))


def test_exact_reference_document_matches_golden_file(reference):
    compare_golden("reference.en.exact.md", reference.to_markdown(sbp.reference_values(exact=True)))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_document_matches_its_golden_file(path):
    example = load_example(path)
    derivation = sbp.backprop(example.net, batch=getattr(example, "batch", False))
    compare_golden(f"examples/{path.stem}.md", derivation.to_markdown(getattr(example, "values", None)))


# -- what every document contains -------------------------------------------------------------------


def variety():
    """Networks covering every tensor node, loss, activation and both levels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield "reference", sbp.backprop(sbp.reference_network()), sbp.reference_values()
        yield "scalar", sbp.backprop(sbp.mlp([2, 2, 1], level="scalar")), sbp.reference_values()
        yield "batch", sbp.backprop(sbp.reference_network(), batch=True), {
            **sbp.reference_values(), "x": [[1, 2], [2, 1]], "y": [3, 1]}
        for activation, loss in [("sigmoid", "cross_entropy"), ("tanh", "mse"), ("softplus", "bce_with_logits"),
                                 ("leaky_relu", "half_squared_error"), ("identity", "mse")]:
            net = sbp.mlp([2, 3, 2], activation=activation, output_activation="sigmoid", loss=loss)
            yield f"{activation}-{loss}", sbp.backprop(net), None
        yield "bce", sbp.backprop(sbp.mlp([2, 2, 1], activation="tanh", output_activation="sigmoid",
                                          loss="binary_cross_entropy")), None
        yield "scalar-sigmoid", sbp.backprop(sbp.mlp([2, 2, 2], activation="sigmoid", level="scalar",
                                                     loss="cross_entropy")), None
        net = sbp.Network()
        x, w, s = net.input("x", 3), net.param("w", 3), net.param("s")
        p = net.node("p", (w * x) ** 2)
        q = net.node("q", s * sbp.total(p) - 2 * x.T @ w)
        net.loss("L", q ** 2)
        yield "power-sum-scale", sbp.backprop(net), {"x": [1, 2, 3], "w": [0.5, -1, 2], "s": 0.3}
        for activation, weight in [("sigmoid", 2.0), ("relu", 2.0)]:
            chain = sbp.deep_chain(10, activation, weight)
            yield f"deep-chain-{activation}", chain.derivation, chain.values


VARIETY = list(variety())


@pytest.mark.parametrize("name,derivation,values", VARIETY, ids=[v[0] for v in VARIETY])
def test_no_sympy_artefacts_and_partial_derivatives_only(name, derivation, values):
    for lang in ("en", "ko"):
        for text in (derivation.to_latex(values, standalone=True, lang=lang),
                     derivation.to_markdown(values, lang=lang, links=True)):
            leaked = [a for a in ARTEFACTS if a in text]
            assert not leaked, f"{name}/{lang} contains {leaked}"
            assert r"\partial" in text


@pytest.mark.parametrize("name,derivation,values", VARIETY, ids=[v[0] for v in VARIETY])
def test_one_marked_backward_step_per_edge(name, derivation, values):
    edges = len(derivation.edges)
    assert len(EDGE_MARKER.findall(derivation.to_latex(values))) == edges
    assert len(EDGE_MARKER.findall(derivation.to_markdown(values))) == edges


def test_latex_is_ascii_except_korean(reference):
    english = reference.to_latex(sbp.reference_values(), standalone=True)
    assert english.isascii()
    korean = reference.to_latex(sbp.reference_values(), standalone=True, lang="ko")
    strange = {c for c in korean if not c.isascii() and not "\uac00" <= c <= "\ud7a3"}
    assert not strange, f"pdflatex with kotex cannot typeset {strange}"
    assert r"\usepackage{kotex}" in korean and r"\usepackage{kotex}" not in english


def test_sections_follow_the_page_order(reference):
    text = reference.to_markdown(sbp.reference_values(), lang="ko")
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Backpropagation: 단계별 유도", "## 수학적 표현", "### Forward Pass", "### Backward Pass", "## 구체적 예시",
        "### Forward Pass", "### Backward Pass", "## Chain Rule의 적용", "## 역전파의 효율성", "## Gradient 소실/폭발",
        "## 메모리 사용", "## 표기 규칙",
    ]
    for phrase in ("**출력층에서 시작:**", "**두 번째 층의 gradient:**", "**첫 번째 층으로 전파:**",
                   "활성화 함수의 gradient:", "가중치의 gradient:", "편향의 gradient:", "다음 층으로 전달할 gradient:",
                   "여기서:", "계산 과정:", "Gradient descent로 업데이트할 수", "중복 계산 없이"):
        assert phrase in text, phrase


def test_english_layers_and_roles(reference):
    text = reference.to_markdown()
    order = ["**Start at the output layer:**", "**Gradients of layer 2:**", "Gradient of the activation:",
             "Gradient of the weights:", "Gradient of the bias:", "**Propagate to layer 1:**",
             "Gradient passed down to the previous layer:"]
    positions = [text.index(phrase) for phrase in order]
    assert positions == sorted(positions)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_rule_sentences_come_from_the_registry(reference, lang, monkeypatch):
    used = {key for step in reference.steps for key in step.rules}
    text = reference.to_markdown(lang=lang)
    for key in used:
        sentence = RULES[key].explanation[lang]
        assert sentence in text or sentence[:1].upper() + sentence[1:] in text, key
    monkeypatch.setitem(RULES["relu"].explanation, lang, "ReLU sentence the registry just changed")
    assert "ReLU sentence the registry just changed" in reference.to_markdown(lang=lang)


def test_reference_backward_steps_read_like_the_page(reference):
    text = reference.to_latex()
    assert r"\frac{\partial L}{\partial h_{2}} = h_{2} - y" in text
    assert r"&= \frac{\partial L}{\partial h_{1}} \odot \mathbf{1}[z_{1} > 0] \in \mathbb{R}^{2 \times 1}" in text
    assert r"&= \frac{\partial L}{\partial z_{2}} \, h_{1}^{\top} \in \mathbb{R}^{1 \times 2}" in text
    assert r"&= W_{2}^{\top} \, \frac{\partial L}{\partial z_{2}} \in \mathbb{R}^{2 \times 1}" in text
    assert (r"\frac{\partial L}{\partial W_{1}} &= \frac{\partial L}{\partial z_{1}} \cdot "
            r"\frac{\partial z_{1}}{\partial W_{1}}") in text
    # the chain written out in full, as the page's chain-rule section
    assert (r"\frac{\partial L}{\partial W_{1}} &= \frac{\partial L}{\partial h_{2}} \cdot \frac{\partial h_{2}}"
            r"{\partial z_{2}} \cdot \frac{\partial z_{2}}{\partial h_{1}} \cdot \frac{\partial h_{1}}{\partial z_{1}}"
            r" \cdot \frac{\partial z_{1}}{\partial W_{1}}") in text
    assert r"x \xrightarrow{W_{1}, b_{1}} z_{1} \xrightarrow{\operatorname{ReLU}} h_{1}" in text
    assert r"\operatorname{ReLU}'(0) = 0" in text and r"\mathbb{R}^{2 \times 2}$, the shape of $W_{1}$" in text


def test_fan_out_shows_its_sum():
    derivation = sbp.backprop(sbp.mlp([2, 2, 1], level="scalar"))
    text = derivation.to_latex()
    assert r"\frac{\partial L}{\partial x_{1}} &= \frac{\partial L}{\partial z^{(1)}_{1}} \cdot" in text
    assert "Fan-out: the paths add up:" in text
    sums = [s for s in derivation.steps if s.kind == "sum"]
    markers = re.findall(r"^% step \d+ (seed|edge|sum)$", text, flags=re.M)
    assert len(sums) == 2 and len(markers) == len(derivation.steps)


def test_batch_documents_show_the_mean():
    derivation = sbp.backprop(sbp.reference_network(), batch=True)
    text = derivation.to_latex()
    assert r"L = \frac{1}{N} \sum_{i=1}^{N} L_{i}" in text
    assert r"\frac{\partial L}{\partial L_{i}} = \frac{1}{N}" in text
    mean = r"\frac{\partial L}{\partial W_{1}} &= \frac{1}{N} \sum_{i=1}^{N} \frac{\partial L_{i}}{\partial W_{1}}"
    assert mean in text
    assert RULES["batch_mean"].explanation["en"][1:] in text


# -- numbers come from evaluate() -------------------------------------------------------------------


def equations(section: str) -> dict[str, str]:
    """Left-hand side → last side of every displayed equation of a Markdown section."""
    found: dict[str, str] = {}
    for block in re.findall(r"\$\$\n(.*?)\n\$\$", section, flags=re.S):
        body = block.removeprefix("\\begin{aligned}\n").removesuffix("\n\\end{aligned}")
        current = None
        for row in body.split(" \\\\\n"):
            if not row.startswith("&"):
                current = row.split(" &", 1)[0] if " &" in row else row.split(" = ", 1)[0]
            found[current] = re.split(r" = |&= ", row)[-1].strip()
    return found


@pytest.mark.parametrize("exact", [False, True], ids=["decimals", "fractions"])
def test_worked_example_numbers_are_the_evaluated_ones(reference, exact):
    values = sbp.reference_values(exact=exact)
    evaluation = reference.evaluate(values, exact=exact)
    text = reference.to_markdown(values)
    example = text[text.index("## Worked example"):text.index("## Applying the chain rule")]
    found = equations(example)
    number = NumberFormat(exact=exact, digits=4)
    notation = Notation(reference.network)
    for name in ("z1", "h1", "z2", "h2", "L"):
        assert found[notation.name(name)] == number.matrix(evaluation.forward[name]), name
    for name in ("h2", "z2", "W2", "b2", "h1", "z1", "W1", "b1", "x", "y"):
        assert found[notation.adjoint(name)] == number.matrix(evaluation.grad[name]), name
    eta = Fraction(1, 100)
    for name in ("W1", "b1", "W2", "b2"):
        forward = np.asarray(evaluation.forward[name], dtype=object)
        rate = sp.Rational(1, 100) if exact else float(eta)
        updated = forward - rate * np.asarray(evaluation.grad[name], dtype=object)
        assert found[notation.name(name)] == number.matrix(updated), name


def test_worked_example_shows_the_pages_numbers(reference):
    text = reference.to_markdown(sbp.reference_values())
    for snippet in (r"\frac{\partial L}{\partial h_{2}} &= h_{2} - y = 1.78 - 3 = -1.22",
                    r"\frac{1}{2} \cdot \left(1.78 - 3\right)^{2} = 0.7442",
                    r"\frac{\partial L}{\partial z_{2}} &= -1.22 \cdot 1 = -1.22",
                    r"\begin{bmatrix} -0.732 & -1.464 \\ -0.976 & -1.952 \end{bmatrix}",
                    r"-1.22 \begin{bmatrix} 1.2 & 1.2 \end{bmatrix} = \begin{bmatrix} -1.464 & -1.464 \end{bmatrix}",
                    r"\frac{\partial h_{2}}{\partial z_{2}} &= \mathbf{1}[1.78 > 0] = 1",
                    r"\eta = 0.01", "Decimals are rounded to 4 significant digits."):
        assert snippet in text, snippet


def test_exact_values_print_exact_fractions(reference):
    text = reference.to_markdown(sbp.reference_values(exact=True))
    assert (r"\begin{bmatrix} -\dfrac{183}{250} & -\dfrac{183}{125} \\[6pt] "
            r"-\dfrac{122}{125} & -\dfrac{244}{125} \end{bmatrix}") in text
    assert r"= \frac{3721}{5000}" in text and r"\eta = \frac{1}{100}" in text
    assert "every result below is an exact fraction" in text and "rounded" not in text


def test_digits_and_learning_rate_options(reference):
    text = reference.to_markdown(sbp.reference_values(), digits=2, learning_rate=0.1)
    assert r"1.8 - 3 = -1.2" in text and r"\eta = 0.1" in text
    assert (r"b_{2} &\leftarrow b_{2} - \eta \, \frac{\partial L}{\partial b_{2}} "
            r"= 0.1 - 0.1 \cdot \left(-1.2\right) = 0.22") in text


def test_batch_values_list_the_samples_and_average_the_parameters():
    derivation = sbp.backprop(sbp.reference_network(), batch=True)
    values = {**sbp.reference_values(), "x": [[1, 2], [1, 2]], "y": [3, 3]}
    text = derivation.to_markdown(values)
    assert r"z_{2} &= \left(1.78,\; 1.78\right)" in text
    example = text[text.index("## Worked example"):]
    page = r"\begin{bmatrix} -0.732 & -1.464 \\ -0.976 & -1.952 \end{bmatrix}"
    # each sample's term, then their mean: both samples are the page's example, so all three are its numbers
    assert rf"\frac{{1}}{{2}} \left({page} + {page}\right)" in example
    assert rf"&= {page}" in example
    assert "a batch of 2 samples" in text


# -- notation ---------------------------------------------------------------------------------------


def test_scalar_notation_of_the_page():
    net = sbp.mlp([2, 2, 1], level="scalar")
    notation = Notation(net)
    z, h = sp.Symbol("z2", real=True), sp.Symbol("h1_1", real=True)
    assert scalar_latex(sp.Heaviside(z, 0), notation) == r"\mathbf{1}[z_{2} > 0]"
    assert scalar_latex(sp.Heaviside(-z, 1), notation) == r"\mathbf{1}[z_{2} \le 0]"
    assert scalar_latex(sp.Heaviside(z, 1), notation) == r"\mathbf{1}[z_{2} \ge 0]"
    assert r"\frac{1}{2}" in scalar_latex(sp.Heaviside(z), notation)
    assert scalar_latex(ReLU(z), notation) == r"\operatorname{ReLU}\left(z_{2}\right)"
    assert scalar_latex(Sigmoid(z), notation) == r"\sigma\left(z_{2}\right)"
    assert scalar_latex(Sigmoid(z) * Sigmoid(-z), notation) == (
        r"\sigma\left(z_{2}\right) \left(1 - \sigma\left(z_{2}\right)\right)")
    assert scalar_latex(T.AdjointSymbol("h2"), notation) == r"\frac{\partial L}{\partial h_{2}}"
    assert scalar_latex(T.AdjointSymbol("z2") * h, notation) == r"\frac{\partial L}{\partial z_{2}} \cdot h^{(1)}_{1}"
    assert notation.name("W1_1_2") == r"W^{(1)}_{12}" and notation.name("x_2") == "x_{2}"
    assert scalar_latex(-sp.Symbol("h2", real=True) + sp.Symbol("y", real=True), notation) == r"y - h_{2}"


def test_tensor_notation():
    net = sbp.reference_network()
    printer = TensorPrinter(Notation(net))
    x, W1, b1 = T.Ref("x", (2, 1)), T.Ref("W1", (2, 2)), T.Ref("b1", (2, 1))
    assert printer.doprint(W1 @ x + b1) == r"W_{1} \, x + b_{1}"
    assert printer.doprint(x - b1) == "x - b_{1}"
    assert printer.doprint(-(W1 @ x)) == r"-W_{1} \, x"
    assert printer.doprint((x + b1).T) == r"\left(x + b_{1}\right)^{\top}"
    assert printer.doprint(T.Hadamard(x + b1, x)) == r"\left(x + b_{1}\right) \odot x"
    assert printer.doprint(W1 @ T.Hadamard(x, b1)) == r"W_{1} \, \left(x \odot b_{1}\right)"
    assert printer.doprint(T.Adjoint("z1", (2, 1)).T) == r"\left(\frac{\partial L}{\partial z_{1}}\right)^{\top}"
    sigmoid_prime = r"\sigma\left(x\right) \odot \left(1 - \sigma\left(x\right)\right)"
    assert printer.doprint(sbp.sigmoid.derivative(x)) == sigmoid_prime


def test_multi_letter_names_are_upright():
    net = sbp.Network()
    hidden = net.input("hidden")
    net.loss("loss", hidden ** 2)
    notation = Notation(net)
    assert notation.name("loss") == r"\mathrm{loss}" and notation.adjoint("hidden") == (
        r"\frac{\partial \mathrm{loss}}{\partial \mathrm{hidden}}")


# -- options, links, reprs, files ------------------------------------------------------------------------


def test_links_only_when_asked(reference):
    linked = reference.to_markdown(sbp.reference_values(), links=True)
    for concept in ("Chain rule", "Gradient", "Loss Function", "Forward Pass", "Autograd"):
        assert re.search(rf"\[\[{concept}(\|[^\]]+)?\]\]", linked), concept
    assert "[[" not in reference.to_markdown(sbp.reference_values())
    assert "[[" not in reference.to_latex(sbp.reference_values(), links=True)


def test_options_are_checked(reference):
    with pytest.raises(DocumentOptionError, match="unknown language"):
        reference.to_latex(lang="fr")
    with pytest.raises(DocumentOptionError, match="digits"):
        reference.to_markdown(digits=0)
    with pytest.raises(TypeError, match="unknown document option"):
        reference.to_markdown(colour="red")
    assert reference.to_markdown(title="My net").startswith("# My net\n")


def test_jupyter_reprs_are_strings(reference):
    latex, markdown = reference._repr_latex_(), reference._repr_markdown_()
    assert isinstance(latex, str) and r"\begin{align*}" in latex and r"\documentclass" not in latex
    assert isinstance(markdown, str) and markdown.startswith("# ")


def test_write_chooses_the_format_by_suffix(reference, tmp_path):
    values = sbp.reference_values()
    reference.write(tmp_path / "d.tex", values=values, lang="ko")
    reference.write(tmp_path / "d.md", values=values)
    assert (tmp_path / "d.tex").read_text(encoding="utf-8").startswith(r"\documentclass")
    assert "## Worked example" in (tmp_path / "d.md").read_text(encoding="utf-8")
    with pytest.raises(DocumentOptionError, match="ending in"):
        documents.write(reference, tmp_path / "d.docx")


# -- latexify: used where it is installed, absent without harm -------------------------------------------


def cube(t):
    return t**3


def cube_network() -> sbp.Network:
    net = sbp.Network()
    x = net.input("x", 2)
    W = net.param("W", (2, 2))
    h = net.node("h", sbp.elementwise(cube)(W @ x))
    net.loss("L", sbp.total(h))
    return net


def test_latexify_renders_python_functions_and_generated_code():
    pytest.importorskip("latexify")
    derivation = sbp.backprop(cube_network())
    text = derivation.to_markdown(code=True)
    assert r"\mathrm{cube}(t) = t^{3}" in text
    assert "rendered by latexify" in text and "```python\ndef derivation(" in text


test_latexify_renders_python_functions_and_generated_code.uses_latexify = True


def test_without_latexify_sympy_renders_python_functions():
    derivation = sbp.backprop(cube_network())
    text = derivation.to_markdown(code=True)
    assert r"\operatorname{cube}\left(t\right) = t^{3}" in text
    assert "latexify is not installed" in text and "```python\ndef derivation(" in text


# -- the page's later sections: 역전파의 효율성, Gradient 소실/폭발, 메모리 사용 ---------------------------

HEADINGS = {
    "en": {"efficiency": "Efficiency of backpropagation", "flow": "Gradient flow: vanishing and exploding gradients",
           "memory": "Memory use"},
    "ko": {"efficiency": "역전파의 효율성", "flow": "Gradient 소실/폭발", "memory": "메모리 사용"},
}
FORMATS = ["md", "tex"]
#: What the new sections must never show: SymPy's own names on top of the document-wide artefacts.
SECTION_ARTEFACTS = (*ARTEFACTS, "Sigmoid(", "relu'", "Heaviside(", "None", "nan", "inf")


def document(derivation, values, fmt: str, **options) -> str:
    if fmt == "md":
        return derivation.to_markdown(values, **options)
    return derivation.to_latex(values, standalone=True, **options)


def section(text: str, name: str, lang: str, fmt: str) -> str:
    """One of the new sections, from its heading to the next rule."""
    heading = HEADINGS[lang][name]
    start = text.index(f"## {heading}\n" if fmt == "md" else f"\\subsection*{{{heading}}}")
    end = text.index("\n---\n" if fmt == "md" else "\\medskip\\hrule", start)
    return text[start:end]


def ratio(value: float) -> str:
    return NumberFormat(exact=False, digits=4).number(value)


@pytest.fixture(scope="module")
def reference_cost(reference):
    return reference.cost(naive="measured")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_efficiency_section_shows_the_cost_report(reference, reference_cost, lang, fmt):
    report = reference_cost
    # the reference network's figures, as the cost report gives them
    assert (report.forward, report.backward, report.backprop, report.parameters) == (18, 15, 33, 9)
    assert report.naive.method == "exact" and report.naive.operations == 346
    part = section(document(reference, None, fmt, lang=lang, reports=Reports(cost=report)), "efficiency", lang, fmt)
    cells = [f"${report.forward}$", f"${report.backward}$", f"${report.backprop}$",
             f"${report.parameters * report.forward}$", f"${report.naive.operations}$",
             f"${ratio(report.backward_ratio)}$", f"${ratio(report.backprop_ratio)}$",
             f"${ratio(report.naive_ratio)}$", f"${report.page_naive_ratio}$"]
    for cell in cells:
        assert cell in part, cell
    assert "$1.833$" in part and "$0.8333$" in part and "$19.22$" in part
    assert ratio(report.speedup) == "10.48" and "10.48" in part
    assert r"\approx" not in part  # every element derived: nothing is an estimate
    claim = "costs about $2 \\times$ the forward pass" if lang == "en" else "약 2배로 봅니다"
    assert claim in part
    if fmt == "md":
        assert "| **Backpropagation**: 1 forward + 1 backward pass | $33$ | $1.833$ |" in part or lang == "ko"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_default_efficiency_section_counts_one_forward_pass_per_parameter(reference, lang, fmt):
    part = section(document(reference, None, fmt, lang=lang), "efficiency", lang, fmt)
    assert "sympy.diff" not in part and r"\approx" not in part  # nothing measured, nothing estimated
    assert "$162$" in part and r"$9 \times 18 = 162$" in part and "$4.909" in part  # 162 / 33 backprop
    how = {"en": "This figure is counted from the forward pass's operations, as the page counts it; it is not "
                 "measured.",
           "ko": "이 값은 페이지처럼 forward pass의 연산 수로 센 것이며, 측정한 값이 아닙니다."}[lang]
    assert how in part
    rows = [line for line in part.splitlines() if line.startswith("| ")] if fmt == "md" else []
    assert fmt != "md" or len(rows) == 6  # header, rule, forward, backward, backprop, p forward passes


def _naive(report: CostReport, **changes) -> Reports:
    fields = {"operations": 5_101_684, "parameters": report.parameters, "derived": 3, "method": "sampled",
              "loss_operations": 18, "groups": (), "reason": "over_cap", "measured": report.parameters, "limit": 2,
              "per_parameter": 2}
    return Reports(cost=CostReport(report.counts, NaiveCost(**{**fields, **changes}), report.parameters))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_estimated_and_skipped_naive_counts_say_so(reference, reference_cost, lang, monkeypatch):
    sampled = _naive(reference_cost)
    part = section(reference.to_markdown(lang=lang, reports=sampled), "efficiency", lang, "md")
    assert r"$\approx 5{,}101{,}684$" in part and rf"$\approx {ratio(sampled.cost.naive_ratio)}$" in part
    estimate = {"en": "is an estimate: $3$ of the $9$ parameters",
                "ko": "추정치입니다: 파라미터 $9$개 중 $3$개만"}[lang]
    assert estimate in part
    which = {"en": "the first and the last element of each parameter, the same on every run",
             "ko": "각 파라미터의 첫 원소와 마지막 원소이며, 실행할 때마다 같습니다"}[lang]
    assert which in part
    skipped = _naive(reference_cost, operations=None, derived=0, method="skipped", reason="loss_too_large",
                     loss_operations=147_573_952_589_676_412_928)
    part = section(reference.to_markdown(lang=lang, reports=skipped), "efficiency", lang, "md")
    assert "| — | — |" in part and r"$1.476 \times 10^{20}$" in part
    assert ("was not measured" if lang == "en" else "측정하지 않았습니다") in part
    built = _naive(reference_cost, operations=None, derived=0, method="skipped", reason="forward_too_large",
                   loss_operations=None)
    part = section(reference.to_markdown(lang=lang, reports=built), "efficiency", lang, "md")
    assert f"${reference_cost.forward}$" in part and ("too many to expand" if lang == "en" else "전개하기에는") in part


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_flow_section_shows_the_products_and_the_norms(reference, lang, fmt):
    values = sbp.reference_values()
    report = reference.gradient_flow(values)
    assert "Heaviside(z2, 0)" in report.entry("h1").chain  # the report's text form; the document prints it as 𝟏[·]
    part = section(document(reference, values, fmt, lang=lang), "flow", lang, fmt)
    assert r"\frac{\partial L}{\partial h_{2}} &= h_{2} - y" in part
    assert (r"\frac{\partial L}{\partial h_{1}} &= W_{2}^{\top} \, \mathbf{1}[z_{2} > 0] \, "
            r"\left(h_{2} - y\right)") in part
    assert (r"\frac{\partial L}{\partial x} &= W_{1}^{\top} \, \operatorname{diag}\left(\mathbf{1}[z_{1} > 0]\right) "
            r"\, W_{2}^{\top} \, \mathbf{1}[z_{2} > 0] \, \left(h_{2} - y\right)") in part
    leaked = [a for a in SECTION_ARTEFACTS if a in part]
    assert not leaked, leaked
    status = {"en": "ok", "ko": "정상"}[lang]
    for lf in report.layers:
        weight = "—" if lf.weight_norm is None else f"${ratio(lf.weight_norm)}$"
        cells = [str(lf.index), f"${Notation(reference.network).name(lf.layer.output)}$", f"${ratio(lf.output_norm)}$",
                 f"${ratio(lf.output_relative)}$"]
        if fmt == "md":
            row = "| " + " | ".join(cells) + " | "
            assert row in part, row
            assert f" | {weight} | " in part and f" | {status} |" in part
        else:
            assert " & ".join(cells) + " & " in part
    assert [lf.status for lf in report.layers] == ["ok"] * 3 and not report.vanishing_names
    assert "$1.22$" in part and "$2.728$" in part and "$0.6794$" in part
    assert rf"= {ratio(report.end_to_end)} \approx {ratio(report.end_to_end ** 0.5)}^{{2}}" in part


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("activation,expected", [("sigmoid", "vanishing"), ("relu", "exploding")])
def test_ten_layer_chain_flags_vanishing_and_exploding(activation, expected, lang, fmt):
    chain = sbp.deep_chain(10, activation, 2.0)
    report = chain.flow()
    flagged = report.vanishing_names if expected == "vanishing" else report.exploding_names
    assert flagged == ("x",) and report.layers[0].status == expected
    part = section(document(chain.derivation, chain.values, fmt, lang=lang), "flow", lang, fmt)
    words = {("en", "vanishing"): "**Vanishing gradient** at $x$", ("en", "exploding"): "**Exploding gradient** at $x$",
             ("ko", "vanishing"): "**Gradient 소실** ($x$)", ("ko", "exploding"): "**Gradient 폭발** ($x$)"}
    sentence = words[(lang, expected)]
    if fmt == "tex":
        sentence = re.sub(r"\*\*(.+?)\*\*", r"\\textbf{\1}", sentence)
    assert sentence in part
    # the page's 0.5¹⁰ ≈ 0.001 and 2¹⁰ = 1024, measured on the chain
    page = {"vanishing": r"= 0.0009766 \approx 0.5^{10}", "exploding": r"= 1024 \approx 2^{10}"}[expected]
    assert page in part and ratio(report.end_to_end) in page
    # one local derivative per layer in the product down to x, the middle layers elided
    product = part[part.index(r"\frac{\partial L}{\partial x} &="):]
    product = product[:product.index(r"\end{align")]
    derivative = r"\mathbf{1}[z_{" if activation == "relu" else r"\left(1 - \sigma\left(z_{"
    assert product.count(derivative) == 10 and r"&\vdots" in part
    status = {("en", "vanishing"): "**vanishing**", ("en", "exploding"): "**exploding**",
              ("ko", "vanishing"): "**소실**", ("ko", "exploding"): "**폭발**"}[(lang, expected)]
    if fmt == "md":
        assert part.count(status) == 1 and part.rstrip().endswith("}\n$$")
    leaked = [a for a in SECTION_ARTEFACTS if a in part]
    assert not leaked, leaked


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_memory_section_shows_the_memory_report(reference, lang, fmt):
    one, batch = reference.memory(batch=1), reference.memory(batch=10)
    assert one.stored == ("z1", "h1", "z2", "h2") and one.activation_numbers == 6
    part = section(document(reference, None, fmt, lang=lang, batch_size=10), "memory", lang, fmt)
    notation = Notation(reference.network)
    positions = [part.index(f"${notation.name(name)} \\in ") for name in one.stored]
    assert positions == sorted(positions)
    for number in (one.activation_numbers, batch.activation_numbers, one.input_numbers, one.parameter_numbers,
                   one.checkpointed.stored_numbers, one.checkpointed.peak_numbers,
                   one.checkpointed.recompute_operations):
        assert f"${number}$" in part, number
    assert "$6$" in part and "$60$" in part and "$N = 10$" in part
    assert f"${ratio(one.checkpointed.recompute_ratio)}$" in part
    assert r"$h_{1}$: read" not in part  # h1 is a stored value, not a step
    reader = "read to compute" if lang == "en" else "계산에 사용"
    assert f"$h_{{1}} \\in \\mathbb{{R}}^{{2 \\times 1}}$: {reader}" in part or lang == "ko"
    assert "checkpointing" in part and "$h_{1}$, $h_{2}$" in part


def test_sections_option(reference):
    values = sbp.reference_values()
    full = reference.to_markdown(values)
    old = reference.to_markdown(values, sections=())
    assert old == full[:full.index("## Efficiency")] + full[full.index("## Conventions"):]
    assert "## Efficiency" not in old and "## Memory use" not in old and "## Gradient flow" not in old
    only = reference.to_markdown(values, sections=["memory", "efficiency"])
    assert only.index("## Efficiency") < only.index("## Memory use") and "## Gradient flow" not in only
    assert "## Gradient flow" not in reference.to_markdown(sections=("flow",))  # flow needs values
    assert "## Gradient flow" in reference.to_latex(values, sections=("flow",)).replace(r"\subsection*{", "## ")
    for wrong, message in [("flow", "tuple of section names"), (("speed",), "unknown section"), (3, "tuple")]:
        with pytest.raises(DocumentOptionError, match=message):
            reference.to_markdown(sections=wrong)
    for wrong in (0, True, 2.5):
        with pytest.raises(DocumentOptionError, match="batch_size"):
            reference.to_latex(batch_size=wrong)


def _forbid(monkeypatch, what: str) -> None:
    """Make differentiating (and, with ``what="analyses"``, computing any report) raise."""

    def forbidden(*args, **kwargs):
        raise AssertionError(f"a printer computed what it should have been given ({what})")

    monkeypatch.setattr(sp, "diff", forbidden)
    monkeypatch.setattr(sp.Expr, "diff", forbidden)
    monkeypatch.setattr(naive_module, "naive_operations", forbidden)
    if what == "analyses":
        for name in ("cost", "gradient_flow", "memory"):
            monkeypatch.setattr(sbp.Derivation, name, forbidden)
        for module, name in (("cost", "count_operations"), ("counting", "count_operations"),
                             ("flow", "gradient_flow"), ("memory", "memory")):
            monkeypatch.setattr(importlib.import_module(f"symbackprop.analysis.{module}"), name, forbidden)


def test_the_sections_only_read_the_reports(reference, monkeypatch):
    """Given the reports, no section differentiates or counts (nor anything else in the document)."""
    values = sbp.reference_values()
    reports = analyse(reference, values, batch_size=32)
    expected = reference.to_markdown(values)
    _forbid(monkeypatch, "analyses")
    text = reference.to_markdown(values, reports=reports)
    assert "## Efficiency" in text and "## Gradient flow" in text and "## Memory use" in text
    assert text == expected
    assert "## Efficiency" not in sbp.printing.derivation_to_markdown(reference, values)  # no report, no section


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_document_without_the_efficiency_section_differentiates_nothing(reference, monkeypatch, fmt):
    _forbid(monkeypatch, "sympy.diff")
    text = document(reference, sbp.reference_values(), fmt, sections=("flow", "memory"))
    assert "Gradient flow" in text and "Memory use" in text and "Efficiency" not in text
    assert "Efficiency" not in document(reference, None, fmt, sections=())


@pytest.mark.slow
def test_documents_are_the_same_on_every_run_whatever_the_clock(monkeypatch):
    """The measured naive count is bounded by elements, not by time: a clock that races changes nothing."""
    d = sbp.backprop(sbp.mlp([4, 8, 8, 1], level="scalar"))  # 121 parameters: the count is sampled
    values = {q.name: np.full(q.matrix_shape, 0.1 * (i + 1)) for i, q in
              enumerate(d.network.quantities("input", "param"))}

    def measured() -> str:
        return d.to_markdown(values, reports=Reports(cost=d.cost(naive="measured")))

    first = measured()
    assert "is an estimate" in first and "the same on every run" in first
    sp.core.cache.clear_cache()  # the second run derives again rather than reading SymPy's cache
    ticks = iter(range(0, 10**9, 1000))
    for clock in ("perf_counter", "monotonic", "time", "process_time"):
        monkeypatch.setattr(time, clock, lambda: float(next(ticks)))
    assert measured() == first


def test_write_tex_references_a_plot_of_the_norms(reference, tmp_path, monkeypatch):
    drawn = []

    def plot(report, path, **options):
        drawn.append(report)
        Path(path).write_bytes(b"\x89PNG fake")

    monkeypatch.setattr(sbp.flow, "plot_gradient_flow", plot)
    values = sbp.reference_values()
    reference.write(tmp_path / "my net.tex", values=values)
    tex = (tmp_path / "my net.tex").read_text(encoding="utf-8")
    assert r"\usepackage{graphicx}" in tex
    assert r"\includegraphics[width=0.75\linewidth]{my-net-gradient-flow.png}" in tex
    assert (tmp_path / "my-net-gradient-flow.png").exists() and len(drawn) == 1
    # strings never refer to a file; no values or no flow section: no plot
    assert "includegraphics" not in reference.to_latex(values, standalone=True)
    reference.write(tmp_path / "plain.tex")
    reference.write(tmp_path / "sectionless.tex", values=values, sections=("memory",))
    for name in ("plain", "sectionless"):
        assert "includegraphics" not in (tmp_path / f"{name}.tex").read_text(encoding="utf-8")
    assert len(drawn) == 1


def test_write_tex_without_matplotlib_has_no_plot(reference, tmp_path, monkeypatch):
    def missing(report, path, **options):
        raise ModuleNotFoundError("plot_gradient_flow needs matplotlib")

    monkeypatch.setattr(sbp.flow, "plot_gradient_flow", missing)
    reference.write(tmp_path / "d.tex", values=sbp.reference_values())
    tex = (tmp_path / "d.tex").read_text(encoding="utf-8")
    assert "includegraphics" not in tex and "graphicx" not in tex and "## " not in tex
    assert not (tmp_path / "d-gradient-flow.png").exists()


def test_a_one_by_one_factor_of_an_element_wise_product_prints_as_a_scale():
    from symbackprop import tensor as T

    net = sbp.Network()
    g = net.param("g")
    x = net.param("x", (3, 1))
    net.loss("L", g * sbp.total(x))
    printer = TensorPrinter(Notation(net))
    text = printer.doprint(T.Hadamard(T.Adjoint("g", (1, 1)), T.Ones((3, 1))))
    assert r"\odot" not in text and r"\mathbf{1}_{3 \times 1}" in text
