"""Numbers: values checked against the network, one generated NumPy program per derivation.

The program is written from the recorded steps, so it computes exactly what the
derivation says: one line per forward node and one per gradient, matrix
operations for tensors (``W1 @ x``, not per-element formulas), every array
carrying an optional leading batch axis.  Scalars travel as (…, 1, 1) arrays so
that they broadcast against matrices.  A batch is averaged: the loss's own
gradient is 1/N and a parameter's gradient is summed over the batch axis.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from . import tensor as T
from .errors import (
    ValuesError,
)
from .explicit import to_explicit
from .functions import LOSSES, NUMPY_FUNCTIONS
from .network import INPUT, PARAM, Quantity
from .rules import LOSS_GRADIENTS
from .values import conform, conform_all  # noqa: F401 - re-exported: the numbers start from checked values

if TYPE_CHECKING:
    from .derivation import Derivation


# -- the generated program -------------------------------------------------------------


class _Printer(NumPyPrinter):
    """NumPy code for scalar expressions, with NaN kept NaN through the step function."""

    def __init__(self) -> None:
        super().__init__({"allow_unknown_functions": True, "fully_qualified_modules": False})

    def _print_Heaviside(self, expr):
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        return f"_step({self._print(expr.args[0])}, {self._print(at_zero)})"

    def _print_Symbol(self, expr):
        return expr.name


def _var(prefix: str, name: str) -> str:
    return f"{prefix}_{name}"


def _transpose(a):
    return np.swapaxes(a, -1, -2)


def _total(a):
    return np.sum(a, axis=(-2, -1), keepdims=True)


def _step(x, at_zero=0.5):
    """The Heaviside step 𝟏[x > 0] with the given value at 0; NaN stays NaN (a branch would hide it)."""
    x = np.asarray(x, dtype=float)
    result = (x > 0).astype(float)
    if at_zero != 0:
        result[x == 0] = at_zero
    if np.isnan(np.sum(x)):  # one pass without a mask in the common case that nothing is NaN
        result[np.isnan(x)] = np.nan
    return result


def _gate(g, x, at_zero=0.0):
    """g ⊙ 𝟏[x > 0] — ReLU's backward step — in one pass, NaN in x kept."""
    result = g * (x > 0)
    if at_zero != 0:
        result = result + at_zero * g * (x == 0)
    if np.isnan(np.sum(x)):
        result = np.where(np.isnan(x), np.nan, result)
    return result


def _matmul(a, b):
    """``a @ b``; a shared matrix times a stack of column vectors is one matrix product."""
    if a.ndim == 2 and b.ndim == 3 and b.shape[-1] == 1:
        return (b[..., 0] @ a.T)[..., np.newaxis]
    return a @ b


def _transposed_matmul(a, b):
    """``aᵀ @ b`` without forming aᵀ (the gradient passed down, Wᵀ · ∂L/∂z)."""
    if a.ndim == 2 and b.ndim == 3 and b.shape[-1] == 1:
        return (b[..., 0] @ a)[..., np.newaxis]
    return _transpose(a) @ b


def _outer_summed(a, b):
    """Σ over the batch of aₙ bₙᵀ (a weight's gradient, ∂L/∂z · hᵀ) as one matrix product."""
    if a.ndim == 3 and b.ndim == 3 and a.shape[2] == 1 and b.shape[2] == 1:
        return a[..., 0].T @ b[..., 0]
    return _matmul_summed(a, _transpose(b))


def _matmul_summed(a, b):
    """Σ over the batch of aₙ @ bₙ as one matrix product (a parameter's gradient)."""
    if a.ndim == 3 and b.ndim == 3:
        rows, columns = a.shape[1], b.shape[2]
        return np.swapaxes(a, 0, 1).reshape(rows, -1) @ b.reshape(-1, columns)
    return _batch_sum(_matmul(a, b))


def _multiply_summed(a, b):
    """Σ over the batch of aₙ·bₙ for per-sample scalars, as one dot product."""
    if a.ndim == 3 and b.ndim == 3 and a.shape == b.shape and a.shape[1:] == (1, 1):
        return np.dot(a.reshape(-1), b.reshape(-1)).reshape(1, 1)
    return _batch_sum(a * b)


def _blocks(rows):
    """One array from per-element arrays; a constant element broadcasts to the batch like the rest."""
    cells = [[np.asarray(c, dtype=float).reshape(np.shape(c)[:-2] + (1, 1)) for c in row] for row in rows]
    leading = np.broadcast_shapes(*(c.shape[:-2] for row in cells for c in row))
    return np.concatenate([np.concatenate([np.broadcast_to(c, leading + (1, 1)) for c in row], axis=-1)
                           for row in cells], axis=-2)


