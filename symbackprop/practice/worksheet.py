"""``sbp.exercise``: a worksheet of a network's backward pass, with fresh numbers and an answer key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_atomically
from ..choices import LANGUAGES
from ..derivation import Derivation
from ..errors import OptionError
from ..printing import html, latex, markdown
from ..printing.documents import compile_pdf
from ..printing.katex import MATHML, katex_head, resolve_katex
from ..printing.mathml import with_mathml
from ..printing.options import DocumentOptionError
from .drawing import drawn_values
from .grading import PracticeNumbers
from .quantities import blank_quantities, check_practicable
from .sheet import SHEET_PROSE, sheet_blocks

FORMATS = (".tex", ".md", ".markdown", ".html", ".htm", ".pdf")


class Exercise:
    """A worksheet: the derivation, the numbers used (``values``), the gradients asked for (``blanks``)
    and their answers (``key``: by quantity, the numbers ``evaluate`` gives)."""

    def __init__(self, derivation: Derivation, values: dict[str, Any], blanks: list[str], *, lang: str,
                 decimals: int, seed: int | None) -> None:
        self.derivation = derivation
        self.values = values
        self.blanks = blanks
        self.lang = lang
        self.decimals = decimals
        self.seed = seed
        evaluation = PracticeNumbers(derivation, values).public
        self.key = {name: np.array(evaluation.grad[name]) for name in blanks}

    @property
    def answers(self) -> dict[str, np.ndarray]:
        """The key as an answers mapping ({"dW2": ...}), which :func:`symbackprop.grade` grades correct."""
        return {f"d{name}": value for name, value in self.key.items()}

    def __repr__(self) -> str:
        return f"<Exercise: {len(self.blanks)} gradients of {self.derivation.loss} to fill in>"

    def to_latex(self, *, key: bool = False) -> str:
        return latex.latex_document(latex.render(sheet_blocks(self, key=key)), lang=self.lang)

    def to_markdown(self, *, key: bool = False) -> str:
        return markdown.render(sheet_blocks(self, key=key))

    def to_html(self, *, key: bool = False, katex: str = "auto") -> str:
        source = resolve_katex(katex)
        body = html.render(sheet_blocks(self, key=key))
        if source == MATHML:
            body = with_mathml(body)
        title = SHEET_PROSE[self.lang]["title.key" if key else "title"]
        return html.html_page(body, title=title, lang=self.lang, katex_head=katex_head(source),
                              render_call=source != MATHML)

    def write(self, path: Any) -> Path:
        """The worksheet: ``.tex``, ``.md``, ``.html`` or ``.pdf``, chosen by the suffix."""
        return self._write(path, key=False)

    def write_key(self, path: Any) -> Path:
        """The answer key, in the format the suffix names."""
        return self._write(path, key=True)

    def _write(self, path: Any, *, key: bool) -> Path:
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == ".tex":
            write_atomically(target, self.to_latex(key=key))
        elif suffix in (".md", ".markdown"):
            write_atomically(target, self.to_markdown(key=key))
        elif suffix in (".html", ".htm"):
            write_atomically(target, self.to_html(key=key))
        elif suffix == ".pdf":
            write_atomically(target, compile_pdf(self.to_latex(key=key)))
        else:
            raise DocumentOptionError(f"cannot write {target.name!r}: use a file name ending in {', '.join(FORMATS)}")
        return target


def exercise(d: Derivation, values: dict[str, Any] | None = None, *, seed: int = 0, blanks: Any = "backward",
             lang: str = "en", decimals: int = 2) -> Exercise:
    """A worksheet of ``d``'s backward pass: at ``values``, or at hand-friendly numbers drawn from ``seed``.

    ``blanks``: "backward" (every node's and parameter's gradient is a box), "parameters", or a
    list of quantity names.
    """
    check_practicable(d)
    if lang not in LANGUAGES:
        raise OptionError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 6:
        raise OptionError(f"decimals must be an integer from 0 to 6, not {decimals!r}")
    names = blank_quantities(d, blanks)
    drawn = values is None
    values = drawn_values(d, seed) if drawn else values
    return Exercise(d, values, names, lang=lang, decimals=decimals, seed=seed if drawn else None)


__all__ = ["Exercise", "exercise"]
