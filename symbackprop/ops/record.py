"""The records an operation is declared with, and the registries every other module reads.

An activation is one :class:`ActivationOp`, a loss one :class:`LossRecord`, a SymPy
function class of ours one :class:`FunctionOp`: each holds everything the rest
of symbackprop needs to know about it — its SymPy forward, its stable NumPy
kernel, its LaTeX and graph label, its spec-file name, its PyTorch counterpart
and its rule sentence.  Declaring a record registers it; nothing else names it.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .. import tensor as T
from ..errors import InvalidOperandError, UnsupportedFunctionError
from ..printing.precedence import Printed
from ..tensor.sympy_guard import ELEMENTWISE_FUNCTIONS
from . import loss_rows

VARIABLE = sp.Symbol("t", real=True)

# -- element-wise functions ---------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Activation:
    """An element-wise function of one variable.

    ``formula`` maps a SymPy scalar to a SymPy expression; ``derivative`` is its
    own Activation, derived by SymPy, so f′ prints and evaluates like any f.
    ``source`` keeps a user's plain Python function for rendering.
    """

    name: str
    formula: Callable[[sp.Expr], sp.Expr]
    source: Callable | None = field(default=None, compare=False)
    is_derivative_of: str | None = None

    def __call__(self, argument: Any) -> Any:
        if isinstance(argument, T.Tensor):
            return T.Elementwise(self, argument)
        if isinstance(argument, sp.MatrixBase):
            return argument.applyfunc(self.formula)
        if isinstance(argument, (sp.MatrixExpr,)):
            raise InvalidOperandError(f"{self.name}: SymPy matrix expressions are not supported; use net.input/param")
        if isinstance(argument, (int, float)) and not isinstance(argument, bool):
            argument = sp.sympify(argument)
        if isinstance(argument, sp.Expr):
            return self.formula(argument)
        raise InvalidOperandError(f"{self.name} cannot be applied to {type(argument).__name__}")

    def at(self, symbol: sp.Symbol) -> sp.Expr:
        """The formula applied to a symbol: f(z)."""
        return self.formula(symbol)

    @property
    def derivative(self) -> Activation:
        cached = _DERIVATIVES.get(id(self))
        if cached is None:
            body = sp.diff(self.formula(VARIABLE), VARIABLE)
            if body.has(sp.Derivative, sp.Subs):
                raise UnsupportedFunctionError(
                    f"cannot differentiate activation {self.name!r}: SymPy leaves {body}"
                )
            cached = (self, Activation(self.name + "'", sp.Lambda(VARIABLE, body), is_derivative_of=self.name))
            _DERIVATIVES[id(self)] = cached  # the key object is kept alive with its value
        return cached[1]

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """A registered activation pickles as its name (and unpickles as the same object); another as its
        fields, whose formula must then be picklable (a SymPy Lambda, a module-level function or a partial)."""
        record = ACTIVATION_OPS.get(self.name)
        if record is not None and record.activation is self:
            return registered_activation, (self.name,)
        source = self.source if _picklable(self.source) else None  # only shown in documents, never run
        return type(self), (self.name, self.formula, source, self.is_derivative_of)


def registered_activation(name: str) -> Activation:
    """The built-in activation declared under ``name``."""
    return ACTIVATION_OPS[name].activation


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001 - a user's function may fail to pickle in any way
        return False
    return True


_DERIVATIVES: dict[int, tuple[Activation, Activation]] = {}


@dataclass(frozen=True)
class FunctionOp:
    """A SymPy function class of ours: evaluated by ``kernel``, printed and drawn by name.

    The class carries its derivative (``fdiff``) and its textbook form
    (``primitive()``, for the oracle); the NumPy printer writes an application
    by the class name, which is what the kernel is registered under.
    """

    function: type
    kernel: Callable
    latex: str | None  # None: a printer method writes it (a formula, not a name), or ``latex_of``
    dot: str
    latex_of: Callable[[list[str]], str] | None = None  # the application's LaTeX from its printed arguments
    rule: str | None = None  # the rule key of a step through an application to one of its arguments


@dataclass(frozen=True)
class ActivationOp:
    """A built-in activation: ``sbp.<name>``, the spec files' ``<name>(...)`` and ``nn.<torch>``."""

    name: str
    activation: Activation
    latex: str
    dot: str
    sentence: tuple[str, str]  # the rule sentence of its step, en and ko
    torch: str | None = None
    from_torch: Callable[[Any], Activation] | None = None  # for a module with options (a slope)
    derivative_latex: Callable[[str], Printed] | None = None  # f′ of a vector, where ⊙ reads better
    call: Callable[..., Any] | None = None  # what the name means when called with options (a slope)
    # SymPy's own function (exp, log, …): a scalar node applying it stays a step SymPy differentiates
    elementary: bool = False
    call_latex: Callable[[str], str] | None = None  # f(z) written as a formula (√z, |z|), not a name
    # f′(z) as a formula of the output y = f(z) that gives the same number (tanh: 1 − y²), for the generated code
    from_output: Callable[[sp.Expr], sp.Expr] | None = None

    @property
    def callable(self) -> Callable[..., Any]:
        return self.call if self.call is not None else self.activation


