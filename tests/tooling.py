"""The external tools the document tests use: pdflatex (with kotex) and KaTeX under node.

A test that needs a missing tool skips with the reason, except where
``SYMBACKPROP_REQUIRE_TOOLS=1`` (CI): there a missing tool is a failure.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_TOOLS = os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1"

_KATEX_SCRIPT = r"""
const katex = require('katex');
const formulas = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const errors = [];
for (const [i, f] of formulas.entries()) {
  try {
    katex.renderToString(f.tex, {displayMode: f.display, throwOnError: true, strict: 'error'});
  } catch (e) {
    errors.push({index: i, message: String(e.message)});
  }
}
process.stdout.write(JSON.stringify(errors));
"""


def need(available: bool, reason: str) -> None:
    """Skip (or, where tools are required, fail) unless ``available``."""
    if available:
        return
    if REQUIRE_TOOLS:
        pytest.fail(f"{reason}, and SYMBACKPROP_REQUIRE_TOOLS=1 forbids skipping")
    pytest.skip(reason)


def require_tool(name: str, install: str) -> None:
    """Skip (or fail, in CI) because ``name`` is not installed; ``install`` says how to get it."""
    need(False, f"{name} is not installed ({install})")


def network_examples() -> list[Path]:
    """The examples that define a network ``net`` at top level (the others are feature scripts)."""
    found = []
    for path in sorted((ROOT / "examples").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "net" for t in node.targets)
               for node in tree.body):
            found.append(path)
    return found


@cache
def pdflatex() -> str | None:
    return shutil.which("pdflatex")


@cache
def has_kotex() -> bool:
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich is None:
        return False
    found = subprocess.run([kpsewhich, "kotex.sty"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


@cache
def katex_available() -> bool:
    node = shutil.which("node")
    if node is None:
        return False
    probe = subprocess.run([node, "-e", "require('katex')"], cwd=ROOT, capture_output=True, check=False)
    return probe.returncode == 0


def require_pdflatex(korean: bool = False) -> None:
    need(pdflatex() is not None, "pdflatex is not installed")
    if korean:
        need(has_kotex(), "the kotex package (texlive-lang-korean) is not installed")


def require_katex() -> None:
    need(katex_available(), "node with KaTeX is not available (run `npm install --no-save katex@0.16`)")


@dataclass
class Compiled:
    ok: bool
    log: str
    pdf: bytes | None

    @property
    def errors(self) -> list[str]:
        return [line for line in self.log.splitlines() if line.startswith("!")]


def compile_latex(source: str, directory: Path | None = None, name: str = "document") -> Compiled:
    """Run pdflatex -halt-on-error on a standalone document."""
    with tempfile.TemporaryDirectory(prefix="symbackprop-test-") as scratch:
        where = Path(directory or scratch)
        tex = where / f"{name}.tex"
        tex.write_text(source, encoding="utf-8")
        run = subprocess.run([pdflatex(), "-interaction=nonstopmode", "-halt-on-error", tex.name],
                             cwd=where, capture_output=True, timeout=120, check=False)
        pdf = tex.with_suffix(".pdf")
        log = run.stdout.decode("utf-8", "replace")
        return Compiled(run.returncode == 0 and pdf.exists(), log, pdf.read_bytes() if pdf.exists() else None)


_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$(?!\$)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def markdown_math(markdown: str) -> list[tuple[str, bool]]:
    """Every ``$$…$$`` (display) and ``$…$`` (inline) formula of a Markdown text, code blocks excepted."""
    text = _FENCE.sub("", markdown)
    formulas = [(m.group(1).strip(), True) for m in _DISPLAY.finditer(text)]
    rest = _DISPLAY.sub(" ", text)
    formulas += [(m.group(1), False) for m in _INLINE.finditer(rest)]
    return formulas


class _AutoRenderText(HTMLParser):
    """The runs of text KaTeX's auto-render scans: adjacent text nodes outside the tags it ignores."""

    IGNORED = {"script", "noscript", "style", "textarea", "pre", "code", "option"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[str] = []
        self.current: list[str] = []
        self.ignoring: list[str] = []

    def _end_run(self) -> None:
        if self.current:
            self.runs.append("".join(self.current))
            self.current = []

    def handle_starttag(self, tag, attrs):
        self._end_run()
        if tag in self.IGNORED:
            self.ignoring.append(tag)

    def handle_endtag(self, tag):
        self._end_run()
        if self.ignoring and self.ignoring[-1] == tag:
            self.ignoring.pop()

    def handle_comment(self, data):
        self._end_run()

    def handle_data(self, data):
        if not self.ignoring:
            self.current.append(data)


_AUTO_RENDER_DELIMITERS = (("$$", "$$", True), ("\\[", "\\]", True), ("$", "$", False), ("\\(", "\\)", False))


def _end_of_math(delimiter: str, text: str, start: int) -> int:
    """Where ``delimiter`` closes the formula, skipping braces and escaped characters (as auto-render does)."""
    index, braces = start, 0
    while index < len(text):
        if braces <= 0 and text.startswith(delimiter, index):
            return index
        if text[index] == "\\":
            index += 1
        elif text[index] == "{":
            braces += 1
        elif text[index] == "}":
            braces -= 1
        index += 1
    return -1


def html_math(page: str) -> list[tuple[str, bool]]:
    """Every formula KaTeX's auto-render finds in an HTML page's body, as (TeX, display), HTML entities decoded."""
    parser = _AutoRenderText()
    parser.feed(page[page.find("<body"):] if "<body" in page else page)
    parser.close()
    parser._end_run()
    formulas = []
    for text in parser.runs:
        while True:
            starts = [(text.find(left), left, right, display) for left, right, display in _AUTO_RENDER_DELIMITERS
                      if left in text]
            if not starts:
                break
            # The earliest delimiter wins; at one position the longer ($$ before $) comes first.
            position, left, right, display = min(starts, key=lambda s: s[0])
            end = _end_of_math(right, text, position + len(left))
            if end == -1:
                break
            formulas.append((text[position + len(left):end].strip(), display))
            text = text[end + len(right):]
    return formulas


def katex_errors(formulas: list[tuple[str, bool]]) -> list[tuple[int, str, str]]:
    """(position, formula, message) for every formula KaTeX rejects; one node process for all of them."""
    payload = json.dumps([{"tex": tex, "display": display} for tex, display in formulas])
    run = subprocess.run([shutil.which("node"), "-e", _KATEX_SCRIPT], input=payload, cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"node failed: {run.stderr}")
    return [(e["index"], formulas[e["index"]][0], e["message"]) for e in json.loads(run.stdout)]
