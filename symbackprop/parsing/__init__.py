"""Read expression strings from network specs without ever executing them.

Specs are written by users who may not be trusted, so their text must never reach
``eval``, ``exec``, ``sympify`` or ``parse_expr``: each of those can run arbitrary
Python (``__import__('os').system(...)``).  Instead the text is parsed into a
Python syntax tree with :func:`ast.parse`, which only builds data, and the tree
is interpreted here against a strict whitelist: numbers, the names and functions
the caller hands in, unary minus and the operators ``+ - * / @ **``.

Work happens in three stages so that hostile input is rejected cheaply and
before any operand is touched:

1. the raw text is measured (length) and parsed, turning every parser failure,
   including the ``RecursionError``/``MemoryError`` CPython raises for absurd
   nesting, into :class:`~symbackprop.errors.ExpressionError` (:mod:`.source`);
2. the tree is measured (node count, depth) iteratively and then checked in full
   (node types, names, number sizes, exponents) (:mod:`.whitelist`, :mod:`.numbers`);
3. only a fully approved tree is evaluated by combining the caller's objects
   with ordinary Python operators (:mod:`.evaluator`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import sympy

from .evaluator import Evaluator
from .limits import DEFAULT_LIMITS, Limits
from .names import parse_assignment_name
from .source import Source
from .whitelist import Checker, check_size

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "parse_assignment_name",
    "parse_expression",
]


def parse_expression(
    text: str,
    names: Mapping[str, object],
    functions: Mapping[str, Callable[..., object]],
    *,
    limits: Limits = DEFAULT_LIMITS,
    check: Callable[[object], str | None] | None = None,
    attributes: Mapping[str, Callable[[object], object]] | None = None,
) -> object:
    """Interpret ``text`` as an arithmetic expression over ``names`` and ``functions``.

    ``names`` maps each usable name to the object it stands for, ``functions``
    maps each callable name to its implementation.  Numbers become exact SymPy
    numbers (``0.5`` is ``Rational(1, 2)``).  Anything outside the whitelist
    raises :class:`~symbackprop.errors.ExpressionError`; errors raised on purpose
    by the operands themselves (any :class:`~symbackprop.errors.SymbackpropError`)
    pass through unchanged.  ``check`` sees the result of every operation and
    call; a reason it returns is reported as an ExpressionError at that part of
    the text (``1/0`` at column 9 rather than somewhere in the whole).
    """
    source = Source.parse(text, limits)
    check_size(source.tree, limits)
    admitted = dict(attributes or {})
    Checker(source, names, functions, limits, admitted).check(source.tree.body, exponent_scale=sympy.Integer(1))
    return Evaluator(source, names, functions, limits, check, admitted).evaluate(source.tree.body)
