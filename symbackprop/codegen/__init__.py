"""Python source from expression trees: every line is built as an ``ast`` tree, then unparsed.

Building the syntax tree, not text, is what keeps precedence right: ``x ** (1/2)``
and ``(s + 1) * x`` come out parenthesised because ``ast.unparse`` knows how
Python reads them.  Scalar SymPy expressions go through SymPy's NumPy printer
(which knows precedence too) and are parsed back into the tree.

Tensor nodes are dispatched by :class:`~symbackprop.visit.TreeVisitor`, the one
way every interpreter walks the tree.
"""

from .emitter import (
    ScalarPrinter,
    TreeEmitter,
    binary,
    call,
    constant,
    function_definition,
    name,
    step_at_zero,
    sum_of,
    var,
)
from .lines import Line, function_source, live, names_read, share_subexpressions
from .module import resolve, standalone_module

__all__ = [
    "Line", "ScalarPrinter", "TreeEmitter", "binary", "call", "constant", "function_definition", "function_source",
    "live", "name", "names_read", "resolve", "share_subexpressions", "standalone_module", "step_at_zero", "sum_of",
    "var",
]
