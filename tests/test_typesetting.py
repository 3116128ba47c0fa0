"""The pages as pdflatex sets them: every example and gallery document, in English and Korean, and
networks with matrices up to 16 columns wide, compiled for real and read back from the log and the PDF.

Nothing may run past the margin (an overfull box over 1 pt), an equation continued on a second row
never breaks across pages, no English word is hyphenated in a Korean document, and a Korean PDF
stays within a small multiple of the English one. Documents are compiled two at a time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.printing.blocks import MARKUP
from symbackprop.printing.documents import typeset
from symbackprop.printing.latex import display, latex_document
from symbackprop.printing.numbers import MATRIX_LIMIT
from symbackprop.printing.options import DocumentBuildError
from symbackprop.rules import RULES
from tests.tooling import ROOT, katex_available, katex_errors, need, network_examples, pdflatex, require_pdflatex

LANGUAGES = ("en", "ko")
#: How far past the margin a line may reach before a reader sees it: TeX's own tolerance is 0.1 pt.
TOLERANCE_PT = 1.0
_OVERFULL = re.compile(r"Overfull \\([hv])box \(([0-9.]+)pt too (?:wide|high)\)[^\n]*")
#: Networks whose matrices have this many columns (W1 of an MLP has as many columns as inputs).
WIDTHS = (5, 8, 10, 12, 16)


def _gallery_commands() -> list[tuple[str, ...]]:
    """The arguments of every ``symbackprop derive`` command whose PDF docs/pictures.py photographs."""
    spec = importlib.util.spec_from_file_location("pictures", ROOT / "docs" / "pictures.py")
    pictures = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("pictures", pictures)
    spec.loader.exec_module(pictures)
    found = []
    for picture in pictures.PICTURES:
        if isinstance(picture, pictures.Page):
            args = list(picture.args)
            if "--lang" in args:
                del args[args.index("--lang"):args.index("--lang") + 2]
            found.append(tuple(args))
    return found


def _commands() -> dict[str, tuple[str, ...]]:
    """name → derive arguments (without ``--lang``): the examples, the spec files, the gallery's commands."""
    commands: dict[str, tuple[str, ...]] = {}
    for path in network_examples() + sorted((ROOT / "examples").glob("*.toml")):
        commands[f"{path.name}"] = (f"examples/{path.name}",)
    for args in [*_gallery_commands(), ("--page", "full")]:
        if args not in commands.values():
            commands["derive " + (" ".join(args) or "(reference)")] = args
    return commands


COMMANDS = _commands()
NAMES = [f"{name} [{lang}]" for name in COMMANDS for lang in LANGUAGES] + [
    f"{width} columns [{lang}]" for width in WIDTHS for lang in (("en", "ko") if width == 16 else ("en",))] + [
    "scalar level with its code [en]"]


@dataclass
class Result:
    lang: str
    source: str
    pdf: bytes | None = None
    log: str = ""
    error: str | None = None


def _derived(args: tuple[str, ...], lang: str) -> tuple[str, dict[str, bytes]]:
    """The standalone LaTeX ``symbackprop derive ARGS --lang LANG -o doc.tex`` writes, and the files beside it."""
    from symbackprop.cli import main

    with tempfile.TemporaryDirectory(prefix="symbackprop-typeset-") as directory:
        target = Path(directory) / "document.tex"
        status = main(["-q", "derive", *args, "--lang", lang, "-o", str(target)])
        assert status == 0, f"symbackprop derive {' '.join(args)} --lang {lang} failed"
        files = {p.name: p.read_bytes() for p in Path(directory).iterdir() if p != target}
        return target.read_text(encoding="utf-8"), files


def wide_network(width: int, seed: int = 0) -> tuple[sbp.Derivation, dict]:
    """A random MLP whose first weight matrix has ``width`` columns, and numbers for it."""
    rng = np.random.default_rng(seed + width)
    sizes = [width, int(rng.integers(2, 17)), int(rng.integers(1, 4))]
    return sbp.backprop(sbp.mlp(sizes)), numbers(sizes, rng)


