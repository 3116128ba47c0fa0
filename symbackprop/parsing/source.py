"""The text of an expression, its syntax tree, and the places in the text that messages point at."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ..errors import ExpressionError
from ..threads import SYNTAX_TREES
from .limits import Limits

__all__ = ["Source", "unquoted"]

_MAX_SNIPPET_LENGTH = 40
_LEADING_WHITESPACE = " \t\f\r\n"


@dataclass(frozen=True)
class Source:
    """The parsed tree together with what is needed to point at places in the text."""

    tree: ast.Expression
    parsed_text: str
    skipped_lines: int
    first_line_indent: int

    @classmethod
    def parse(cls, text: object, limits: Limits) -> Source:
        if not isinstance(text, str):
            raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
        # Length first: the parser's own cost and failure modes grow with the input.
        if len(text) > limits.max_length:
            raise ExpressionError(f"expression is {len(text)} characters long; the limit is {limits.max_length}")
        # ast.parse treats leading blanks as an indentation error, which a spec
        # author would find baffling, so they are skipped and offsets adjusted.
        parsed_text = text.lstrip(_LEADING_WHITESPACE)
        if not parsed_text.strip():
            raise ExpressionError("expression is empty")
        skipped = text[: len(text) - len(parsed_text)]
        skipped_lines = len(_split_lines(skipped)) - 1
        first_line_indent = len(_split_lines(skipped)[-1])
        tree = _parse_tree(parsed_text, skipped_lines, first_line_indent)
        return cls(tree, parsed_text, skipped_lines, first_line_indent)

    def where(self, node: ast.AST, *, column_shift: int = 0) -> str:
        """'column 5' (or 'line 2, column 5' in multi-line text) for the start of ``node``."""
        lines = _split_lines(self.parsed_text)
        line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
        # ast offsets count UTF-8 bytes; users count characters.
        characters_before = len(line.encode("utf-8")[: node.col_offset].decode("utf-8", "ignore"))
        return self._position(node.lineno, characters_before + 1 + column_shift)

    def snippet(self, node: ast.AST) -> str:
        """The text of ``node``, shortened and quoted so it fits on one line."""
        segment = ast.get_source_segment(self.parsed_text, node) or type(node).__name__
        segment = " ".join(segment.split())
        if len(segment) > _MAX_SNIPPET_LENGTH:
            segment = segment[: _MAX_SNIPPET_LENGTH - 3] + "..."
        return repr(segment)

    def segment(self, node: ast.AST) -> str:
        """The exact text of ``node`` (empty if the tree does not say where it is)."""
        return ast.get_source_segment(self.parsed_text, node) or ""

    def characters_between(self, node: ast.AST, byte_offset: int) -> int:
        """Characters between the start of ``node`` and ``byte_offset`` on its last line."""
        if node.end_lineno != node.lineno:
            return 0
        line = _split_lines(self.parsed_text)[node.lineno - 1].encode("utf-8")
        return len(line[node.col_offset : byte_offset].decode("utf-8", "ignore"))

    def _position(self, lineno: int, column: int) -> str:
        return _describe_position(lineno, column, self.skipped_lines, self.first_line_indent)


def unquoted(quoted: str) -> str:
    """A :meth:`Source.snippet` without its quotes, for text that reads better bare."""
    return quoted[1:-1] if len(quoted) >= 2 and quoted[0] == quoted[-1] == "'" else quoted


def _parse_tree(parsed_text: str, skipped_lines: int, first_line_indent: int) -> ast.Expression:
    try:
        with SYNTAX_TREES:  # CPython 3.11 cannot build two syntax trees at once (see symbackprop.threads)
            return ast.parse(parsed_text, mode="eval")
    except SyntaxError as error:
        # Also covers CPython's "too many nested parentheses".
        message = " ".join(str(error.msg).split())
        if error.lineno and error.offset and error.offset > 0:
            where = _describe_position(error.lineno, error.offset, skipped_lines, first_line_indent)
            raise ExpressionError(f"syntax error at {where}: {message}") from None
        raise ExpressionError(f"syntax error: {message}") from None
    except ValueError as error:  # null bytes on older CPython versions
        raise ExpressionError(f"syntax error: {error}") from None
    except (RecursionError, MemoryError):
        # CPython gives up on deeply nested input with these instead of SyntaxError.
        raise ExpressionError("expression is nested too deeply to parse") from None


def _describe_position(lineno: int, column: int, skipped_lines: int, first_line_indent: int) -> str:
    if lineno == 1:
        column += first_line_indent
    lineno += skipped_lines
    if lineno == 1:
        return f"column {column}"
    return f"line {lineno}, column {column}"


def _split_lines(text: str) -> list[str]:
    # The tokenizer's notion of a line break, which is narrower than str.splitlines.
    return re.split(r"\r\n|\r|\n", text)
