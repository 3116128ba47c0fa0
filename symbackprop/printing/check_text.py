"""A gradient check as text: an aligned table (``print(report)`` and ``symbackprop check``), what each
oracle covered, and a Markdown table for notebooks.  The sentences are in :mod:`.report_prose`."""

from __future__ import annotations

import math
import unicodedata
from typing import TYPE_CHECKING, Any

from .report_prose import report_say

if TYPE_CHECKING:
    from ..checking import GradientCheck

#: Arrays with more elements than this are shown by their first and last elements and their shape.
CHECK_CELL_ELEMENTS = 6
#: What an element an oracle did not look at shows as.
NOT_CHECKED = "—"

_COLUMNS = ("parameter", "derived", "finite_differences", "sympy_diff", "error", "result")


def coverage(report: GradientCheck, lang: str = "en") -> str:
    """What each oracle covered: "sympy.diff: 24 of 1,476 elements; finite differences: 1,476 of 1,476"."""
    total = f"{report.elements:,}"
    symbolic = (report_say(lang, "check.coverage.skipped") if report.sympy_skipped else
                report_say(lang, "check.coverage.of", checked=f"{report.sympy_checked:,}", total=total))
    finite = report_say(lang, "check.coverage.of", checked=f"{report.finite_checked:,}", total=total)
    return report_say(lang, "check.coverage", sympy=symbolic, finite=finite)


def _rows(report: GradientCheck, lang: str) -> list[tuple[str, ...]]:
    rows = []
    for row in report.rows:
        rows.append((
            row.name,
            array_text(row.derived),
            array_text(row.finite_differences),
            report_say(lang, "check.skipped") if row.sympy_diff is None else array_text(row.sympy_diff),
            f"{row.max_relative_error:.2e}",
            report_say(lang, "check.pass" if row.passed else "check.fail"),
        ))
    return rows


def _closing(report: GradientCheck, lang: str) -> list[str]:
    lines = [report_say(lang, "check.note", note=note) for note in report.notes]
    lines.append(coverage(report, lang))
    if report.sympy_checked < report.elements or report.finite_checked < report.elements:
        lines.append(report_say(lang, "check.sampled"))
    failed = [r.name for r in report.rows if not r.passed]
    if failed:
        lines.append(report_say(lang, "check.mismatch", names=", ".join(failed), tolerance=report.tolerance))
    else:
        lines.append(report_say(lang, "check.ok", n=len(report.rows), tolerance=report.tolerance))
    return lines


def check_table(report: GradientCheck, lang: str = "en") -> str:
    """The check as an aligned text table, a line per parameter, what the oracles covered and a verdict."""
    header = tuple(report_say(lang, f"check.{column}") for column in _COLUMNS)
    rows = [header, *_rows(report, lang)]
    widths = [max(text_width(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, width) for cell, width in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines + _closing(report, lang))


def check_markdown(report: GradientCheck, lang: str = "en") -> str:
    """The check as a Markdown table for a notebook, the same cells as the text table."""
    header = tuple(report_say(lang, f"check.{column}") for column in _COLUMNS)

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    lines = [line(header), "| " + " | ".join(":---" if i == 0 else "---:" for i in range(len(header))) + " |"]
    lines += [line(r) for r in _rows(report, lang)]
    return "\n".join(lines) + "\n\n" + "\n\n".join(_closing(report, lang))


def text_width(cell: str) -> int:
    """Columns a terminal gives the text: two for each wide (Korean) character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in cell)


def _pad(cell: str, width: int) -> str:
    return cell + " " * (width - text_width(cell))


def _number(value: float) -> str:
    return NOT_CHECKED if math.isnan(value) else f"{value:.6g}"


def array_text(value: Any) -> str:
    """An array's numbers, "—" where an oracle did not look; long arrays by their ends and their shape."""
    import numpy as np

    array = np.asarray(value, dtype=float)
    shape = "×".join(str(n) for n in array.shape)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.size > CHECK_CELL_ELEMENTS:
        flat = [_number(v) for v in array.ravel()]
        return f"[{flat[0]}, {flat[1]}, …, {flat[-1]}] ({shape})"
    if array.ndim == 0:
        return _number(float(array))
    if array.ndim == 1:
        return "[" + ", ".join(_number(v) for v in array) + "]"
    return "[" + ", ".join("[" + ", ".join(_number(v) for v in row) + "]" for row in array) + "]"


__all__ = ["CHECK_CELL_ELEMENTS", "NOT_CHECKED", "array_text", "check_markdown", "check_table", "coverage",
           "text_width"]
