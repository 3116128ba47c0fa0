"""The one lock that code generation and the expression parser hold while they build syntax trees.

On CPython 3.11, ``ast.parse`` in two threads at once can fail with ``SystemError: AST constructor
recursion depth mismatch`` (the interpreter counts the depth of the tree it converts in one place
for all threads).  A compiled gradient builds its fast program on its first call, which several
threads may make at once; they build one at a time, and the others then use what the first built.
Re-entrant, because building one program may build another (the scalar level's grouped program).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

SYNTAX_TREES = threading.RLock()

_Function = TypeVar("_Function", bound=Callable[..., Any])


def one_tree_at_a_time(function: _Function) -> _Function:
    """``function`` run holding :data:`SYNTAX_TREES`."""

    @functools.wraps(function)
    def holding_the_lock(*args: Any, **kwargs: Any) -> Any:
        with SYNTAX_TREES:
            return function(*args, **kwargs)

    return holding_the_lock  # type: ignore[return-value]


__all__ = ["SYNTAX_TREES", "one_tree_at_a_time"]
