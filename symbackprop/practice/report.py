"""A graded backward pass: its rows, and the table they print as (text, Markdown, HTML)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

PASSING = ("correct", "rounded")
#: The column headings of the table, per language.
HEADINGS = {"en": ("quantity", "verdict", "mistake", "hint"), "ko": ("값", "판정", "실수", "힌트")}
VERDICT_WORDS = {
    "en": {v: v for v in ("correct", "rounded", "upstream", "wrong", "missing", "unreadable")},
    "ko": {"correct": "맞음", "rounded": "반올림 맞음", "upstream": "앞 단계 영향", "wrong": "틀림",
           "missing": "답 없음", "unreadable": "읽을 수 없음"},
}


@dataclass(frozen=True)
class Row:
    """One quantity of the backward pass: its verdict, the mistake's code (a wrong row) and a sentence."""

    name: str
    verdict: str
    mistake: str | None
    hint: str
    expected: np.ndarray
    given: Any = None

    @property
    def passed(self) -> bool:
        return self.verdict in PASSING


class Grade:
    """The rows of a graded backward pass, in the order the backward pass computes them."""

    def __init__(self, rows: tuple[Row, ...], lang: str = "en", loss: str = "L") -> None:
        self.rows = rows
        self.lang = lang
        self.loss = loss

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    @property
    def first_wrong(self) -> str | None:
        """The first quantity, in the backward order, whose answer is wrong (not merely carried), or None."""
        return next((row.name for row in self.rows if row.verdict == "wrong"), None)

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    def __repr__(self) -> str:
        counts = {}
        for row in self.rows:
            counts[row.verdict] = counts.get(row.verdict, 0) + 1
        summary = ", ".join(f"{n} {v}" for v, n in counts.items())
        return f"<Grade of {len(self.rows)} quantities: {summary}>"

    def to_text(self) -> str:
        """A plain table, one row per line, as the command prints it."""
        cells = [self._cells(row) for row in self.rows]
        heading = HEADINGS[self.lang]
        widths = [max(_width(c) for c in column) for column in zip(heading[:3], *[c[:3] for c in cells])]
        lines = ["  ".join(_pad(h, w) for h, w in zip(heading[:3], widths)) + "  " + heading[3]]
        lines += ["  ".join(_pad(c, w) for c, w in zip(cell[:3], widths)) + "  " + cell[3] for cell in cells]
        return "\n".join(line.rstrip() for line in lines) + "\n"

    def to_markdown(self) -> str:
        heading = HEADINGS[self.lang]
        lines = ["| " + " | ".join(heading) + " |", "|" + "---|" * len(heading)]
        for row in self.rows:
            cells = [c.replace("|", "\\|") for c in self._cells(row)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        heading = "".join(f"<th>{html.escape(h)}</th>" for h in HEADINGS[self.lang])
        body = []
        for row in self.rows:
            cells = "".join(f"<td>{html.escape(c)}</td>" for c in self._cells(row))
            body.append(f'<tr class="sbp-{row.verdict}">{cells}</tr>')
        return (f'<table class="sbp-grade"><thead><tr>{heading}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table>")

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()

    def _cells(self, row: Row) -> tuple[str, str, str, str]:
        return (f"∂{self.loss}/∂{row.name}", VERDICT_WORDS[self.lang][row.verdict], row.mistake or "", row.hint)


def _width(text: str) -> int:
    # a Hangul syllable takes two columns of a terminal
    return sum(2 if "\uac00" <= ch <= "\ud7a3" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


__all__ = ["Grade", "HEADINGS", "PASSING", "Row"]