def _batch_sum(a):
    """A parameter's gradient: per-sample terms summed over the batch axis, if there is one."""
    return a.sum(axis=0) if np.ndim(a) == 3 else np.asarray(a, dtype=float)


_BASE_NAMESPACE: dict[str, Any] = {
    "np": np, "_step": _step, "_T": _transpose, "_total": _total, "_batch_sum": _batch_sum,
    "_mm": _matmul, "_mm_sum": _matmul_summed, "_mm_t": _transposed_matmul, "_outer_sum": _outer_summed,
    "_mul_sum": _multiply_summed,
    "_blocks": _blocks, "_gate": _gate,
    **{name: getattr(np, name) for name in ("exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh",
                                            "sqrt", "abs", "arctan", "arcsin", "arccos", "log1p",
                                            "expm1", "sign")},
    **NUMPY_FUNCTIONS,
}


@dataclass
class _Line:
    target: str
    code: str
    comment: str = ""


class Program:
    """The generated NumPy source of a derivation and the function compiled from it."""

    #: What a program returns: every forward value and gradient, the parameter gradients, or the loss.
    OUTPUTS = ("all", "parameters", "loss")

    def __init__(self, derivation: Derivation, *, cse: bool = True, outputs: str = "all") -> None:
        if outputs not in self.OUTPUTS:
            raise ValueError(f"outputs must be one of {self.OUTPUTS}, not {outputs!r}")
        self.derivation = derivation
        self.network = derivation.network
        self.outputs = outputs
        self.namespace = dict(_BASE_NAMESPACE)
        self._functions: dict[int, str] = {}
        self._printer = _Printer()
        self._symbol_names: dict[sp.Symbol, sp.Symbol] = {}
        self.cse = cse
        self.source = self._write()
        code = compile(self.source, "<symbackprop generated>", "exec")
        exec(code, self.namespace)  # our own generated text: names are checked identifiers
        self.function = self.namespace["derivation"]

    # -- expressions to code ---------------------------------------------------------

    def _scalar(self, expr: sp.Expr) -> str:
        expr = sp.sympify(expr)
        mapping = {}
        for symbol in expr.free_symbols:
            if symbol not in self._symbol_names:
                if isinstance(symbol, T.AdjointSymbol):
                    self._symbol_names[symbol] = sp.Symbol(_var("g", symbol.of))
                elif symbol == T.BATCH_SIZE:
                    self._symbol_names[symbol] = sp.Symbol("batch_size")
                else:
                    self._symbol_names[symbol] = sp.Symbol(_var("v", symbol.name))
            mapping[symbol] = self._symbol_names[symbol]
        return self._printer.doprint(expr.xreplace(mapping))

    def _function_name(self, activation) -> str:
        key = id(activation)
        if key not in self._functions:
            readable = activation.name.replace("'", "_prime")
            name = f"_f{len(self._functions)}_{readable}"
            name = name if name.isidentifier() and not keyword.iskeyword(name) else f"_f{len(self._functions)}"
            symbol = sp.Symbol("t", real=True)
            self.namespace[name] = sp.lambdify(
                symbol, activation.formula(symbol),
                modules=[{**NUMPY_FUNCTIONS, "Heaviside": _step}, "numpy"],
            )
            self._functions[key] = name
        return self._functions[key]

    def _tensor(self, node: T.Tensor) -> str:
        rec = self._tensor
        if isinstance(node, T.Ref):
            return _var("v", node.name)
        if isinstance(node, T.Adjoint):
            return _var("g", node.name)
        if isinstance(node, T.Scalar):
            return f"({self._scalar(node.expr)})"
        if isinstance(node, T.MatMul):
            if isinstance(node.left, T.Transpose):
                return f"_mm_t({rec(node.left.operand)}, {rec(node.right)})"
            return f"_mm({rec(node.left)}, {rec(node.right)})"
        if isinstance(node, T.Add):
            return f"({rec(node.left)} + {rec(node.right)})"
        if isinstance(node, T.Hadamard):
            gate = _step_of(node.right)
            if gate is not None:
                return f"_gate({rec(node.left)}, {rec(node.right.operand)}, {self._scalar(gate)})"
            return f"({rec(node.left)} * {rec(node.right)})"
        if isinstance(node, T.Scale):
            return f"({self._scalar(node.factor)} * {rec(node.operand)})"
        if isinstance(node, T.Transpose):
            return f"_T({rec(node.operand)})"
        if isinstance(node, T.Elementwise):
            return f"{self._function_name(node.function)}({rec(node.operand)})"
        if isinstance(node, T.Power):
            return f"({rec(node.operand)} ** {self._scalar(node.exponent)})"
        if isinstance(node, T.Sum):
            return f"_total({rec(node.operand)})"
        if isinstance(node, T.Ones):
            return f"np.ones({node.shape})"
        if isinstance(node, T.LossOp):
            name = f"_loss_{node.kind}"
            self.namespace[name] = LOSSES[node.kind].numeric
            return f"{name}({rec(node.prediction)}, {rec(node.target)})"
        if isinstance(node, T.LossGradient):
            name = f"_d_{node.kind}_d_{node.wrt}"
            self.namespace[name] = LOSS_GRADIENTS[(node.kind, node.wrt)].numeric
            return f"{name}({rec(node.prediction)}, {rec(node.target)})"
        raise TypeError(f"no NumPy code for {type(node).__name__}")

    def _code(self, value: Any) -> str:
        return self._tensor(value) if isinstance(value, T.Tensor) else self._scalar(value)

    # -- the program -------------------------------------------------------------------

    def _write(self) -> str:
        network = self.network
        leaves = network.quantities(INPUT, PARAM)
        arguments = [_var("v", q.name) for q in leaves]
        lines: list[str] = [f"def derivation({', '.join(arguments + ['batch_size'])}):"]
        body: list[_Line] = []
        for q in leaves:
            for row in q.elements or ():
                for element in row:
                    i, j = network[element].index
                    body.append(_Line(_var("v", element), f"{_var('v', q.name)}[..., {i}:{i + 1}, {j}:{j + 1}]"))
        forward = [q for q in network.graph_order() if q.definition is not None]
        for q in forward:
            body.append(_Line(_var("v", q.name), self._code(q.definition), "forward"))
        for q in network.quantities(elements=False):
            if q.elements is not None and q.kind not in (INPUT, PARAM):
                body.append(_Line(_var("v", q.name), _assemble("v", q)))
        partial_names: dict[int, str] = {}
        edge_count: dict[str, int] = {}
        for step in self.derivation.edges:
            edge_count[step.target] = edge_count.get(step.target, 0) + 1
        for step in self.derivation.steps:
            if step.kind == "seed":
                body.append(_Line(_var("g", step.target), "1.0 / batch_size", "seed"))
                continue
            target = network[step.target]
            if step.kind == "sum":
                code = " + ".join(partial_names[i] for i in step.parts)
                body.append(_Line(_var("g", step.target), code, "fan-out"))
                continue
            code = self._code(step.result)
            if step.source == self.derivation.loss and not self.derivation.batch:
                code = f"{_var('g', step.source)} * ({code})"  # a batch is averaged even when not shown
            summed = self._summed_product(step) if target.kind == PARAM else None
            if summed is not None:
                code = summed
            else:
                code = self._summed_if_parameter(code, target)
            if edge_count[step.target] == 1:
                body.append(_Line(_var("g", step.target), code, f"via {step.source}"))
            else:
                partial_names[step.index] = f"p{step.index}_{step.target}"
                body.append(_Line(partial_names[step.index], code, f"via {step.source}"))
        reached = {s.target for s in self.derivation.steps}
        for q in network.quantities(elements=True):
            if q.elements is None and q.name not in reached:
                body.append(_Line(_var("g", q.name), f"np.zeros({q.matrix_shape})", "does not reach the loss"))
        for q in network.quantities(elements=False):
            if q.elements is not None:
                body.append(_Line(_var("g", q.name), _assemble("g", q)))
        if self.cse:
            body = _share_subexpressions(body)
        forward = gradients = [q.name for q in network.quantities(elements=False)]
        if self.outputs == "parameters":
            forward, gradients = [], [q.name for q in network.params]
        elif self.outputs == "loss":
            forward, gradients = [self.derivation.loss], []
        if self.outputs != "all":
            body = _live(body, {_var("v", n) for n in forward} | {_var("g", n) for n in gradients})
        for line in body:
            comment = f"  # {line.comment}" if line.comment else ""
            lines.append(f"    {line.target} = {line.code}{comment}")
        lines.append("    forward = {" + ", ".join(f"{n!r}: {_var('v', n)}" for n in forward) + "}")
        lines.append("    gradient = {" + ", ".join(f"{n!r}: {_var('g', n)}" for n in gradients) + "}")
        lines.append("    return forward, gradient")
        return "\n".join(lines) + "\n"

    def _summed_product(self, step) -> str | None:
        """A parameter gradient that is a product summed over the batch, as one product."""
        result = step.result
        if step.source == self.derivation.loss:
            return None
        if isinstance(result, T.MatMul) and isinstance(result.right, T.Transpose):
            return f"_outer_sum({self._tensor(result.left)}, {self._tensor(result.right.operand)})"
        if isinstance(result, T.MatMul):
            return f"_mm_sum({self._tensor(result.left)}, {self._tensor(result.right)})"
        if isinstance(result, sp.Mul) and len(result.args) == 2 and not any(a.is_number for a in result.args):
            return f"_mul_sum({self._scalar(result.args[0])}, {self._scalar(result.args[1])})"
        return None

    def _summed_if_parameter(self, code: str, target: Quantity) -> str:
        if target.kind == PARAM:
            return f"_batch_sum({code})"
        return code

    def __call__(self, arrays: dict[str, np.ndarray], batch_size: int) -> tuple[dict, dict]:
        arguments = [arrays[q.name] for q in self.network.quantities(INPUT, PARAM)]
        with np.errstate(all="ignore"):
            return self.function(*arguments, batch_size)