@dataclass(frozen=True)
class LossGradientRecord:
    """∂loss/∂prediction or ∂loss/∂target per unit upstream gradient."""

    explicit: Callable[[sp.Matrix, sp.Matrix], sp.Matrix]
    numeric: Callable
    latex: Callable[[str, str, int], Printed]
    sentence: tuple[str, str]


@dataclass(frozen=True)
class LossRecord:
    """A loss of a prediction against a target of the same shape: ``sbp.<name>(h, y)``."""

    name: str
    explicit: Callable[[sp.Matrix, sp.Matrix], sp.Expr]  # element by element, for exact numbers
    numeric: Callable  # NumPy on (…, rows, 1) arrays, the (…, 1, 1) loss
    written_out: Callable[[list[tuple[Any, Any]]], sp.Expr]  # the scalar level's loss of (hᵢ, yᵢ) pairs
    latex: Callable[[str, str, int, bool], Printed]  # (h, y, n, scalar)
    dot: str
    torch: str
    prediction: LossGradientRecord
    target: LossGradientRecord
    aliases: tuple[str, ...] = ()
    scalars_written_out: bool = False  # two scalars give the written-out formula, not a loss node
    any_shape: bool = False  # a mean or sum over every entry: matrices too, not only columns
    # Builds the node itself, for a loss with options (an axis) or targets of another shape (class
    # indices); the node's options then reach every callable above as keyword arguments.
    construct: Callable[..., Any] | None = None

    def gradient(self, wrt: str) -> LossGradientRecord:
        return self.prediction if wrt == "prediction" else self.target

    def __call__(self, prediction: Any, target: Any, **options: Any) -> Any:
        """The loss node of ``prediction`` against ``target`` (for two scalars, maybe the formula itself)."""
        if self.construct is not None and (options or isinstance(prediction, T.Tensor)):
            return self.construct(self.name, prediction, target, **options)
        if options:
            raise InvalidOperandError(f"{self.name} takes no options, got {', '.join(sorted(options))}")
        both_scalar = not isinstance(prediction, T.Tensor) and not isinstance(target, T.Tensor)
        # a number as the prediction has no array for the loss's kernel: its formula is the loss
        constant_prediction = isinstance(prediction, (int, float)) or (isinstance(prediction, sp.Expr)
                                                                        and prediction.is_number)
        if both_scalar and (self.scalars_written_out or constant_prediction):
            return self.written_out([(prediction, target)])
        h, y = T.as_tensor(prediction), T.as_tensor(target)
        if h.shape != y.shape:
            raise T.ShapeMismatchError(
                f"{self.name}: prediction {h!r} has shape {h.shape} but target {y!r} has shape {y.shape}"
            )
        if h.rank > 2:  # the matrix of its rows, as a loss over every entry reads it
            h, y = loss_rows.loss_operands(self.name, self.any_shape, self.torch, h, y)
        if h.shape[1] != 1 and not self.any_shape:
            raise T.ShapeMismatchError(
                f"{self.name}: prediction and target must be column vectors, got shape {h.shape}")
        return T.LossNode(self.name, h, y)


#: The registries, filled as the records are declared.
ACTIVATION_OPS: dict[str, ActivationOp] = {}
FUNCTION_OPS: dict[str, FunctionOp] = {}
LOSS_OPS: dict[str, LossRecord] = {}


def declare(record: ActivationOp | FunctionOp | LossRecord) -> Any:
    """Register a record under its name (a function under its class's name); returns it."""
    if isinstance(record, ActivationOp):
        table, key = ACTIVATION_OPS, record.name
        ELEMENTWISE_FUNCTIONS[record.name] = record.elementary
    elif isinstance(record, FunctionOp):
        table, key = FUNCTION_OPS, record.function.__name__
    else:
        table, key = LOSS_OPS, record.name
    if key in table:
        raise ValueError(f"{key!r} is declared twice")
    table[key] = record
    _BY_FUNCTION.clear()
    return record


_BY_FUNCTION: dict[type, ActivationOp] = {}


def activation_op_of(expr: sp.Basic) -> ActivationOp | None:
    """The built-in activation whose formula ``expr`` applies to one argument (ReLU(z) → relu)."""
    if not isinstance(expr, sp.Function) or not expr.args:
        return None
    if not _BY_FUNCTION:
        for op in reversed(ACTIVATION_OPS.values()):  # the first declared wins (relu over a ReLU variant)
            applied = op.activation.formula(VARIABLE)
            if isinstance(applied, sp.Function) and not op.elementary:
                _BY_FUNCTION[applied.func] = op
    return _BY_FUNCTION.get(expr.func)
