"""The generated program's namespace for another array library, made from the NumPy one.

Every kernel a program calls (kernels.py, the operation records' kernels, the
losses') is a plain function that reaches NumPy through its module global
``np``.  Porting a kernel runs the same code with ``np`` bound to the backend's
array module and every helper it calls ported the same way, so a kernel
declared once, in NumPy, exists for every backend.  A kernel that assigns in
place or branches on values (neither traces under ``jax.jit``) is replaced by
its functional form (:mod:`.functional`), and a kernel the backend has no
counterpart for runs on the host through the backend's callback.
"""

from __future__ import annotations

import builtins
import inspect
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import UnsupportedFunctionError
from . import functional


@dataclass(frozen=True)
class ArrayBackend:
    """What porting needs to know about one array library.

    ``arrays`` stands in for NumPy (``np.<name>``); ``special`` for ``scipy.special``;
    ``host`` runs a NumPy function on the host from inside the backend's program;
    ``on_host`` names the kernels that always do; ``replaced`` gives the library's own form of a kernel, by name;
    ``rewrite``, where given, is the library's own form of a rows program's text.
    """

    name: str
    arrays: Any
    special: Any
    host: Callable[[Callable], Callable]
    on_host: frozenset[str] = frozenset()
    replaced: dict[str, Callable] = field(default_factory=dict)
    rewrite: Callable[[str], str] | None = None


_PORTERS: dict[str, _Porter] = {}

#: Kernels whose NumPy form assigns in place or branches on values: their functional forms.
FUNCTIONAL = {f.__name__: f for f in (functional._step, functional._gate, functional._embed, functional._one_hot,
                                        functional.stable_sigmoid, functional._placed_sum,
                                        functional._softmax_less_indices)}


def port_namespace(namespace: dict[str, Any], backend: ArrayBackend) -> dict[str, Any]:
    """The objects of a program's NumPy ``namespace``, each ported to ``backend`` (once per backend)."""
    porter = _PORTERS.get(backend.name)
    if porter is None:
        porter = _PORTERS[backend.name] = _Porter(backend)
    return {identifier: porter.port(identifier, obj) for identifier, obj in namespace.items()}


class _Porter:
    """Ports kernels to one backend, each once; the ported modules are shared by every program."""

    def __init__(self, backend: ArrayBackend) -> None:
        self.backend = backend
        self._functions: dict[int, Any] = {}
        self._modules: set[int] = set()
        self._done: dict[str, set[str]] = {}

    def port(self, identifier: str, obj: Any) -> Any:
        backend = self.backend
        if identifier in backend.on_host and callable(obj):
            return backend.host(obj)
        if inspect.isfunction(obj) and obj.__name__ in backend.replaced and obj.__module__.startswith("symbackprop"):
            return backend.replaced[obj.__name__]
        if (inspect.isfunction(obj) and obj.__name__ in FUNCTIONAL and obj.__module__.startswith("symbackprop")
                and obj.__module__ != functional.__name__):
            obj = FUNCTIONAL[obj.__name__]
        if obj is np or (inspect.ismodule(obj) and obj.__name__ == "numpy"):
            return backend.arrays
        if isinstance(obj, (bool, int, float, complex, str, type(None))):
            return obj
        numpy_name = getattr(obj, "__name__", None)
        if numpy_name is not None and not inspect.isfunction(obj) and getattr(np, numpy_name, None) is obj:
            return self._numpy_counterpart(identifier, numpy_name)
        if inspect.isfunction(obj) and obj.__module__.startswith("symbackprop"):
            return self._rebind(obj)
        return obj

    def _numpy_counterpart(self, identifier: str, numpy_name: str) -> Any:
        try:
            return getattr(self.backend.arrays, numpy_name)
        except AttributeError:
            raise UnsupportedFunctionError(
                f"no {self.backend.name} counterpart of numpy.{numpy_name} (called as {identifier!r})") from None

    def _rebind(self, function: types.FunctionType) -> types.FunctionType:
        """The same code in a ported copy of its module: ``np`` there is the backend's array module."""
        key = id(function)
        if key in self._functions:
            return self._functions[key]
        scope = self._module_for(function).__dict__
        ported = types.FunctionType(function.__code__, scope, function.__name__, function.__defaults__,
                                    function.__closure__)
        ported.__kwdefaults__ = function.__kwdefaults__
        ported.__module__ = scope["__name__"]
        self._functions[key] = ported  # before its globals: kernels may call each other
        for identifier in _names_read(function.__code__):
            if identifier not in function.__globals__ or identifier in self._done.setdefault(scope["__name__"], set()):
                continue
            self._done[scope["__name__"]].add(identifier)
            if identifier == "scipy_special":
                scope[identifier] = self._special
            elif identifier in self.backend.replaced:
                scope[identifier] = self.backend.replaced[identifier]
            else:
                scope[identifier] = self.port(identifier, function.__globals__[identifier])
        return ported

    def _module_for(self, function: types.FunctionType) -> types.ModuleType:
        """One ported module per module of ours, registered so that torch.compile can guard on its globals."""
        name = f"{__package__}.ported.{self.backend.name.lower()}.{function.__module__}"
        module = sys.modules.get(name)
        if module is None or id(module) not in self._modules:
            module = types.ModuleType(name)
            module.__dict__.update({k: v for k, v in function.__globals__.items() if not k.startswith("__")})
            module.__dict__["__builtins__"] = builtins.__dict__
            sys.modules[name] = module
            self._modules.add(id(module))
        return module

    def _special(self) -> Any:
        return self.backend.special


def _names_read(code: types.CodeType) -> set[str]:
    """The global names a function's code reads, its comprehensions' and inner functions' included."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names_read(constant)
    return names