def _step_of(node: T.Tensor) -> sp.Expr | None:
    """The value at 0 if ``node`` applies the Heaviside step element-wise (ReLU′), else None."""
    if not isinstance(node, T.Elementwise):
        return None
    t = sp.Symbol("t", real=True)
    body = node.function.formula(t)
    if isinstance(body, sp.Heaviside) and body.args[0] == t:
        return body.args[1] if len(body.args) > 1 else sp.S.Half
    return None


def _assemble(prefix: str, q: Quantity) -> str:
    rows = ", ".join("[" + ", ".join(_var(prefix, e) for e in row) + "]" for row in q.elements)
    return f"_blocks([{rows}])"


_IDENTIFIER = re.compile(r"\b[A-Za-z_]\w*\b")


def _live(body: list[_Line], wanted: set[str]) -> list[_Line]:
    """Only the lines the wanted variables depend on (the gradient function skips ∂L/∂x and the like)."""
    needed = set(wanted)
    kept = []
    for line in reversed(body):
        if line.target in needed:
            kept.append(line)
            needed.update(_IDENTIFIER.findall(line.code))
    return kept[::-1]


def _share_subexpressions(body: list[_Line]) -> list[_Line]:
    """Compute each repeated call expression once (identical text, identical value)."""
    pattern = re.compile(r"(?:_f\d+\w*|_T|_total|_step|Sigmoid|ReLU|Softplus|LeakyReLU)\((?:[^()]|\([^()]*\))*\)")
    counts: dict[str, int] = {}
    for line in body:
        for match in set(pattern.findall(line.code)):
            counts[match] = counts.get(match, 0) + 1
    shared = {text: f"_c{k}" for k, text in enumerate(t for t, c in counts.items() if c > 1)}
    if not shared:
        return body
    defined: set[str] = set()
    result: list[_Line] = []
    for line in body:
        code = line.code
        for text, name in shared.items():
            if text in code:
                if name not in defined:
                    result.append(_Line(name, text, "shared"))
                    defined.add(name)
                code = code.replace(text, name)
        result.append(_Line(line.target, code, line.comment))
    return result


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """The worked example in numbers: ``forward[name]`` and ``grad[name]`` for every quantity.

    Arrays have the declared shape ((rows, columns), or () for scalars), with a
    leading batch axis for batched inputs and nodes.  ``forward[loss]`` is the
    mean loss over the batch; parameter gradients are means too.
    """

    forward: dict[str, Any]
    grad: dict[str, Any]
    batch_size: int | None
    exact: bool = False

    @property
    def loss(self) -> Any:
        return self.forward[self._loss_name]

    _loss_name: str = ""


