"""The interactive page (``to_html(interactive=True)``, ``derive --interactive``): one file that needs no
network, whose graph is the one Graphviz draws, whose data is the derivation, and which, in a real headless
chromium, shows a clicked quantity's value and gradient and walks the backward pass in the derivation's order.

:func:`photograph` is what docs/pictures.py uses for the gallery's picture of the page.
"""

from __future__ import annotations

import importlib.util
import json
import re
import runpy
import shutil
import struct
import xml.etree.ElementTree as ET
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop import cli
from symbackprop.graph import to_dot
from symbackprop.printing.interactive import WORDS, interactive_data, interactive_section
from symbackprop.printing.katex import find_katex
from symbackprop.printing.options import Options
from symbackprop.printing.prose import LANGUAGES
from symbackprop.printing.svg_graph import graph_of, layout
from tests.test_worked_numbers_beyond_mlp import prepared
from tests.tooling import ROOT, need, network_examples

CHROMIUM = "/usr/bin/chromium"
#: Namespace names inside the SVG and KaTeX's script: identifiers, never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1998/Math/MathML"}
SVG = "{http://www.w3.org/2000/svg}"


def chromium() -> str | None:
    return shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)


def require_browser() -> None:
    need(importlib.util.find_spec("playwright") is not None,
         "playwright is not installed (python -m pip install playwright)")
    need(chromium() is not None, "chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def reference():
    return sbp.backprop(sbp.reference_network())


@pytest.fixture(scope="module")
def dist():
    found = find_katex(ROOT)
    need(found is not None, "KaTeX is not installed (npm install --no-save katex@0.16)")
    return found


def page_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="sbp-data">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def page_svg(page: str) -> ET.Element:
    return ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))


def shown_names(network) -> list[str]:
    return [q.name for q in network.quantities(elements=True) if q.elements is None]


def example_networks():
    for path in network_examples():
        namespace = runpy.run_path(str(path), run_name="example")
        yield pytest.param(namespace["net"], namespace.get("values"), id=path.stem)
    # Every weight its own box, the elements of one matrix framed together.
    yield pytest.param(sbp.mlp([2, 2, 1], level="scalar"), None, id="scalar-level")
    yield pytest.param(sbp.deep_chain(12, "tanh", 0.5).derivation.network, None, id="deep-chain")


# -- the file --------------------------------------------------------------------------------


def test_the_page_fetches_nothing_when_katex_is_inlined(reference, dist):
    page = reference.to_html(sbp.reference_values(), katex=dist, interactive=True)
    assert set(re.findall(r"https?://[^\s\"'<>)\\]+", page)) <= NAMESPACES
    markup = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", "", page, flags=re.S)  # the elements, not their code
    assert all(link.startswith(("data:", "#")) for link in re.findall(r"\s(?:src|href)=\"([^\"]*)\"", markup))
    assert "url(fonts/" not in page and "@import" not in page
    assert page.count('id="sbp-interactive"') == 1 and page.count('id="sbp-data"') == 1
    # The section sits after the introduction, before the network's equations.
    assert page.index("<hr>") < page.index('id="sbp-interactive"') < page.index("<h3>")


def test_the_data_is_the_derivation(reference):
    values = sbp.reference_values()
    page = reference.to_html(values, katex="cdn", interactive=True)
    data = page_data(page)
    network = reference.network
    assert list(data["nodes"]) == shown_names(network)
    assert [(s["index"], s["kind"], s["target"], s["source"]) for s in data["steps"]] == [
        (s.index, s.kind, s.target, s.source) for s in reference.steps]
    for name, node in data["nodes"].items():
        assert node["steps"] == [s.index for s in reference.steps if s.target == name]
    svg_ids = {element.get("id") for element in page_svg(page).iter()}
    assert {node["id"] for node in data["nodes"].values()} <= svg_ids
    assert {e for s in data["steps"] for e in s["edges"]} <= svg_ids
    assert data["values"] is True and data["loss"] == reference.loss


def test_without_values_the_panel_shows_symbols_only(reference):
    data = page_data(reference.to_html(katex="cdn", interactive=True))
    assert data["values"] is False
    w1 = data["nodes"]["W1"]["html"]
    assert "bmatrix" not in w1 and not re.search(r"\d\.\d", w1)
    assert r"\frac{\partial L}{\partial W_{1}} = \frac{\partial L}{\partial z_{1}} \, x^{\top}" in w1


def test_words_exist_in_every_language():
    assert set(WORDS) == set(LANGUAGES)
    assert all(set(WORDS[lang]) == set(WORDS["en"]) for lang in LANGUAGES)


