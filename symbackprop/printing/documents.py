"""Writing a derivation to a file: ``.tex`` (a standalone article), ``.md``, or ``.pdf`` through pdflatex.

A ``.tex`` or ``.pdf`` document with values and the gradient-flow section also
shows a plot of the gradient norm per layer where matplotlib is installed: a
PNG written beside the ``.tex`` file (or compiled into the PDF).  The strings
of :func:`derivation_to_latex` never refer to a file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .latex import derivation_to_latex
from .markdown import derivation_to_markdown
from .options import DocumentBuildError, DocumentOptionError

if TYPE_CHECKING:
    from ..derivation import Derivation

FORMATS = (".tex", ".md", ".markdown", ".pdf")


def write(derivation: Derivation, path: Any, values: Mapping[str, Any] | None = None, **options: Any) -> Path:
    """Write the document in the format its suffix names; returns the path written."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".tex":
        figure = target.parent / figure_name(target)
        source = derivation_to_latex(derivation, values, standalone=True, figure=figure, **options)
        target.write_text(source, encoding="utf-8")
    elif suffix in (".md", ".markdown"):
        target.write_text(derivation_to_markdown(derivation, values, **options), encoding="utf-8")
    elif suffix == ".pdf":
        with tempfile.TemporaryDirectory(prefix="symbackprop-") as directory:
            figure = Path(directory) / figure_name(target)
            source = derivation_to_latex(derivation, values, standalone=True, figure=figure, **options)
            files = {figure.name: figure.read_bytes()} if figure.exists() else {}
        target.write_bytes(compile_pdf(source, files=files))
    else:
        raise DocumentOptionError(f"cannot write {target.name!r}: use a file name ending in {', '.join(FORMATS)}")
    return target


def figure_name(target: Path) -> str:
    """``name-gradient-flow.png`` for ``name.tex``, in characters any TeX accepts in a file name."""
    stem = re.sub(r"[^A-Za-z0-9.-]+", "-", target.stem).strip("-.") or "derivation"
    return f"{stem}-gradient-flow.png"


def compile_pdf(source: str, *, timeout: float = 60, files: Mapping[str, bytes] | None = None) -> bytes:
    """The PDF pdflatex makes of a standalone document (one pass: the document has no references);
    ``files`` (name → content) are put beside it first, such as the pictures it includes."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise DocumentBuildError("writing a PDF needs pdflatex (TeX Live); write a .tex file instead")
    with tempfile.TemporaryDirectory(prefix="symbackprop-") as directory:
        tex = Path(directory) / "derivation.tex"
        tex.write_text(source, encoding="utf-8")
        for name, content in (files or {}).items():
            (Path(directory) / name).write_bytes(content)
        run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name],
                             cwd=directory, capture_output=True, timeout=timeout, check=False)
        pdf = tex.with_suffix(".pdf")
        if run.returncode != 0 or not pdf.exists():
            log = run.stdout.decode("utf-8", "replace")
            errors = [line for line in log.splitlines() if line.startswith("!")]
            raise DocumentBuildError("pdflatex failed: " + ("; ".join(errors[:3]) or log[-500:]))
        return pdf.read_bytes()