def _shape_output(q: Quantity, array: Any, batched: bool) -> Any:
    array = np.asarray(array)
    if q.is_scalar:
        return array.reshape(array.shape[0]) if batched and array.ndim == 3 else array.reshape(())
    return array


def evaluate(derivation: Derivation, values: Mapping[str, Any]) -> Evaluation:
    arrays, batch_size = conform_all(derivation, values)
    forward, gradient = derivation._program(arrays, batch_size or 1)
    network = derivation.network
    out_forward, out_grad = {}, {}
    for q in network.quantities(elements=False):
        batched = batch_size is not None and q.kind != PARAM
        value = np.asarray(forward[q.name], dtype=float)
        if batched and value.ndim == 2:
            value = np.broadcast_to(value, (batch_size, *value.shape)).copy()
        if q.name == derivation.loss and batched:
            out_forward[q.name] = np.asarray(value.mean())
        else:
            out_forward[q.name] = _shape_output(q, value, batched)
        grad = np.asarray(gradient[q.name], dtype=float)
        if batched and grad.ndim == 2 and q.name != derivation.loss:
            grad = np.broadcast_to(grad, (batch_size, *grad.shape)).copy()
        out_grad[q.name] = _shape_output(q, grad, batched and grad.ndim == 3)
    out_grad[derivation.loss] = np.asarray(1.0)
    return Evaluation(out_forward, out_grad, batch_size, False, derivation.loss)


