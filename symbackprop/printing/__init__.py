"""Documents of a derivation: LaTeX, Markdown and HTML that read like the reference page.

The printers only read the recorded steps (they never differentiate) and take
every number from ``Derivation.evaluate``.
"""

from .documents import compile_pdf, write
from .html import derivation_to_html
from .latex import derivation_to_latex, latex_document
from .markdown import derivation_to_markdown
from .options import DocumentBuildError, DocumentOptionError, Options

__all__ = [
    "DocumentBuildError", "DocumentOptionError", "Options", "compile_pdf", "derivation_to_html",
    "derivation_to_latex", "derivation_to_markdown", "latex_document", "write",
]