def test_the_command_writes_the_interactive_page(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["derive", "--interactive", "--lang", "ko", "--katex", "cdn", "-o", "page.html", "-q"]) == 0
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in page and "계산 그래프" in page and page_data(page)["lang"] == "ko"


def test_write_takes_the_option(reference, tmp_path):
    written = reference.write(tmp_path / "page.html", sbp.reference_values(), interactive=True, katex="cdn")
    assert 'id="sbp-interactive"' in written.read_text(encoding="utf-8")
    assert 'id="sbp-interactive"' not in reference.to_html(katex="cdn")


# -- the graph --------------------------------------------------------------------------------


def dot_graph(network) -> tuple[set[str], Counter]:
    dot = to_dot(network)
    nodes = set(re.findall(r"^\s*(\w+) \[label=", dot, re.M))
    edges = Counter(re.findall(r"^\s*(\w+) -> (\w+)", dot, re.M))
    return nodes, edges


@pytest.mark.parametrize(("network", "values"), example_networks())
def test_the_svg_draws_the_graph_graphviz_draws(network, values):
    svg = page_svg(interactive_section(sbp.backprop(network), values, Options()))
    assert svg.tag == f"{SVG}svg"
    edges = Counter((g.get("data-from"), g.get("data-to")) for g in svg.iter(f"{SVG}g")
                    if g.get("class") == "sbp-edge")
    nodes = {g.get("id").removeprefix("sbp-") for g in svg.iter(f"{SVG}g") if "sbp-node" in g.get("class", "").split()}
    assert (nodes, edges) == dot_graph(network)


@pytest.mark.parametrize(("network", "values"), example_networks())
def test_each_step_marks_the_path_from_its_source_back_to_its_target(network, values):
    derivation = sbp.backprop(network)
    data = page_data(interactive_section(derivation, values, Options()))
    graph = graph_of(network)
    ends = {f"sbp-{e.id}": (e.source, e.target) for e in graph.edges}
    for step in data["steps"]:
        arrows = [ends[e] for e in step["edges"]]
        if step["kind"] == "seed":
            assert arrows == []
        elif step["kind"] == "edge":
            assert reaches(arrows, f"q_{step['target']}", {f"q_{step['source']}"})
        else:
            sources = {f"q_{data['steps'][i]['source']}" for i in derivation.steps[step["index"]].parts}
            assert reaches(arrows, f"q_{step['target']}", sources)


def ends_of(arrows: list[list[str]]) -> tuple[str, str]:
    """The quantity a path of arrows leaves from and the one it arrives at."""
    froms, tos = {a for a, _ in arrows}, {b for _, b in arrows}
    (start,), (end,) = froms - tos, tos - froms
    return start.removeprefix("q_"), end.removeprefix("q_")


def reaches(arrows: list[tuple[str, str]], start: str, ends: set[str]) -> bool:
    """Whether the arrows are paths leaving ``start`` that each end in ``ends``, and nothing else."""
    if not arrows:
        return False
    leaving: dict[str, list[str]] = {}
    for a, b in arrows:
        leaving.setdefault(a, []).append(b)
    walked, frontier, finished = set(), [start], set()
    while frontier:
        node = frontier.pop()
        if node in ends:
            finished.add(node)
            continue
        if node not in leaving:
            return False  # a path that stops short of the step's source
        for nxt in leaving[node]:
            walked.add((node, nxt))
            frontier.append(nxt)
    return walked == set(arrows) and finished == ends


@pytest.mark.parametrize(("network", "values"), example_networks())
def test_no_two_nodes_overlap(network, values):
    graph = graph_of(network)
    where = layout(graph)
    boxes = [(where.x[n.id] - n.width / 2, where.y[n.id] - n.height / 2, where.x[n.id] + n.width / 2,
              where.y[n.id] + n.height / 2) for n in graph.nodes.values()]
    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= where.width and 0 <= a[1] and a[3] <= where.height
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_arrows_go_left_to_right(reference):
    graph = graph_of(reference.network)
    where = layout(graph)
    assert all(where.x[e.source] < where.x[e.target] for e in graph.edges)
    order = sorted(graph.nodes, key=where.x.__getitem__)
    assert order[-1] == "q_L"


# -- in a browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