def evaluate_exact(derivation: Derivation, values: Mapping[str, Any]) -> Evaluation:
    """Exact arithmetic with SymPy (one sample; for teaching-size networks)."""
    arrays, batch_size = conform_all(derivation, values, exact=True)
    if batch_size is not None:
        raise ValuesError("exact evaluation takes one sample; evaluate a batch with exact=False")
    network = derivation.network
    known: dict[str, Any] = {}
    for name, array in arrays.items():
        q = network[name]
        matrix = sp.ImmutableMatrix(array.tolist())
        known[name] = matrix[0, 0] if q.is_scalar else matrix
        for row in q.elements or ():
            for element in row:
                i, j = network[element].index
                known[element] = matrix[i, j]

    def forward(name: str) -> Any:
        if name not in known:
            q = network[name]
            if q.elements is not None:
                known[name] = sp.ImmutableMatrix([[forward(e) for e in row] for row in q.elements])
            else:
                value = to_explicit(q.definition, forward, gradient)
                known[name] = sp.nsimplify(value[0, 0]) if q.is_scalar and isinstance(value, sp.MatrixBase) else value
        return known[name]

    gradients: dict[str, Any] = {}

    def gradient(name: str) -> Any:
        if name not in gradients:
            q = network[name]
            if q.elements is not None:
                gradients[name] = sp.ImmutableMatrix([[gradient(e) for e in row] for row in q.elements])
            elif name == derivation.loss:
                gradients[name] = derivation.seed.subs(T.BATCH_SIZE, 1)
            else:
                step = derivation.step_for(name)
                if step is None:
                    gradients[name] = sp.S.Zero if q.is_scalar else sp.ImmutableMatrix.zeros(*q.shape)
                else:
                    value = to_explicit(step.result, forward, gradient)
                    if isinstance(value, sp.MatrixBase) and q.is_scalar:
                        value = value[0, 0]
                    gradients[name] = value.subs(T.BATCH_SIZE, 1) if hasattr(value, "subs") else value
        return gradients[name]

    out_forward, out_grad = {}, {}
    for q in network.quantities(elements=False):
        out_forward[q.name] = _exact_array(forward(q.name))
        out_grad[q.name] = _exact_array(gradient(q.name))
    return Evaluation(out_forward, out_grad, None, True, derivation.loss)


def _exact_array(value: Any) -> np.ndarray:
    if isinstance(value, sp.MatrixBase):
        return np.array(value.tolist(), dtype=object)
    array = np.empty((), dtype=object)
    array[()] = sp.nsimplify(value) if not isinstance(value, sp.Basic) else value
    return array


class GradientFunction:
    """``grad(**values) -> {param: ∂L/∂param}``: the derivation compiled to NumPy.

    ``source`` is the generated code; :meth:`forward_and_gradients` also returns
    every forward value and every gradient.
    """

    def __init__(self, derivation: Derivation, *, cse: bool = True) -> None:
        self.derivation = derivation
        self.program = Program(derivation, cse=cse, outputs="parameters")
        self.source = self.program.source

    def __call__(self, **values: Any) -> dict[str, np.ndarray]:
        arrays, batch_size = conform_all(self.derivation, values)
        _, gradient = self.program(arrays, batch_size or 1)
        return {q.name: _shape_output(q, gradient[q.name], False) for q in self.derivation.network.params}

    def forward_and_gradients(self, **values: Any) -> Evaluation:
        return evaluate(self.derivation, values)
