"""Where a display row too wide for the line is broken: at its top-level ``=``, before the terms of a
sum or the factors of ⊙, and inside a parenthesised group that is still too wide on its own
(``\\left( A - B \\right)`` as ``\\left( A \\right.`` and ``\\left. - B \\right)`` on the next row).
"""

from __future__ import annotations

import functools
import re

from .widths import ROW_WIDTH, left_side, printed_width


def wrapped(rows: tuple[str, ...]) -> tuple[str, ...]:
    """Rows too wide for the line broken at their top-level ``=`` into aligned continuation rows
    (``A &= B = C`` becomes ``A &= B`` and ``&= C``), as many parts to a row as fit; a part still too
    wide is broken before its top-level ``+``, ``-`` or ``⊙`` (``&\\quad + D``), and one still too wide
    inside its parenthesised group."""
    out: list[str] = []
    for row in rows:
        for line in _broken_chain(row) if printed_width(row) > ROW_WIDTH else [row]:
            for part in _broken_terms(line) if printed_width(line) > ROW_WIDTH else [line]:
                out.extend(_broken_inside(part) if printed_width(part) > ROW_WIDTH else [part])
    return tuple(out)


#: Where a wide right side may be broken: before a sum's terms and between the factors of ⊙.
_TERM_BREAKS = (" + ", " - ", r" \odot ")


def _broken_terms(row: str) -> list[str]:
    split = _relation(row, r"&(=|\\leftarrow|\\quad)?\s*")
    if split is None:
        return [row]
    left, head = split
    parts = _top_level_parts(row[len(head):], _TERM_BREAKS)
    if parts is None or len(parts) == 1:
        return [row]
    lines = _packed(parts, ROW_WIDTH - printed_width(left))
    return [head + lines[0], *(rf"&\quad {line}" for line in lines[1:])]


def _broken_chain(row: str) -> list[str]:
    split = _relation(row, r"&(=|\\leftarrow)?\s*")
    if split is None or (not split[0] and not row.startswith("&")):
        return [row]
    left, head = split
    parts = _top_level_parts(row[len(head):], (" = ",))
    if parts is None or len(parts) == 1:
        return [row]
    lines = _packed(parts, ROW_WIDTH - printed_width(left), lead=False)
    return [head + lines[0], *(f"&= {line}" for line in lines[1:])]


def _relation(row: str, relation: str) -> tuple[str, str] | None:
    """A row's left side and its head (the left side, the alignment mark and the relation), or None when
    the row has no such relation after its alignment mark."""
    left = left_side(row)
    found = re.match(relation, row[len(left):])
    return None if found is None else (left, row[:len(left) + found.end()])


def _packed(parts: list[tuple[str, str]], room: int, *, lead: bool = True) -> list[str]:
    """Parts (each with the separator before it) as few lines as fit in ``room``, a line after the first
    starting with its separator (``lead``) or without it (the caller writes it as the row's relation)."""
    lines, current = [], parts[0][1]
    for separator, part in parts[1:]:
        if printed_width(current + separator + part) > room:
            lines.append(current)
            current = separator.lstrip() + part if lead else part
        else:
            current += separator + part
    lines.append(current)
    return lines


def _top_level_parts(math: str, separators: tuple[str, ...]) -> list[tuple[str, str]] | None:
    """``math`` split before each of ``separators`` outside braces, environments and ``\\left … \\right``,
    each part with the separator before it (the first with none); None when it holds an alignment mark."""
    tokens = _tokens_with(separators)
    parts, depth, start, position, before = [], 0, 0, 0, ""
    while (token := tokens.search(math, position)) is not None:
        found, index = token.group(), token.start()
        position = token.end()
        if found in separators:
            if depth == 0 and index > start:
                parts.append((before, math[start:index].strip()))
                before, start = found, position
            else:
                position = index + 1  # not a split here: read on from the separator's next character
        elif found in ("{", r"\begin", r"\left"):
            depth += 1
        elif found in ("}", r"\end", r"\right"):
            depth -= 1
        elif found == "&" and depth == 0:
            return None
    parts.append((before, math[start:].strip()))
    return parts


@functools.cache
def _tokens_with(separators: tuple[str, ...]) -> re.Pattern[str]:
    """What :func:`_top_level_parts` reads: nesting marks, escapes (skipped whole), ``&`` and the separators."""
    return re.compile(r"\\(?:begin|left|end|right)\b|\\.|[{}&]|" + "|".join(map(re.escape, separators)), re.S)


_NESTING = re.compile(r"\\(?P<kind>left|right)\b\s*(?:\\[A-Za-z]+|\\.|.)|\\begin\b|\\end\b|\\.|[{}]")


def _broken_inside(row: str) -> list[str]:
    """A row whose widest part is one parenthesised group, broken before the group's own top-level
    terms: ``\\left( A - B \\right)`` as ``\\left( A \\right.`` and, on the next row, ``\\left. - B \\right)``
    (the delimiters of each row sized to its content, matrices of one height on both); a group of one
    term is opened in turn (``\\left(-\\left(A - B\\right)\\right)``)."""
    split = _relation(row, r"&(=|\\leftarrow|\\quad)?\s*")
    if split is None:
        return [row]
    left, head = split
    lines = _split_groups(row[len(head):], ROW_WIDTH - printed_width(left))
    if lines is None:
        return [row]
    return [head + lines[0], *(rf"&\quad {line}" for line in lines[1:])]


def _split_groups(math: str, room: int) -> list[str] | None:
    """``math`` as rows that each balance their delimiters, split inside its first group that has
    top-level terms (looking into groups of one term); None where no group has any."""
    for opening, closing in _top_level_groups(math):
        before, inner, after = math[:opening.end()], math[opening.end():closing.start()], math[closing.start():]
        parts = _top_level_parts(inner, _TERM_BREAKS)
        if parts is None:
            continue
        if len(parts) == 1:
            lines = _split_groups(inner, room)
        else:
            lines = _packed(parts, room - printed_width(before))
        if lines is None or len(lines) == 1:
            continue
        lines = [piece for line in lines for piece in _narrower(line, room - printed_width(before))]
        opened = [rf"\left. {line}" for line in lines[1:]]
        return [f"{before} {lines[0]} \\right.", *(f"{line} \\right." for line in opened[:-1]), f"{opened[-1]} {after}"]
    return None


def _narrower(line: str, room: int) -> list[str]:
    """A line of a split group, split again inside its own groups where it is still too wide."""
    if printed_width(line) <= room:
        return [line]
    return _split_groups(line, room) or [line]


def _top_level_groups(math: str) -> list[tuple[re.Match[str], re.Match[str]]]:
    """Each ``\\left … \\right`` pair of ``math`` outside braces and environments (a group inside a matrix
    is never split): the match of its opening and of its closing."""
    groups, depth, opening = [], 0, None
    for mark in _NESTING.finditer(math):
        kind = mark.group("kind")
        if kind == "left":
            if depth == 0:
                opening = mark
            depth += 1
        elif kind == "right":
            depth -= 1
            if depth == 0 and opening is not None:
                groups.append((opening, mark))
            opening = opening if depth else None
        elif mark.group() in ("{", r"\begin"):
            depth += 1
        elif mark.group() in ("}", r"\end"):
            depth -= 1
    return groups
