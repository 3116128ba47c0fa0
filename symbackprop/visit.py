"""One way to walk a tensor tree: what a node type declared for the interpreter, or a method named after it.

Every interpreter of the tensor algebra (code generation, closed forms, operation
counts, gradient-flow products, LaTeX, DOT labels) subclasses :class:`TreeVisitor`
and names its ``interpretation``.  A node type's module registers its handling by
each interpretation (:func:`symbackprop.registry.interprets`), so a new operation
is one module; the core node types the interpreters know by heart are
``visit_<NodeClass>`` methods, as SymPy's printers define ``_print_<Class>``.
:func:`unhandled` lists the node types an interpreter has neither for: a method
of a base class (a catch-all) does not count, so a node type nobody declared
fails the completeness test instead of being drawn by its class name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from .errors import UnsupportedFunctionError
from .registry import GENERIC, interpretation_of
from .tensor.base import Tensor


def node_types() -> list[type]:
    """Every concrete node type of the tensor algebra (the bases Binary and Unary are not)."""
    found: list[type] = []
    pending = list(Tensor.__subclasses__())
    while pending:
        cls = pending.pop()
        subclasses = cls.__subclasses__()
        if not subclasses:
            found.append(cls)
        pending.extend(subclasses)
    return sorted(found, key=lambda c: c.__name__)


class TreeVisitor:
    """Dispatch on the node's class: its declared interpretation, else ``visit_<Class>`` along its MRO."""

    #: The name node types declare this interpreter's handling under (see symbackprop.registry.INTERPRETATIONS).
    interpretation: ClassVar[str | None] = None
    #: The method that serves node types declared as served generically.
    generic: ClassVar[str | None] = None
    _methods: ClassVar[dict[type, Callable[[Any, Tensor], Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._methods = {}

    def visit(self, node: Tensor) -> Any:
        return self._method(type(node))(self, node)

    @classmethod
    def _method(cls, node_type: type) -> Callable[[Any, Tensor], Any]:
        method = cls._methods.get(node_type)
        if method is None:
            method = cls._methods[node_type] = cls._find(node_type)
        return method

    @classmethod
    def _find(cls, node_type: type) -> Callable[[Any, Tensor], Any]:
        declared = interpretation_of(cls.interpretation, node_type) if cls.interpretation else None
        if declared == GENERIC and cls.generic:
            return getattr(cls, cls.generic)
        if callable(declared):
            return declared
        name = next((f"visit_{c.__name__}" for c in node_type.__mro__ if hasattr(cls, f"visit_{c.__name__}")), "")
        if not name:
            raise UnsupportedFunctionError(f"{cls.__name__} cannot handle {node_type.__name__}")
        return getattr(cls, name)


def handles(visitor: type[TreeVisitor], node_type: type) -> bool:
    """Whether ``visitor`` has a method named after ``node_type`` itself, or ``node_type`` declared its handling."""
    if hasattr(visitor, f"visit_{node_type.__name__}"):
        return True
    declared = interpretation_of(visitor.interpretation, node_type) if visitor.interpretation else None
    return callable(declared) or declared == GENERIC and visitor.generic is not None


def unhandled(visitor: type[TreeVisitor]) -> list[str]:
    """The node types ``visitor`` does not handle by name (empty when it handles the whole algebra)."""
    return [cls.__name__ for cls in node_types() if not handles(visitor, cls)]
