"""Documents of a derivation: LaTeX, Markdown and HTML that read like the reference page.

The printers only read the recorded steps (they never differentiate) and take
every number from ``Derivation.evaluate``. The names below are imported from their
modules when first used, so that writing Markdown does not load the HTML writer.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .documents import compile_pdf, write
    from .html import derivation_to_html
    from .latex import derivation_to_latex, latex_document
    from .markdown import derivation_to_markdown
    from .options import DocumentBuildError, DocumentOptionError, Options

_HOMES = {
    "DocumentBuildError": "options", "DocumentOptionError": "options", "Options": "options",
    "compile_pdf": "documents", "write": "documents", "derivation_to_html": "html",
    "derivation_to_latex": "latex", "latex_document": "latex", "derivation_to_markdown": "markdown",
}

__all__ = [
    "DocumentBuildError", "DocumentOptionError", "Options", "compile_pdf", "derivation_to_html",
    "derivation_to_latex", "derivation_to_markdown", "latex_document", "write",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