def numbers(sizes: list[int], rng: np.random.Generator) -> dict:
    values = {"x": rng.normal(size=sizes[0]).round(2).tolist(), "y": rng.normal(size=sizes[-1]).round(2).tolist()}
    for k in range(1, len(sizes)):
        values[f"W{k}"] = rng.normal(size=(sizes[k], sizes[k - 1])).round(2).tolist()
        values[f"b{k}"] = rng.normal(size=sizes[k]).round(2).tolist()
    return values


def _sources() -> dict[str, tuple[str, str, dict[str, bytes]]]:
    sources = {}
    with warnings.catch_warnings(), contextlib.chdir(ROOT):
        warnings.simplefilter("ignore")
        for name, args in COMMANDS.items():
            for lang in LANGUAGES:
                sources[f"{name} [{lang}]"] = (lang, *_derived(args, lang))
        for width in WIDTHS:
            derivation, values = wide_network(width)
            for lang in ("en", "ko") if width == 16 else ("en",):
                source = derivation.to_latex(values, standalone=True, lang=lang)
                sources[f"{width} columns [{lang}]"] = (lang, source, {})
        # the generated program's longest lines: one sum over every input per scalar of a layer
        scalar = sbp.backprop(sbp.mlp([5, 4, 1], level="scalar"))
        values = numbers([5, 4, 1], np.random.default_rng(1))
        sources["scalar level with its code [en]"] = ("en", scalar.to_latex(values, standalone=True, code=True), {})
    return sources


def _compile(item: tuple[str, str, dict[str, bytes]]) -> Result:
    lang, source, files = item
    try:
        done = typeset(source, files=files, timeout=180)
    except DocumentBuildError as error:
        return Result(lang, source, error=str(error))
    return Result(lang, source, done.pdf, done.log)


@pytest.fixture(scope="module")
def compiled() -> dict[str, Result] | None:
    if pdflatex() is None:
        return None
    sources = _sources()
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(sources, pool.map(_compile, sources.values())))


def overfull_boxes(log: str) -> list[tuple[float, str]]:
    """Every overfull line (hbox) or page (vbox) a pdflatex log reports beyond the tolerance."""
    return [(float(m.group(2)), m.group(0)) for m in _OVERFULL.finditer(log) if float(m.group(2)) > TOLERANCE_PT]


def _page_texts(pdf: bytes) -> list[str]:
    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    with tempfile.TemporaryDirectory(prefix="symbackprop-typeset-") as directory:
        path = Path(directory) / "document.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                              timeout=60).stdout.decode("utf-8", "replace")
    return text.split("\f")


# -- every page fits ---------------------------------------------------------------------------------


def test_the_documents_cover_examples_gallery_and_wide_matrices():
    assert {"reference.py [en]", "reference.py [ko]", "scalar_fanout.py [ko]", "reference.toml [en]",
            "derive (reference) [ko]", "derive --page full [ko]", "16 columns [ko]"} <= set(NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_document_compiles_without_overfull_boxes(compiled, name):
    require_pdflatex(korean=name.endswith("[ko]"))
    result = compiled[name]
    assert result.error is None, f"{name}: {result.error}"
    assert result.pdf.startswith(b"%PDF")
    too_wide = overfull_boxes(result.log)
    assert not too_wide, f"{name} runs past the page: {too_wide[:5]}"


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if "columns" in n])
def test_wide_matrices_print_within_the_column_limit(compiled, name):
    """A matrix wider than MATRIX_LIMIT shows its first and last columns around a ⋯, so no printed
    matrix needs more than amsmath's default 10 columns, and the 16-column W1 is elided."""
    require_pdflatex(korean=name.endswith("[ko]"))
    matrices = re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", compiled[name].source, flags=re.S)
    widest = max(row.count("&") + 1 for body in matrices for row in re.split(r"\\\\", body))
    assert widest <= min(MATRIX_LIMIT, 10)
    if int(name.split()[0]) > MATRIX_LIMIT:
        assert r"\cdots" in compiled[name].source


def test_the_overfull_check_reads_pdflatex_logs():
    log = ("Overfull \\hbox (151.2pt too wide) detected at line 262\nOverfull \\hbox (0.5pt too wide) in paragraph\n"
           "Overfull \\vbox (12.0pt too high) has occurred while \\output is active")
    assert [width for width, _ in overfull_boxes(log)] == [151.2, 12.0]


