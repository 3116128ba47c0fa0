"""Pages written by the installed package alone read offline: without KaTeX their math is MathML.

KaTeX stays where it is installed (inlined), and a CDN link only where asked for (``katex="cdn"``).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

import symbackprop as sbp
from symbackprop.printing import katex
from symbackprop.printing.mathml import formula, with_mathml
from tests.test_interactive import browser, offline, page_data  # noqa: F401 - browser is a fixture used below
from tests.tooling import html_math

MATH = "{http://www.w3.org/1998/Math/MathML}"


@pytest.fixture
def no_katex(monkeypatch):
    """As after ``pip install symbackprop`` alone: no node_modules/katex anywhere."""
    monkeypatch.setattr(katex, "find_katex", lambda start=None: None)


@pytest.fixture(scope="module")
def reference():
    return sbp.backprop(sbp.reference_network())


def math_elements(page: str) -> list[ET.Element]:
    """Every <math> element of the page, each parsed as XML (so each is well formed)."""
    return [ET.fromstring(element) for element in re.findall(r"<math\b.*?</math>", page, re.S)]


def outside_scripts(page: str) -> str:
    return re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)


PAGES = {
    "values": lambda d: {"values": sbp.reference_values()},
    "ko": lambda d: {"values": sbp.reference_values(), "lang": "ko"},
    "full": lambda d: {"values": sbp.reference_values(), "page": "full"},
    "symbols": lambda d: {},
    "interactive": lambda d: {"values": sbp.reference_values(), "interactive": True},
}


@pytest.mark.parametrize("kind", list(PAGES))
def test_a_page_without_katex_at_hand_loads_nothing_and_its_math_is_mathml(no_katex, reference, kind):
    options = PAGES[kind](reference)
    page = reference.to_html(**options)
    assert not re.search(r"<script[^>]*\bsrc=", page) and not re.search(r"<link[^>]*\bhref=", page)
    assert "cdn" not in page.lower() and "renderMathInElement(document.body" not in page
    text = outside_scripts(page)
    assert "$" not in text.replace("<span>$</span>", "")  # no formula left as TeX
    elements = math_elements(page)
    # one <math> for each formula KaTeX would have rendered, none lost
    assert len(elements) == len(html_math(reference.to_html(katex="cdn", **options)))
    assert all(e.tag == f"{MATH}math" and len(e) for e in elements)


def test_the_interactive_panels_carry_mathml_and_the_script_leaves_them_as_they_are(no_katex, reference):
    data = page_data(reference.to_html(sbp.reference_values(), interactive=True))
    assert data["mathml"] is True
    panels = [entry["html"] for entry in (*data["nodes"].values(), *data["steps"])]
    assert all("$" not in panel for panel in panels)
    assert sum(len(math_elements(panel)) for panel in panels) > 50


def test_a_written_page_and_the_command_give_mathml_without_katex(no_katex, reference, tmp_path, monkeypatch):
    written = reference.write(tmp_path / "page.html", sbp.reference_values())
    assert written.read_text(encoding="utf-8") == reference.to_html(sbp.reference_values(), katex="mathml")
    assert math_elements(written.read_text(encoding="utf-8"))


def test_katex_stays_where_it_is_installed_and_the_cdn_where_asked_for(reference, tmp_path):
    dist = tmp_path / "dist"
    (dist / "contrib").mkdir(parents=True)
    (dist / "katex.min.js").write_text("/* katex */", encoding="utf-8")
    (dist / "contrib" / "auto-render.min.js").write_text("/* auto-render */", encoding="utf-8")
    (dist / "katex.min.css").write_text(".katex{}", encoding="utf-8")
    inlined = reference.to_html(katex=dist)
    assert "/* katex */" in inlined and "<math" not in inlined and "$$" in inlined
    linked = reference.to_html(katex="cdn")
    assert katex.KATEX_CDN in linked and "<math" not in linked
    assert "<math" in reference.to_html(katex="mathml")


def test_aligned_rows_are_a_table_aligned_right_then_left():
    element = ET.fromstring(formula(r"\begin{aligned}z_{1} &= W_{1} \, x \\ h &= \begin{bmatrix} 1 & 2 \end{bmatrix}"
                                    r"\end{aligned}", display=True))
    table = element.find(f"{MATH}mtable")
    rows = table.findall(f"{MATH}mtr")
    assert len(rows) == 2 and all(len(row.findall(f"{MATH}mtd")) == 2 for row in rows)
    assert [cell.get("style").split(";")[0] for cell in rows[0]] == ["text-align: right", "text-align: left"]
    assert rows[1].findall(f"{MATH}mtd")[1].find(f".//{MATH}mtable") is not None  # the matrix keeps its & inside


def test_text_inside_math_and_stray_dollars_stay_well_formed():
    page = with_mathml(r"<p>costs <span>$</span>5, and $\text{a &lt; b} \le c$</p><code>$x$</code>")
    assert "<code>$x$</code>" in page and "<span>$</span>5" in page
    (element,) = math_elements(page)
    assert "a" in "".join(element.itertext()) and "<" in "".join(element.itertext())


@pytest.mark.slow
def test_the_mathml_page_renders_offline_in_a_browser(no_katex, browser, reference, tmp_path):  # noqa: F811
    path = reference.write(tmp_path / "page.html", sbp.reference_values(), interactive=True)
    with offline(browser, path) as opened:
        assert opened.attempted == [] and opened.errors == []
        sizes = opened.page.eval_on_selector_all("math", "all => all.map(m => m.getBoundingClientRect().width)")
        assert len(sizes) > 50 and all(width > 0 for width in sizes)
        opened.page.click("#sbp-q_W1")
        assert opened.page.locator(".sbp-panel math").count() > 0
        assert opened.page.locator(".sbp-panel .sbp-nokatex").count() == 0


def test_the_page_data_is_still_json(no_katex, reference):
    page = reference.to_html(interactive=True)
    found = re.search(r'<script type="application/json" id="sbp-data">(.*?)</script>', page, re.S)
    assert json.loads(found.group(1))["mathml"] is True