class Offline:
    """A page loaded from a file with every other request refused, and what it tried and failed."""

    def __init__(self, browser, path: Path, width: int = 1280) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.attempted: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")

    def _route(self, route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            self.attempted.append(route.request.url)
            route.abort()

    def marked(self) -> dict:
        return self.page.evaluate("""() => ({
            edges: [...document.querySelectorAll('.sbp-edge.sbp-active')].map(e => [e.dataset.from, e.dataset.to]),
            nodes: [...document.querySelectorAll('.sbp-node.sbp-active')].map(e => e.dataset.quantity),
            done: document.querySelectorAll('.sbp-done').length,
            step: (document.querySelector('.sbp-panel [data-step]') || {dataset: {step: null}}).dataset.step,
        })""")

    def tex(self, selector: str) -> list[str]:
        """The TeX of each formula KaTeX rendered under ``selector`` (its MathML annotation)."""
        return self.page.eval_on_selector_all(f"{selector} annotation", "all => all.map(a => a.textContent)")

    def close(self) -> None:
        self.context.close()


@contextmanager
def offline(browser, path: Path, width: int = 1280):
    opened = Offline(browser, path, width)
    try:
        yield opened
    finally:
        opened.close()


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def numbers_after_last_equals(tex: str) -> list[float]:
    return [float(n) for n in _NUMBER.findall(tex.rsplit("=", 1)[1])]


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_clicking_a_quantity_shows_its_value_gradient_and_step(browser, reference, dist, tmp_path, lang):
    values = sbp.reference_values()
    path = reference.write(tmp_path / "page.html", values, interactive=True, katex=dist, lang=lang)
    evaluation = reference.evaluate(values)
    with offline(browser, path) as opened:
        page = opened.page
        assert page.evaluate("document.documentElement.lang") == lang
        page.click("#sbp-q_W1")
        forward, gradient = opened.tex(".sbp-panel .sbp-forward"), opened.tex(".sbp-panel .sbp-gradient")
        assert len(forward) == 1 and len(gradient) == 1
        np.testing.assert_allclose(numbers_after_last_equals(forward[0]), np.ravel(evaluation.forward["W1"]))
        np.testing.assert_allclose(numbers_after_last_equals(gradient[0]), np.ravel(evaluation.grad["W1"]),
                                   rtol=5e-4)
        shown = page.eval_on_selector_all(".sbp-panel [data-step]", "all => all.map(e => Number(e.dataset.step))")
        assert shown == [reference.step_for("W1").index]
        assert page.locator(".sbp-panel .katex").count() >= 4
        assert page.locator(".katex-error").count() == 0
        text = page.inner_text(".sbp-panel")
        assert bool(re.search("[가-힣]", text)) == (lang == "ko")
        page.click("#sbp-q_z2")  # a node: its definition, its value, then ∂L/∂z2
        np.testing.assert_allclose(numbers_after_last_equals(opened.tex(".sbp-panel .sbp-gradient")[0]),
                                   [float(evaluation.grad["z2"])], rtol=5e-4)
        assert page.locator(".sbp-node.sbp-selected").count() == 1
        operation = next(n for n in graph_of(reference.network).nodes.values() if n.kind == "op" and n.quantity == "h1")
        page.click(f"#sbp-{operation.id}")  # an operation shows the quantity it computes
        assert "h_{1}" in opened.tex(".sbp-panel h3")[0]
        assert page.locator(".sbp-panel .katex-error, .sbp-nokatex").count() == 0
        assert opened.attempted == [] and opened.errors == []


def fan_out():
    net = sbp.Network()
    x, w = net.input("x"), net.param("w")
    a = net.node("a", w * x)
    f = net.node("f", sbp.sin(a))
    g = net.node("g", a**2)
    net.loss("L", f * g)
    return sbp.backprop(net), {"x": 0.5, "w": 1.5}


def _walked(which, reference):
    """The reference and fan-out networks, or one of the documents' networks beyond the MLP."""
    if which == "reference":
        return reference, sbp.reference_values()
    if which == "fan-out":
        return fan_out()
    return prepared(which)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["reference", "fan-out", "sum_times_a_tensor_and_a_power", "attention_head", "rnn",
                                   "scalar_level"])
def test_step_walks_the_backward_pass_in_the_derivations_order(browser, reference, dist, tmp_path, which):
    derivation, values = _walked(which, reference)
    path = derivation.write(tmp_path / "page.html", values, interactive=True, katex=dist)
    if which in ("reference", "fan-out"):
        assert any(s.kind == "sum" for s in derivation.steps) == (which == "fan-out")
    with offline(browser, path) as opened:
        page = opened.page
        walked = []
        for step in derivation.steps:
            page.click(".sbp-step")
            marked = opened.marked()
            assert marked["nodes"] == [step.target] and marked["step"] == str(step.index)
            if step.kind == "edge":
                assert reaches([tuple(e) for e in marked["edges"]], f"q_{step.target}", {f"q_{step.source}"})
                walked.append(ends_of(marked["edges"]))
            assert page.locator(".sbp-panel .katex").count() > 0 and page.locator(".katex-error").count() == 0
        assert walked == [(s.target, s.source) for s in derivation.steps if s.kind == "edge"]
        assert page.is_disabled(".sbp-step") and opened.marked()["done"] > 0
        page.click(".sbp-reset")
        assert opened.marked() == {"edges": [], "nodes": [], "done": 0, "step": None}
        assert not page.is_disabled(".sbp-step")
        assert opened.attempted == [] and opened.errors == []


