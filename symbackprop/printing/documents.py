"""Writing a derivation to a file: ``.tex`` (a standalone article), ``.md``, ``.html`` (a page whose
math KaTeX renders), or ``.pdf`` through pdflatex.

A ``.tex``, ``.html`` or ``.pdf`` document with values and the gradient-flow
section also shows a plot of the gradient norm per layer where matplotlib is
installed: a PNG written beside the ``.tex`` file (or embedded in the page, or
compiled into the PDF).  The strings of :func:`derivation_to_latex` never refer
to a file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import write_atomically
from ..errors import FileWriteError
from .html import derivation_to_html
from .latex import derivation_to_latex
from .markdown import derivation_to_markdown
from .options import DocumentBuildError, DocumentOptionError

if TYPE_CHECKING:
    from ..derivation import Derivation

FORMATS = (".tex", ".md", ".markdown", ".html", ".htm", ".pdf")
INSTALL_LATEX = "apt-get install texlive-latex-base texlive-lang-korean latexmk"


def write(derivation: Derivation, path: Any, values: Mapping[str, Any] | None = None, **options: Any) -> Path:
    """Write the document in the format its suffix names; returns the path written."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".tex":
        figure = target.parent / figure_name(target)
        source = derivation_to_latex(derivation, values, standalone=True, figure=figure, **options)
        write_atomically(target, source)
    elif suffix in (".md", ".markdown"):
        write_atomically(target, derivation_to_markdown(derivation, values, **options))
    elif suffix in (".html", ".htm"):
        with tempfile.TemporaryDirectory(prefix="symbackprop-") as directory, _named_as(target):
            figure = Path(directory) / figure_name(target)
            page = derivation_to_html(derivation, values, figure=figure, **options)
        write_atomically(target, page)
    elif suffix == ".pdf":
        with tempfile.TemporaryDirectory(prefix="symbackprop-") as directory, _named_as(target):
            figure = Path(directory) / figure_name(target)
            source = derivation_to_latex(derivation, values, standalone=True, figure=figure, **options)
            files = {figure.name: figure.read_bytes()} if figure.exists() else {}
        write_atomically(target, compile_pdf(source, files=files))
    else:
        raise DocumentOptionError(f"cannot write {target.name!r}: use a file name ending in {', '.join(FORMATS)}")
    return target


@contextmanager
def _named_as(target: Path) -> Iterator[None]:
    """A failure to write a file in a temporary folder (the plot put inside a page) reported as the target's."""
    try:
        yield
    except FileWriteError as error:
        reason = os.strerror(error.errno) if error.errno else "a temporary file could not be written"
        raise FileWriteError(f"cannot write {target}: {reason}; any earlier file there is unchanged",
                             target, error.errno) from None


def figure_name(target: Path) -> str:
    """``name-gradient-flow.png`` for ``name.tex``, in characters any TeX accepts in a file name."""
    stem = re.sub(r"[^A-Za-z0-9.-]+", "-", target.stem).strip("-.") or "derivation"
    return f"{stem}-gradient-flow.png"


def compile_pdf(source: str, *, timeout: float = 60, files: Mapping[str, bytes] | None = None) -> bytes:
    """The PDF pdflatex makes of a standalone document (one pass: the document has no references);
    ``files`` (name → content) are put beside it first, such as the pictures it includes.

    Every failure is a :class:`DocumentBuildError` that says what to install or what went wrong.
    """
    return typeset(source, timeout=timeout, files=files).pdf


@dataclass(frozen=True)
class Typeset:
    """A compiled document: the PDF and pdflatex's log (overfull lines, fonts, warnings)."""

    pdf: bytes
    log: str


def typeset(source: str, *, timeout: float = 60, files: Mapping[str, bytes] | None = None) -> Typeset:
    """:func:`compile_pdf` that also returns pdflatex's whole log, for checking how the pages came out."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise DocumentBuildError(f"writing a PDF needs pdflatex, which was not found; install TeX Live with: "
                                 f"{INSTALL_LATEX} (or write .tex and compile it yourself)")
    with tempfile.TemporaryDirectory(prefix="symbackprop-") as directory:
        tex = Path(directory) / "derivation.tex"
        tex.write_text(source, encoding="utf-8")
        for name, content in (files or {}).items():
            (Path(directory) / name).write_bytes(content)
        try:
            run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name],
                                 cwd=directory, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise DocumentBuildError(f"pdflatex did not finish within {timeout:g} s") from None
        pdf = tex.with_suffix(".pdf")
        output = run.stdout.decode("utf-8", "replace")
        if run.returncode != 0 or not pdf.exists():
            raise DocumentBuildError(_pdflatex_failure(output))
        log = tex.with_suffix(".log")
        return Typeset(pdf.read_bytes(), log.read_text("utf-8", "replace") if log.exists() else output)


def _pdflatex_failure(log: str) -> str:
    errors = [line for line in log.splitlines() if line.startswith("!")]
    message = "pdflatex failed: " + ("; ".join(errors[:3]) or log[-500:])
    if "kotex.sty" in message:
        return message + "; Korean documents need kotex: apt-get install texlive-lang-korean"
    if "not found" in message:
        return message + f"; install the missing LaTeX package ({INSTALL_LATEX})"
    return message
