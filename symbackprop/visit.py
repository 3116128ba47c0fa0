"""One way to walk a tensor tree: methods named after node classes, found along the MRO.

Every interpreter of the tensor algebra (code generation, closed forms, cost
counts, gradient-flow products, LaTeX, DOT labels) subclasses
:class:`TreeVisitor` and defines ``visit_<NodeClass>`` for each node type, as
SymPy's printers define ``_print_<Class>``.  A method for a base class serves
its subclasses (``visit_Tensor`` is a deliberate catch-all).  :func:`unhandled`
lists the node types an interpreter has no method for, so a test can require
that every interpreter handles every node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from . import tensor as T
from .errors import UnsupportedFunctionError


def node_types() -> list[type]:
    """Every concrete node type of the tensor algebra (the bases Binary and Unary are not)."""
    found: list[type] = []
    pending = list(T.Tensor.__subclasses__())
    while pending:
        cls = pending.pop()
        subclasses = cls.__subclasses__()
        if not subclasses:
            found.append(cls)
        pending.extend(subclasses)
    return sorted(found, key=lambda c: c.__name__)


class TreeVisitor:
    """Dispatch on the node's class: ``visit_<Class>`` of the first class in its MRO that has one."""

    _methods: ClassVar[dict[type, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._methods = {}

    def visit(self, node: T.Tensor) -> Any:
        return self._method(type(node))(self, node)

    @classmethod
    def _method(cls, node_type: type) -> Callable[[Any, T.Tensor], Any]:
        name = cls._methods.get(node_type)
        if name is None:
            name = next((f"visit_{c.__name__}" for c in node_type.__mro__ if hasattr(cls, f"visit_{c.__name__}")), "")
            cls._methods[node_type] = name
        if not name:
            raise UnsupportedFunctionError(f"{cls.__name__} cannot handle {node_type.__name__}")
        return getattr(cls, name)


def unhandled(visitor: type[TreeVisitor]) -> list[str]:
    """The node types ``visitor`` has no method for (empty when it handles the whole algebra)."""
    return [cls.__name__ for cls in node_types()
            if not any(hasattr(visitor, f"visit_{c.__name__}") for c in cls.__mro__)]
