"""The options every document takes, checked once, and the errors a document can raise."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

from ..choices import ANALYSES, PAGES, PAPERS
from ..errors import SymbackpropError
from ..reference import REFERENCE_LEARNING_RATE
from .abridge import ABRIDGE
from .prose import LANGUAGES

#: The optional sections after the chain rule (:data:`symbackprop.choices.ANALYSES`).
SECTIONS = ANALYSES


class DocumentOptionError(SymbackpropError, ValueError):
    """A document option has a value the printers cannot use."""


class DocumentBuildError(SymbackpropError, RuntimeError):
    """A document could not be built into a file (for instance, no pdflatex for a PDF)."""


@dataclass(frozen=True)
class Options:
    """``lang`` "en" or "ko"; ``digits`` significant digits of decimals; ``links`` Obsidian
    [[wikilinks]] in Markdown; ``learning_rate`` η of the update step; ``title`` of the
    document; ``code`` adds the generated NumPy code; ``sections`` names the page's later
    sections to add (any of "efficiency", "flow" and "memory"; "flow" needs values; ``()``
    leaves them all out); ``batch_size`` is the batch the memory section counts numbers for;
    ``decimals`` rounds decimals to that many places after the point instead of ``digits``
    significant digits (2 prints the page's 1.78 and −1.46); ``page`` is "derivation" (the
    derivation and its sections) or "full" (every section of the reference page, in its order,
    each built from this network); ``interactive`` (HTML only) adds the clickable graph; ``paper`` is the
    page size of a standalone LaTeX document and its PDF, "letter" (LaTeX's default) or "a4";
    ``practice`` (HTML, with values) makes the interactive page ask for each gradient's numbers
    before it shows them; ``abridge`` is the most items (forward equations, layers of backward steps,
    steps of one layer) a pass writes out: a longer one writes its first and last halves and how many it leaves out
    between them (None writes every item)."""

    lang: str = "en"
    digits: int = 4
    links: bool = False
    learning_rate: Any = REFERENCE_LEARNING_RATE
    title: str | None = None
    code: bool = False
    sections: tuple[str, ...] = SECTIONS
    batch_size: int = 32
    decimals: int | None = None
    page: str = "derivation"
    interactive: bool = False
    paper: str = "letter"
    practice: bool = False
    abridge: int | None = ABRIDGE

    def __post_init__(self) -> None:
        if self.lang not in LANGUAGES:
            raise DocumentOptionError(f"unknown language {self.lang!r}; use one of {', '.join(LANGUAGES)}")
        if isinstance(self.digits, bool) or not isinstance(self.digits, int) or not 1 <= self.digits <= 17:
            raise DocumentOptionError(f"digits must be an integer from 1 to 17, got {self.digits!r}")
        if isinstance(self.learning_rate, bool) or not isinstance(self.learning_rate, (int, float, Fraction)) and not (
                hasattr(self.learning_rate, "is_number") and self.learning_rate.is_number):
            raise DocumentOptionError(f"learning_rate must be a number, got {self.learning_rate!r}")
        try:
            finite = math.isfinite(float(self.learning_rate))
        except (TypeError, ValueError, OverflowError):  # sp.I, a complex number, has no float
            finite = False
        if not finite:
            raise DocumentOptionError(f"learning_rate must be a finite real number, got {self.learning_rate!r}")
        if self.title is not None and not isinstance(self.title, str):
            raise DocumentOptionError(f"title must be text, got {type(self.title).__name__}")
        if isinstance(self.sections, str) or not isinstance(self.sections, Iterable):
            raise DocumentOptionError(f"sections must be a tuple of section names ({', '.join(SECTIONS)}), "
                                      f"got {self.sections!r}")
        sections = tuple(self.sections)
        unknown = [s for s in sections if s not in SECTIONS]
        if unknown:
            raise DocumentOptionError(f"unknown section(s) {', '.join(map(repr, unknown))}; "
                                      f"use any of {', '.join(SECTIONS)}")
        object.__setattr__(self, "sections", tuple(s for s in SECTIONS if s in sections))  # the page's order
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise DocumentOptionError(f"batch_size must be a positive integer, got {self.batch_size!r}")

        if self.decimals is not None and (isinstance(self.decimals, bool) or not isinstance(self.decimals, int)
                                          or not 0 <= self.decimals <= 15):
            raise DocumentOptionError(f"decimals must be an integer from 0 to 15, got {self.decimals!r}")
        if self.page not in PAGES:
            raise DocumentOptionError(f"unknown page {self.page!r}; use one of {', '.join(PAGES)}")
        if self.paper not in PAPERS:
            raise DocumentOptionError(f"unknown paper {self.paper!r}; use one of {', '.join(PAPERS)}")
        if not isinstance(self.interactive, bool):
            raise DocumentOptionError(f"interactive must be True or False, got {self.interactive!r}")
        if not isinstance(self.practice, bool):
            raise DocumentOptionError(f"practice must be True or False, got {self.practice!r}")
        if self.abridge is not None and (isinstance(self.abridge, bool) or not isinstance(self.abridge, int)
                                         or self.abridge < 2):
            raise DocumentOptionError(f"abridge must be an integer of at least 2, or None, got {self.abridge!r}")
        if self.practice:  # the practice mode is a way of walking the interactive page
            object.__setattr__(self, "interactive", True)

    @classmethod
    def of_document(cls, options: dict[str, Any]) -> Options:
        """The options among a document call's keywords (``standalone``, ``figure`` … are the writer's)."""
        known = {f.name for f in fields(cls)}
        _one_rounding(options)
        return cls(**{k: v for k, v in options.items() if k in known})

    @classmethod
    def from_keywords(cls, **options: Any) -> Options:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown document option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        _one_rounding(options)
        return cls(**options)


def _one_rounding(options: dict[str, Any]) -> None:
    """``digits`` and ``decimals`` both given: which one rounds would be a silent choice."""
    if options.get("decimals") is not None and options.get("digits") is not None:
        raise DocumentOptionError("digits and decimals are two ways to round the numbers; give one of them")
