"""The program for one sample whose values are matrices: each kernel written as the NumPy it does on matrices.

A network without a batch axis (a matrix of tokens, or of samples as rows) runs the
general program, whose kernels accept a leading batch axis and look for it on every
call. A training loop calling with one sample many times gets, once, the program's
lines rewritten from their recorded values: where every operand is a matrix, a kernel
call becomes the operation it performs on matrices (``_mm(a, b)`` is ``a @ b``,
``_mm_sum(a, b, 1)`` is ``a @ b``, ``_T(a)`` is ``a.T``, a sum over an axis a product
by a constant vector of ones, one BLAS call where NumPy's reduction makes a pass per row);
an activation is its one expression; the batch size is the constant 1, a number computed
from constants alone is that number, and a product with 1.0 is its other factor. The
numbers are the general program's but for the rounding of those sums (the same terms added
in another order); a line no rule covers stays as it is.
"""

from __future__ import annotations

import ast
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from .compiled import compile_program, record
from .emitter import name, numpy_call
from .inlining import inlined_call
from .lines import Line, live, names_read, readers
from .peephole import whole_array_steps
from .rows import flatten, relu_gate, relu_input

_BATCH_SIZE = "batch_size"


def one_sample_program(lines: list[Line], arguments: list[str], returns: ast.Tuple, namespace: dict[str, Any],
                       activations: dict[str, ast.FunctionDef], values: list[Any]) -> Callable:
    """The program of ``lines`` for one sample (``values``: its arguments, the batch size 1 last)."""
    flat = flatten(lines)
    helpers = "\n\n\n".join(ast.unparse(d) for d in activations.values())
    recorded = record(flat, arguments, namespace, helpers, values)
    rewriter = _Matrices(recorded, set(arguments), namespace, activations, readers(flat, returns))
    body = [rewriter.line(line) for line in flat]
    body = live(body, names_read(returns))
    every = set(recorded) | set(arguments)
    body = whole_array_steps(body, returns, every, recorded)
    return compile_program("derivation_one_sample", arguments, [], body, returns,
                           {"np": np, **namespace, **rewriter.ones}, helpers, {})


class _Matrices:
    """Rewrites flattened lines whose operands are matrices, given every variable's recorded value."""

    def __init__(self, values: dict[str, Any], arguments: set[str], namespace: dict[str, Any],
                 activations: dict[str, ast.FunctionDef], read_by: dict[str, list]) -> None:
        self.values = values
        self.arguments = arguments
        self.namespace = namespace
        self.activations = activations
        self.read_by = read_by
        self._holders = Counter(map(id, values.values()))  # how many variables hold each array
        self.constants: dict[str, float] = {_BATCH_SIZE: 1}
        self.relu_outputs: dict[str, str] = {}  # x → the variable holding ReLU(x)
        self.ones: dict[str, np.ndarray] = {}  # the constant matrices of ones the sums multiply

    def line(self, line: Line) -> Line:
        constant = self._folded(line)
        if constant is not None:
            self.constants[line.target] = constant
            return Line(line.target, ast.Constant(constant), line.comment)
        value = line.value
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult):
            value = self._times_one(value)
        elif isinstance(value, ast.Call):
            value = self._kernel(value)
        if (relu_of := relu_input(value)) is not None:
            self.relu_outputs[relu_of] = line.target
        return Line(line.target, value, line.comment)

    # -- numbers ---------------------------------------------------------------------------------

    def _folded(self, line: Line) -> float | int | None:
        """The line's number if it reads only constants (and functions): the batch size 1, 1/8, √2 …"""
        value = self.values.get(line.target)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            return None
        if not math.isfinite(value):
            return None
        for read in names_read(line.value):
            if read not in self.constants and (read in self.values or read in self.arguments):
                return None
        return int(value) if isinstance(value, (int, np.integer)) else float(value)

    def _times_one(self, product: ast.BinOp) -> ast.expr:
        """``1.0 * a`` as ``a`` itself, where ``a`` is an intermediate matrix no other line reads (no value is
        then handed out twice)."""
        for one, other in ((product.left, product.right), (product.right, product.left)):
            if self._number(one) == 1 and self._fresh_matrix(other):
                return other
        return product

    def _number(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        return self.constants.get(node.id) if isinstance(node, ast.Name) else None

    def _fresh_matrix(self, node: ast.expr) -> bool:
        if not isinstance(node, ast.Name) or node.id in self.arguments or len(self.read_by.get(node.id, ())) != 1:
            return False
        value = self.values.get(node.id)  # its own memory: no view of, nor the same array as, any other value
        return (isinstance(value, np.ndarray) and value.dtype == np.float64 and value.ndim == 2 and value.base is None
                and self._holders[id(value)] == 1)

    # -- kernels -------------------------------------------------------------------------------

    def _kernel(self, node: ast.Call) -> ast.expr:
        function = node.func.id if isinstance(node.func, ast.Name) else None
        if function in self.activations:
            return inlined_call(node, self.activations, self.namespace)
        operands, matrices = node.args, [self._matrix(a) for a in node.args]
        if function is None or node.keywords or not operands or not matrices[0]:
            return node
        pair = len(operands) >= 2 and matrices[1]
        batch = len(operands) == 3 and self._batch_size(operands[2])
        if function == "_T" and len(operands) == 1:
            return _transposed(operands[0])
        if (function == "_mm" and len(operands) == 2 or function == "_mm_sum" and batch) and pair:
            return ast.BinOp(operands[0], ast.MatMult(), operands[1])
        if function == "_mm_t" and len(operands) == 2 and pair:
            return ast.BinOp(_transposed(operands[0]), ast.MatMult(), operands[1])
        if function == "_outer_sum" and batch and pair:
            return ast.BinOp(operands[0], ast.MatMult(), _transposed(operands[1]))
        if function == "_batch_sum" and len(operands) == 2 and self._batch_size(operands[1]):
            return operands[0] if self._fresh_matrix(operands[0]) else node
        if function == "_axis_sum" and len(operands) == 2 and _constant(operands[1]) in (0, 1):
            rows, columns = np.shape(self.values[operands[0].id])
            if _constant(operands[1]) == 0:  # 1ᵀA: one BLAS product, where a reduction makes a pass per row
                return numpy_call("dot", self._ones(1, rows), operands[0])
            return numpy_call("dot", operands[0], self._ones(columns, 1))
        if function == "_total" and len(operands) == 1:
            axes = ast.Tuple([ast.Constant(-2), ast.Constant(-1)], ast.Load())
            return numpy_call("add.reduce", operands[0], axes, keepdims=ast.Constant(True))
        if function == "_gate" and len(operands) == 3 and matrices[1] and _constant(operands[2]) == 0:
            return relu_gate(operands[0], operands[1], False, self.relu_outputs.get(operands[1].id))
        return node

    def _ones(self, rows: int, columns: int) -> ast.Name:
        """A constant matrix of ones of the program, made once (read-only: every call shares it)."""
        identifier = f"_ones_{rows}x{columns}"
        if identifier not in self.ones:
            self.ones[identifier] = np.ones((rows, columns))
            self.ones[identifier].flags.writeable = False
        return name(identifier)

    def _matrix(self, node: ast.expr) -> bool:
        value = self.values.get(node.id) if isinstance(node, ast.Name) else None
        return isinstance(value, np.ndarray) and value.ndim == 2 and value.dtype == np.float64

    def _batch_size(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id == _BATCH_SIZE


def _transposed(node: ast.expr) -> ast.expr:
    return ast.Attribute(node, "T", ast.Load())


def _constant(node: ast.expr) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


__all__ = ["one_sample_program"]