def test_wide_networks_have_the_widths_asked_for():
    for width in WIDTHS:
        derivation, values = wide_network(width)
        assert np.shape(values["W1"])[1] == width
        assert derivation.network["W1"].shape[1] == width


# -- an equation stays on one page ----------------------------------------------------------------------

#: A row that continues the equation above it: no left side, it starts at the alignment mark.
_BREAKABLE_BEFORE_CONTINUATION = re.compile(r"(?<!\\)\\\\(?!\*)(\[[^\]]*\])?\s*\n\s*&")


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_no_page_break_inside_an_equation(compiled, name):
    """In the source: between two rows of one equation the row ends with ``\\\\*``, which forbids a
    page break (``\\allowdisplaybreaks`` still lets separate equations of one display part)."""
    require_pdflatex(korean=name.endswith("[ko]"))
    source = compiled[name].source
    assert r"\begin{align*}" in source
    breakable = _BREAKABLE_BEFORE_CONTINUATION.findall(source)
    assert not breakable, f"{name}: {len(breakable)} equations may break across pages"


def test_a_two_row_equation_is_never_split_across_pages():
    """The real display code placed at every height near the bottom of a page: both rows always land
    on the same page (pdftotext, page by page), while separate equations may part."""
    require_pdflatex()
    body = []
    heights = range(560, 660, 6)
    for k, height in enumerate(heights):
        body.append(f"\\newpage\\vspace*{{{height}pt}}\n\n")
        body.append(display((rf"\mathrm{{first{k}}} &= a", rf"&= \mathrm{{second{k}}}",
                             rf"\mathrm{{other{k}}} &= b")) + "\n")
    pages = _page_texts(typeset(latex_document("".join(body))).pdf)
    parted = 0
    for k in range(len(heights)):
        first = next(i for i, page in enumerate(pages) if f"first{k}" in page)
        second = next(i for i, page in enumerate(pages) if f"second{k}" in page)
        assert first == second, f"at {heights[k]} pt the equation's second row went to the next page"
        parted += f"other{k}" not in pages[first]
    assert parted > 0, "no height put the display at a page break: the check proves nothing"


# -- Korean documents -----------------------------------------------------------------------------------


def _korean_names() -> list[str]:
    return [name for name in NAMES if name.endswith("[ko]")]


@pytest.mark.slow
@pytest.mark.parametrize("name", _korean_names())
def test_no_english_word_is_hyphenated_in_korean(compiled, name):
    require_pdflatex(korean=True)
    hyphenated = [line.strip()[-30:] for page in _page_texts(compiled[name].pdf) for line in page.splitlines()
                  if re.search(r"[A-Za-z]-$", line.rstrip()) and not line.rstrip().endswith("--")]
    assert not hyphenated, f"{name}: words broken at the end of a line: {hyphenated[:5]}"


def test_the_hyphenation_check_sees_a_hyphenated_word():
    require_pdflatex()
    paragraph = "The gradient " * 60
    text = "".join(_page_texts(typeset(latex_document(f"\\parbox{{4cm}}{{{paragraph}}}\n")).pdf))
    assert re.search(r"[A-Za-z]-\s*$", text, flags=re.MULTILINE), "English text narrow enough to hyphenate"


@pytest.mark.slow
def test_the_korean_pdf_is_about_as_small_as_the_english_one(compiled):
    require_pdflatex(korean=True)
    english = len(compiled["derive (reference) [en]"].pdf)
    korean = len(compiled["derive (reference) [ko]"].pdf)
    assert korean < 2.5 * english, f"the Korean PDF is {korean} bytes against {english} in English"


@pytest.mark.slow
def test_korean_text_can_be_searched_and_copied(compiled):
    """Each Hangul syllable carries its own text, so a reader (and pdftotext) gets the words back."""
    require_pdflatex(korean=True)
    text = " ".join("".join(_page_texts(compiled["derive (reference) [ko]"].pdf)).split())
    for words in ("단계별 유도", "수학적 표현", "손실 함수를 직접 미분", "출력층에서 시작"):
        assert words in text


# -- rule sentences: math in math font -----------------------------------------------------------------