@pytest.mark.slow
@pytest.mark.parametrize("which", ["sum_times_a_tensor_and_a_power", "attention_head", "rnn"])
def test_every_box_of_the_graph_opens_its_panel(browser, reference, dist, tmp_path, which):
    derivation, values = _walked(which, reference)
    path = derivation.write(tmp_path / "page.html", values, interactive=True, katex=dist, lang="ko")
    evaluation = derivation.evaluate(values)
    with offline(browser, path) as opened:
        page = opened.page
        ids = page.eval_on_selector_all(".sbp-node", "all => all.map(e => e.id)")
        assert len(ids) >= len(list(derivation.network.quantities()))
        for identifier in ids:
            page.click(f"#{identifier}")
            assert page.locator(".sbp-panel .katex").count() > 0, identifier
            assert page.locator(".sbp-panel .katex-error, .sbp-nokatex").count() == 0, identifier
        for q in derivation.network.params:
            page.click(f"#sbp-q_{q.name}")
            gradient = opened.tex(".sbp-panel .sbp-gradient")[0]
            np.testing.assert_allclose(numbers_after_last_equals(gradient), np.ravel(evaluation.grad[q.name]),
                                       rtol=5e-3, atol=5e-4, err_msg=q.name)
        assert opened.attempted == [] and opened.errors == []


def test_without_katex_at_hand_the_page_still_works_and_shows_the_tex(browser, reference, tmp_path):
    path = reference.write(tmp_path / "page.html", sbp.reference_values(), interactive=True, katex="cdn")
    with offline(browser, path) as opened:
        assert opened.attempted and all("cdn.jsdelivr" in url for url in opened.attempted)
        opened.page.click("#sbp-q_W1")
        assert r"\begin{bmatrix}" in opened.page.inner_text(".sbp-panel .sbp-gradient")
        assert opened.page.locator(".sbp-panel .sbp-nokatex").count() == 1
        opened.page.click(".sbp-step")
        assert opened.marked()["nodes"] == [reference.loss] and opened.errors == []


def photograph(page: Path, picture: Path, *, select: str = "W1", steps: int = 4, width: int = 1280,
               browser=None) -> Path:
    """A PNG of the interactive section of ``page`` after ``steps`` presses of "step" and a click on
    ``select``, taken by chromium with the network cut off (docs/pictures.py calls this); ``browser``
    is a playwright browser already launched, else chromium is launched for this picture."""
    if browser is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
            try:
                return photograph(page, picture, select=select, steps=steps, width=width, browser=launched)
            finally:
                launched.close()
    with offline(browser, page, width) as opened:
        for _ in range(steps):
            opened.page.click(".sbp-step")
        opened.page.click(f"#sbp-q_{select}")
        opened.page.locator("#sbp-interactive").screenshot(path=str(picture), animations="disabled")
        if opened.attempted or opened.errors:
            raise RuntimeError(f"the page fetched {opened.attempted} or failed: {opened.errors}")
    return picture


@pytest.mark.slow
def test_photograph(browser, reference, dist, tmp_path):
    page = reference.write(tmp_path / "page.html", sbp.reference_values(), interactive=True, katex=dist)
    picture = photograph(page, tmp_path / "interactive.png", browser=browser)
    header = picture.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width > 1000 and height > 500


@pytest.mark.slow
def test_a_batch_page_shows_the_parameters_mean_gradient(browser, dist, tmp_path):
    derivation = sbp.backprop(sbp.reference_network())
    values = dict(sbp.reference_values(), x=[[[1], [2]], [[0.5], [-1]]], y=[3, 1])
    evaluation = derivation.evaluate(values)
    path = derivation.write(tmp_path / "batch.html", values, interactive=True, katex=dist)
    with offline(browser, path) as opened:
        opened.page.click("#sbp-q_W1")
        np.testing.assert_allclose(numbers_after_last_equals(opened.tex(".sbp-panel .sbp-gradient")[0]),
                                   np.ravel(evaluation.grad["W1"]), rtol=5e-4)
        assert opened.errors == [] and opened.page.locator(".katex-error").count() == 0


def test_the_options_reach_the_panel(reference):
    data = interactive_data(reference, sbp.reference_values(), Options(decimals=2))
    assert "-1.46" in data["nodes"]["W1"]["html"] and "-1.464" not in data["nodes"]["W1"]["html"]
