"""The functions a spec expression may call, read from the operation records and the declared operations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp

from .. import functions as F
from .. import tensor as T
from ..errors import ShapeMismatchError
from ..ops import ACTIVATION_OPS, LOSS_OPS
from ..ops.activations import make_relu
from ..registry import DECLARED_SPEC_FUNCTIONS
from ..tensor import convolution, extrema, maximum, pooling  # noqa: F401 - their spec names, declared first
from .operands import Operand, as_matrix, collapse, unwrap

__all__ = ["SPEC_FUNCTIONS", "spec_functions"]

#: SymPy's special functions by their spec names.  ``gamma`` is left out: it is a common parameter name,
#: and a function's name cannot name a quantity.
_SPECIAL = {"asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh, "erf": sp.erf, "erfc": sp.erfc,
            "loggamma": sp.loggamma, "digamma": sp.digamma, "sinc": sp.sinc}


def spec_functions(level: str = "vector", *, relu_grad_at_zero: Any = 0) -> dict[str, Callable[..., Any]]:
    """The functions a spec expression may call, by name."""
    table: dict[str, Callable[..., Any]] = {
        **{name: op.callable for name, op in ACTIVATION_OPS.items()},
        "relu": make_relu(relu_grad_at_zero),
        **{name: _special(name) for name in _SPECIAL},
        "sum": _total,
        "total": _total,
        "mean": F.mean,
        "transpose": _transpose,
        **DECLARED_SPEC_FUNCTIONS,
    }
    for kind in LOSS_OPS:
        table[kind] = _loss(kind, level)
    for name, of_scalars in (("max", sp.Max), ("min", sp.Min)):
        table[name] = _of_scalars_or_a_tensor(of_scalars, table[name])
    return {name: _taking_operands(implementation) for name, implementation in table.items()}


def _taking_operands(implementation: Callable[..., Any]) -> Callable[..., Any]:
    """Let a whitelisted function take and return spec operands."""

    def call(*args: Any, **kwargs: Any) -> Operand:
        keywords = {key: unwrap(value) for key, value in kwargs.items()}
        return Operand(collapse(implementation(*(unwrap(a) for a in args), **keywords)))

    call.__name__ = getattr(implementation, "__name__", "function")
    return call


def _loss(kind: str, level: str) -> Callable[[Any, Any], Any]:
    op = LOSS_OPS[kind]
    if level == "vector":
        return op

    def scalar_level(prediction: Any, target: Any) -> Any:
        # Written out element by element, as sbp.mlp(..., level="scalar") does.
        h, y = as_matrix(prediction), as_matrix(target)
        if h.shape != y.shape:
            raise ShapeMismatchError(f"{kind}: prediction has shape {h.shape} but target has shape {y.shape}")
        return op.written_out(list(zip(h, y)))

    return scalar_level


def _total(value: Any, axis: Any = None) -> Any:
    if isinstance(value, sp.MatrixBase) and axis is None:
        return sp.Add(*value)
    return F.total(value, axis)


def _of_scalars_or_a_tensor(of_scalars: Callable[..., Any], of_a_tensor: Callable[..., Any]) -> Callable[..., Any]:
    """``max(a, b, …)`` of scalar expressions is their largest (sp.Max, which the network reads with its
    tie convention); ``max(x)`` or ``max(x, axis)`` of a tensor stays the reduction."""

    def apply(*args: Any, **kwargs: Any) -> Any:
        scalars = len(args) >= 2 and not kwargs and not any(isinstance(a, (T.Tensor, sp.MatrixBase)) for a in args)
        return of_scalars(*args) if scalars else of_a_tensor(*args, **kwargs)

    apply.__name__ = getattr(of_a_tensor, "__name__", "extremum")
    return apply


def _transpose(value: Any) -> Any:
    if isinstance(value, sp.MatrixBase):
        return value.T
    if isinstance(value, T.Tensor):
        return value.T
    return value


def _special(name: str) -> Callable[[Any], Any]:
    """Made when called, so that without SciPy only a spec that uses digamma or loggamma is refused."""

    def apply(argument: Any) -> Any:
        return F.elementwise(_SPECIAL[name], name)(argument)

    apply.__name__ = name
    return apply


#: The names a spec expression may call (see docs/spec-format.md for what each does).
SPEC_FUNCTIONS = tuple(sorted(spec_functions()))
