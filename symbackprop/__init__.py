"""symbackprop: backpropagation derived symbolically, step by step, and checked numerically.

The public names live in :mod:`symbackprop.api` and are imported, all together, the first time a
program uses one (``sbp.backprop``, ``from symbackprop import mlp``): importing the package alone
loads neither SymPy nor NumPy, so that ``symbackprop --help`` answers at once.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import *  # noqa: F403 - the names __getattr__ provides, for type checkers and editors

__version__ = "0.1.0"

#: Public functions named as the module that defines them: the function is what ``sbp.<name>`` means.
FUNCTIONS_NAMED_AS_THEIR_MODULE = frozenset({"backprop", "torch_code"})


def _public_names() -> types.ModuleType:
    names = importlib.import_module(".api", __name__)
    namespace = globals()
    namespace.update({name: getattr(names, name) for name in names.__all__})
    namespace["__all__"] = list(names.__all__)
    return names


def __getattr__(name: str) -> Any:
    if name.startswith("__") and name != "__all__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name not in FUNCTIONS_NAMED_AS_THEIR_MODULE and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f".{name}", __name__)  # a submodule (sbp.models), imported alone
    names = _public_names()
    if name == "__all__" or hasattr(names, name):
        return globals()[name] if name in globals() else getattr(names, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_public_names().__all__))


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # Importing symbackprop.backprop binds the module to the package's name `backprop`; the function
        # of that name keeps it, as when the package imported every name at once.
        if name in FUNCTIONS_NAMED_AS_THEIR_MODULE and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
