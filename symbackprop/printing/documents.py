"""Writing a derivation to a file: ``.tex`` (a standalone article), ``.md``, or ``.pdf`` through pdflatex."""

from __future__ import annotations

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
        target.write_text(derivation_to_latex(derivation, values, standalone=True, **options), encoding="utf-8")
    elif suffix in (".md", ".markdown"):
        target.write_text(derivation_to_markdown(derivation, values, **options), encoding="utf-8")
    elif suffix == ".pdf":
        source = derivation_to_latex(derivation, values, standalone=True, **options)
        target.write_bytes(compile_pdf(source))
    else:
        raise DocumentOptionError(f"cannot write {target.name!r}: use a file name ending in {', '.join(FORMATS)}")
    return target


def compile_pdf(source: str, *, timeout: float = 60) -> bytes:
    """The PDF pdflatex makes of a standalone document (one pass: the document has no references)."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise DocumentBuildError("writing a PDF needs pdflatex (TeX Live); write a .tex file instead")
    with tempfile.TemporaryDirectory(prefix="symbackprop-") as directory:
        tex = Path(directory) / "derivation.tex"
        tex.write_text(source, encoding="utf-8")
        run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name],
                             cwd=directory, capture_output=True, timeout=timeout, check=False)
        pdf = tex.with_suffix(".pdf")
        if run.returncode != 0 or not pdf.exists():
            log = run.stdout.decode("utf-8", "replace")
            errors = [line for line in log.splitlines() if line.startswith("!")]
            raise DocumentBuildError("pdflatex failed: " + ("; ".join(errors[:3]) or log[-500:]))
        return pdf.read_bytes()
