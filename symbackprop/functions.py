"""What a user writes a network with: element-wise functions, losses and sums.

The built-in activations and losses are declared as records in
:mod:`symbackprop.ops`; this module turns a user's own function into an
:class:`Activation` and builds loss nodes with their shapes checked.
"""

from __future__ import annotations

import inspect
from typing import Any

import sympy as sp

from . import tensor as T
from .errors import UnsupportedFunctionError
from .evaluable import check_expression
from .ops import ACTIVATIONS, Activation, loss_op, primitive_form
from .ops.record import VARIABLE
from .ops.stable import relu_for_max

__all__ = ["ACTIVATIONS", "Activation", "elementwise", "loss", "mean", "primitive_form", "total"]


def elementwise(function: Any, name: str | None = None) -> Activation:
    """A user-defined activation from a SymPy Lambda, a SymPy function class
    (``sp.sin``) or a Python function of one SymPy variable (``lambda t: t**3``)."""
    if isinstance(function, Activation):
        return function
    if isinstance(function, sp.Lambda):
        if len(function.variables) != 1:
            raise UnsupportedFunctionError("an element-wise function takes exactly one variable")
        (variable,) = function.variables
        label = name or "f"
        formula = sp.Lambda(variable, relu_for_max(function.expr))
        source = None
    elif callable(function):
        try:
            probe = function(VARIABLE)
        except Exception as error:  # a function of Python floats only, for instance math.exp
            raise UnsupportedFunctionError(
                f"element-wise function {getattr(function, '__name__', function)!r} cannot be "
                f"applied to a SymPy symbol ({error}); write it with SymPy or NumPy-free operators"
            ) from None
        if not isinstance(probe, sp.Expr):
            raise UnsupportedFunctionError(
                f"element-wise function must return a SymPy expression, got {type(probe).__name__}"
            )
        label = name or getattr(function, "__name__", "f")
        if label == "<lambda>":
            label = "f"
        formula = sp.Lambda(VARIABLE, relu_for_max(probe))
        source = function if inspect.isfunction(function) else None
    else:
        raise UnsupportedFunctionError(f"cannot use {function!r} as an element-wise function")
    activation = Activation(label, formula, source=source)
    _ = activation.derivative  # fails now, at definition, if SymPy cannot differentiate it
    check_expression(activation.at(VARIABLE), f"element-wise function {label!r}")
    return activation


def loss(kind: str, prediction: Any, target: Any) -> Any:
    """The loss ``kind`` (a name or alias in :data:`symbackprop.ops.LOSS_OPS`) of a prediction against a target."""
    return loss_op(kind)(prediction, target)


def total(argument: Any, axis: Any = None) -> Any:
    """Sum of all elements of a tensor (a scalar stays as it is); ``axis=0`` sums each column into a
    (1, n) row, ``axis=1`` each row into an (m, 1) column."""
    if isinstance(argument, T.Tensor):
        return T.total(argument, axis)
    axis = T.check_axis(axis, f"the sum of {argument!r}")
    if isinstance(argument, sp.MatrixBase) and axis is not None:
        return _collapsed(_axis_sums(argument, axis))
    return argument


def mean(argument: Any, axis: Any = None) -> Any:
    """The mean of all elements of a tensor (``axis=None``, a scalar), of each column (``axis=0``, a
    (1, n) row) or of each row (``axis=1``, an (m, 1) column); a scalar is its own mean."""
    if isinstance(argument, T.Tensor):
        return T.mean(argument, axis)
    axis = T.check_axis(axis, f"the mean of {argument!r}")
    if isinstance(argument, sp.MatrixBase):
        if axis is None:
            return sp.Add(*argument) / len(argument)
        return _collapsed(_axis_sums(argument, axis) / argument.shape[axis])
    return argument


def _axis_sums(matrix: sp.MatrixBase, axis: int) -> sp.Matrix:
    if axis == T.ROWS:
        return sp.Matrix([[sp.Add(*matrix[:, j]) for j in range(matrix.cols)]])
    return sp.Matrix([[sp.Add(*matrix[i, :])] for i in range(matrix.rows)])


def _collapsed(matrix: sp.Matrix) -> Any:
    return matrix[0, 0] if matrix.shape == (1, 1) else matrix