#: What only math has: operators, Greek letters, super- and subscripts, a function applied f(z), a lone
#: variable (a letter on its own: "a" is English, the others are symbols).
_MATH_IN_TEXT = re.compile(r"[−+=·⊙⊘∘ᵀ√σφΦ²ⁿ⁻¹/∂≤≥×÷]|[A-Za-z]\(|(?<![A-Za-z'’-])[b-zB-Z](?![A-Za-z'’-])")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rule_sentences_put_their_math_in_math_mode(lang):
    """"(h − y)" in a rule sentence is math, set by TeX and KaTeX in math font, not letters of the text."""
    found = []
    for key, rule in RULES.items():
        words = "".join(part for part in MARKUP.split(rule.explanation[lang]) if not part.startswith("$"))
        if _MATH_IN_TEXT.search(words):
            found.append((key, rule.explanation[lang]))
    assert not found, f"math outside $…$: {found}"


def test_the_math_check_sees_math_in_text():
    assert _MATH_IN_TEXT.search("the squared error gives (h − y)")
    assert _MATH_IN_TEXT.search("a slice passes its gradient to b")
    assert not _MATH_IN_TEXT.search("a value used in several places sums the gradients it receives")


def test_rule_sentences_math_parses_with_katex():
    need(katex_available(), "node with KaTeX is not available (run `npm install --no-save katex@0.16`)")
    formulas = [(part[1:-1], False) for rule in RULES.values() for text in rule.explanation.values()
                for part in MARKUP.split(text) if part.startswith("$") and part.endswith("$") and len(part) > 1]
    assert len(formulas) > 20
    assert not katex_errors(formulas)


# -- the HTML page in a browser: Korean words whole, table cells aligned ------------------------------

_WORDS_AND_CELLS = r"""
() => {
  const broken = [];
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('.katex, pre, code')) continue;
    const re = /\S*[\uac00-\ud7a3]\S*/g;
    for (let m = re.exec(node.data); m; m = re.exec(node.data)) {
      // a line may end after punctuation, "미만)|하거나", but never between two letters, "역|전파"
      const top = i => {
        const range = document.createRange();
        range.setStart(node, m.index + i);
        range.setEnd(node, m.index + i + 1);
        return Math.round(range.getBoundingClientRect().top);
      };
      for (let i = 0; i + 1 < m[0].length; i++) {
        if (/[\uac00-\ud7a3A-Za-z0-9]/.test(m[0][i]) && /[\uac00-\ud7a3A-Za-z0-9]/.test(m[0][i + 1])
            && top(i) !== top(i + 1)) broken.push(m[0]);
      }
    }
  }
  const cells = [...document.querySelectorAll('td, th')].map(cell => ({
    text: cell.textContent.trim(), align: getComputedStyle(cell).textAlign,
    column: cell.cellIndex, table: [...document.querySelectorAll('table')].indexOf(cell.closest('table'))}));
  return {broken, cells, wordBreak: getComputedStyle(document.querySelector('main p')).wordBreak};
}
"""


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_html_keeps_korean_words_whole_and_table_cells_aligned(lang, tmp_path):
    """In chromium at a phone's width: no Korean word is split across lines, and each table's number
    cells are right-aligned (the Table block's alignment reaches every cell)."""
    need(importlib.util.find_spec("playwright") is not None, "playwright is not installed (pip install playwright)")
    browser_path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    need(browser_path is not None, "chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "page.html"
    derivation = sbp.backprop(sbp.reference_network())
    derivation.write(page_path, values=sbp.reference_values(), lang=lang)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        view = browser.new_page(viewport={"width": 360, "height": 800})
        view.goto(page_path.resolve().as_uri())
        view.wait_for_load_state("load")
        found = view.evaluate(_WORDS_AND_CELLS)
        browser.close()
    if lang == "ko":
        assert found["wordBreak"] == "keep-all"
        assert not found["broken"], f"Korean words split across lines: {found['broken'][:10]}"
    numbers = [cell for cell in found["cells"] if re.fullmatch(r"[−-]?[0-9][0-9.]*", cell["text"])]
    assert len(numbers) > 5
    assert all(cell["align"] == "right" for cell in numbers), [c for c in numbers if c["align"] != "right"][:5]
