"""The error for a tensor handed to a SymPy function, naming the element-wise function to use instead."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import sympy as sp

from ..errors import TensorInSymPyError

if TYPE_CHECKING:
    from .nodes import Tensor

#: The built-in element-wise functions by name, and whether each is SymPy's own (exp, log, …):
#: filled as the operation records are declared, which build on this package.
ELEMENTWISE_FUNCTIONS: dict[str, bool] = {}

# SymPy reaches a tensor's _sympy_ a few calls below the function the user called
# (sp.exp → Function.__new__ → sympify); further up is the user's own code.
_FRAMES_SEARCHED = 12


def _called_function() -> str | None:
    """The name of the SymPy function whose argument is being converted (exp, Abs, sqrt), if found."""
    frame = sys._getframe(2)
    for _ in range(_FRAMES_SEARCHED):
        if frame is None:
            return None
        module = frame.f_globals.get("__name__", "")
        if module.startswith("sympy."):
            if frame.f_code.co_name in ("sqrt", "cbrt", "root") and module.startswith("sympy.functions"):
                return frame.f_code.co_name  # written as a power, not a function class
            cls = frame.f_locals.get("cls")
            if isinstance(cls, type) and issubclass(cls, sp.Function):
                return cls.__name__
        frame = frame.f_back
    return None


def tensor_in_sympy(tensor: Tensor) -> TensorInSymPyError:
    called = _called_function()
    shown = f"{tensor!r} of shape ({tensor.shape[0]}, {tensor.shape[1]})"
    math = sorted(name for name, elementary in ELEMENTWISE_FUNCTIONS.items() if elementary)
    listed = ", ".join(f"sbp.{name}" for name in math)
    if called is not None and called.lower() in ELEMENTWISE_FUNCTIONS:
        name = called.lower()
        return TensorInSymPyError(
            f"the tensor {shown} was given to SymPy, whose {called} takes scalars; apply it element by "
            f"element with sbp.{name}({tensor!r}) (element-wise functions of tensors: {listed}; any SymPy "
            f"function through sbp.elementwise, as in sbp.elementwise(sp.{called})({tensor!r}))"
        )
    return TensorInSymPyError(
        f"the tensor {shown} was given to SymPy, whose functions take scalars; apply a function element by "
        f"element with {listed}, an activation such as sbp.sigmoid({tensor!r}), or any SymPy function "
        f"through sbp.elementwise, as in sbp.elementwise(sp.erf)({tensor!r})"
    )


__all__ = ["tensor_in_sympy"]
