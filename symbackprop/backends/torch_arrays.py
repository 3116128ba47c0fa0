"""PyTorch as a generated program's array library: NumPy's names over float64 tensors.

torch has most of NumPy's functions under NumPy's names (``arcsinh``,
``swapaxes``, ``logaddexp``) but wants tensors where NumPy takes Python numbers,
``dim``/``keepdim`` where NumPy says ``axis``/``keepdims``, and ``amax`` for a
maximum over an axis.  :class:`_TorchArrays` supplies that difference and
passes everything else to torch; every function here is one torch.compile traces.
"""

from __future__ import annotations

import ast
import contextlib
import sys
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError
from .porting import ArrayBackend

INSTALL_TORCH = "pip install 'symbackprop[torch]'"

#: SciPy's special functions that ``torch.special`` has, under SciPy's names.
_NATIVE_SPECIAL = ("erf", "erfc", "gammaln")

#: NumPy's names that torch spells otherwise.
_RENAMED = {"power": "pow", "absolute": "abs", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh"}

#: A ufunc's ``reduce`` over an axis of one array, as torch names the reduction.
_REDUCTIONS = {"add": "sum", "multiply": "prod", "maximum": "amax", "minimum": "amin"}


def _torch():
    torch = sys.modules.get("torch")  # every call of a program asks: the import statement's lookup costs more
    if torch is not None:
        return torch
    try:
        import torch
    except ImportError:
        raise BackendUnavailableError(f"the PyTorch backend needs PyTorch: {INSTALL_TORCH}") from None
    return torch


class _Elementwise:
    """A NumPy ufunc of tensors or numbers, with ``.reduce`` over a sequence of arrays."""

    def __init__(self, function, name: str) -> None:
        self._function = function
        self.__name__ = name
        self._tensor = _torch().Tensor

    def __call__(self, *arguments):
        for argument in arguments:  # a loop, not all(): this runs for every element-wise step of a program
            if not isinstance(argument, self._tensor):
                return self._function(*_tensors(*arguments))
        return self._function(*arguments)

    def reduce(self, arrays, axis=0, keepdims=False):
        torch = _torch()
        if isinstance(arrays, torch.Tensor):  # one array reduced along an axis (None: every axis), as NumPy's
            reduction = getattr(torch, _REDUCTIONS[self.__name__])
            if axis is None:
                total = reduction(arrays)
                return total.reshape((1,) * arrays.ndim) if keepdims else total
            return reduction(arrays, dim=axis, keepdim=keepdims)
        total = arrays[0]
        for array in arrays[1:]:
            total = self(total, array)
        return total


def _tensors(*values):
    torch = _torch()
    if all(isinstance(v, torch.Tensor) for v in values):
        return values
    if not any(isinstance(v, torch.Tensor) for v in values):
        return [torch.as_tensor(v, dtype=torch.float64) for v in values]
    like = next(v for v in values if isinstance(v, torch.Tensor))
    dtype = like.dtype if like.dtype.is_floating_point else torch.float64
    return [v if isinstance(v, torch.Tensor) else torch.as_tensor(v, dtype=dtype) for v in values]


class _TorchArrays:
    """``np`` for a ported kernel, over torch tensors."""

    newaxis = None
    float64 = float
    pi, e, nan, inf = np.pi, np.e, np.nan, np.inf

    def __init__(self) -> None:
        torch = self._torch = _torch()
        for name in ("maximum", "minimum", "logaddexp", "power", "arctan2", "hypot", "fmod", "copysign"):
            setattr(self, name, _Elementwise(getattr(torch, _RENAMED.get(name, name)), name))

    def __getattr__(self, name: str) -> Any:
        function = getattr(self._torch, _RENAMED.get(name, name))  # AttributeError: torch has no such function
        if callable(function):
            function = _Elementwise(function, name)
        setattr(self, name, function)  # looked up once
        return function

    def asarray(self, value, dtype=None):
        torch = self._torch
        if isinstance(value, torch.Tensor):
            return value.to(torch.float64) if dtype is not None and not value.dtype == torch.float64 else value
        return torch.as_tensor(np.asarray(value, dtype=np.float64) if dtype is not None else value,
                               dtype=torch.float64 if dtype is not None else None)

    array = asarray

    @staticmethod
    def errstate(**_: Any):
        return contextlib.nullcontext()

    def heaviside(self, x, at_zero):
        """NumPy's step: 1 above 0, ``at_zero`` at 0, 0 below, and NaN where x is NaN (torch.heaviside gives 0)."""
        torch = self._torch
        if isinstance(at_zero, (int, float)) and at_zero == 0:
            # clamp keeps NaN and puts every positive x in (0, 1], whose ceiling is 1: two passes, no mask
            return torch.clamp(_tensors(x)[0], 0.0, 1.0).ceil_()
        x, at_zero = _tensors(x, at_zero)
        return torch.where(torch.isnan(x), x, torch.heaviside(x, at_zero))

    def gate(self, g, x, at_zero=0.0):
        """g ⊙ heaviside(x, at_zero), multiplied into the step's own buffer where their shapes agree: one array
        of x's size fewer alive (not a NumPy name: torch's program text is rewritten to call it)."""
        step = self.heaviside(x, at_zero)
        if isinstance(g, self._torch.Tensor) and g.shape == step.shape and g.dtype == step.dtype:
            return step.mul_(g)  # g ⊙ s and s ⊙ g are the same numbers
        return g * step

    def where(self, condition, x, y):
        torch = self._torch
        if not (isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor)):
            x, y = _tensors(x, y)
        return torch.where(condition, x, y)  # a Python number beside a tensor takes the tensor's dtype

    def sum(self, a, axis=None, keepdims=False):
        a = _tensors(a)[0]
        return a.sum() if axis is None else self._torch.sum(a, dim=axis, keepdim=keepdims)

    def max(self, a, axis=None, keepdims=False):
        a = _tensors(a)[0]
        return a.max() if axis is None else self._torch.amax(a, dim=axis, keepdim=keepdims)

    amax = max

    def min(self, a, axis=None, keepdims=False):
        a = _tensors(a)[0]
        return a.min() if axis is None else self._torch.amin(a, dim=axis, keepdim=keepdims)

    amin = min

    def cumsum(self, a, axis=None):
        a = _tensors(a)[0]
        return self._torch.cumsum(a.reshape(-1) if axis is None else a, dim=0 if axis is None else axis)

    def swapaxes(self, a, first, second):
        return self._torch.swapaxes(a, first, second)

    def transpose(self, a, axes):
        return self._torch.permute(_tensors(a)[0], tuple(axes))  # NumPy's transpose with axes is torch's permute

    def concatenate(self, arrays, axis=0):
        return self._torch.cat(list(arrays), dim=axis)

    def stack(self, arrays, axis=0):
        return self._torch.stack(list(arrays), dim=axis)

    def broadcast_to(self, a, shape):
        return self._torch.broadcast_to(_tensors(a)[0], tuple(shape))

    def broadcast_shapes(self, *shapes):
        return tuple(self._torch.broadcast_shapes(*shapes))

    def broadcast_arrays(self, *arrays):
        return self._torch.broadcast_tensors(*_tensors(*arrays))

    def dot(self, a, b):
        return self._torch.dot(a, b)

    @staticmethod
    def ndim(a):
        return a.ndim if hasattr(a, "ndim") else np.ndim(a)

    @staticmethod
    def shape(a):
        return tuple(a.shape) if hasattr(a, "shape") else np.shape(a)

    def zeros(self, shape):
        return self._torch.zeros(shape, dtype=self._torch.float64)

    def ones(self, shape):
        return self._torch.ones(shape, dtype=self._torch.float64)

    def abs(self, a):
        return self._torch.abs(_tensors(a)[0])

    def select(self, conditions, choices, default=0.0):
        result = _tensors(default)[0]
        for condition, choice in reversed(list(zip(conditions, choices))):
            result = self.where(condition, choice, result)
        return result


class _Special:
    """``scipy.special`` for a ported kernel: torch.special's functions, the rest on the host."""

    def __init__(self, host) -> None:
        self._host = host

    def __getattr__(self, name: str) -> Any:
        torch = _torch()
        if name in _NATIVE_SPECIAL:
            return _Elementwise(getattr(torch.special, name), name)
        import scipy.special

        return self._host(getattr(scipy.special, name))


def _host(function):
    def on_host(*arguments):
        torch = _torch()
        values = [a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a for a in arguments]
        return torch.as_tensor(np.asarray(function(*values), dtype=np.float64))

    on_host.__name__ = getattr(function, "__name__", "on_host")
    return on_host


def _sigmoid(z):
    """σ(z) in one pass instead of the five of NumPy's stable form (an eager library pays per pass): the same
    numbers to 4e-16 over [−708, 708]; below, where σ(z) is subnormal, 0."""
    return _torch().sigmoid(_tensors(z)[0])


def torch_backend() -> ArrayBackend:
    from .torch_kernels import KERNELS

    arrays = _TorchArrays()

    def gate(g, x, at_zero=0.0):
        """g ⊙ 𝟏[x > 0] — ReLU's backward step — NaN in x kept, in three passes instead of the functional five."""
        return arrays.gate(g, x, at_zero)

    gate.__name__ = "_gate"
    return ArrayBackend("PyTorch", arrays, _Special(_host), _host,
                        # torch.special.polygamma is 5e-10 away from SciPy's
                        on_host=frozenset({"LambertW", "besselj", "gamma", "Ei", "polygamma"}),
                        replaced={"stable_sigmoid": _sigmoid, "_gate": gate, **KERNELS}, rewrite=_gated_steps)


def _gated_steps(source: str) -> str:
    """The rows program's text with each ``g * np.heaviside(x, 0.0)`` (ReLU′'s gate) one call of
    :meth:`_TorchArrays.gate`, which multiplies into the step's buffer: at a wide layer, one array fewer at the
    first call's peak."""

    class _Gates(ast.NodeTransformer):
        def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
            self.generic_visit(node)
            step = node.right
            if (isinstance(node.op, ast.Mult) and isinstance(step, ast.Call) and isinstance(step.func, ast.Attribute)
                    and step.func.attr == "heaviside" and isinstance(step.func.value, ast.Name)
                    and step.func.value.id == "np" and len(step.args) == 2 and not step.keywords):
                return ast.Call(ast.Attribute(step.func.value, "gate", ast.Load()), [node.left, *step.args], [])
            return node

    return ast.unparse(_Gates().visit(ast.parse(source)))


def to_backend(value: Any) -> Any:
    torch = _torch()
    if isinstance(value, torch.Tensor):
        return value if value.dtype == torch.float64 else value.to(torch.float64)
    return torch.as_tensor(np.asarray(value, dtype=np.float64))


def to_backend_indices(value: Any) -> Any:
    """Class indices given as 64-bit integers, as they are; any other value as :func:`to_backend` brings it."""
    torch = _torch()
    if isinstance(value, torch.Tensor) and value.dtype == torch.int64:
        return value
    if isinstance(value, np.ndarray) and value.dtype == np.int64:
        return torch.as_tensor(value)
    return to_backend(value)


def torch_compiling() -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and torch.compiler.is_compiling()


def fresh(gradient: dict[str, Any], arguments: list[Any]) -> dict[str, Any]:
    """The gradients, each a tensor of its own: one that shares its storage with an argument of the program or an
    earlier gradient is copied (a batch of one returns a per-sample term as it is, which may be either)."""
    seen = {id(a if a._base is None else a._base) for a in arguments}  # a view's _base is the tensor it views
    for name, value in gradient.items():
        storage = id(value if value._base is None else value._base)
        if storage in seen:
            gradient[name] = value = value.clone()
            storage = id(value)
        seen.add(storage)
    return gradient


def one_sample_source(source: str) -> str:
    """The program's text for a batch size of 1: the seed 1/N is then 1, and its products (1.0·x is x, bit for
    bit) are left out, each an operation that eager torch pays for; a name squared is its product with itself."""
    tree = ast.parse(source)
    seeds = {line.targets[0].id for function in tree.body if isinstance(function, ast.FunctionDef)
             for line in function.body if isinstance(line, ast.Assign) and len(line.targets) == 1
             and isinstance(line.targets[0], ast.Name) and ast.unparse(line.value) == "1.0 / batch_size"}

    class _Unit(ast.NodeTransformer):
        def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
            self.generic_visit(node)
            squared = isinstance(node.right, ast.Constant) and node.right.value == 2
            if isinstance(node.op, ast.Pow) and isinstance(node.left, ast.Name) and squared:
                # torch's ** is a Python wrapper; x·x is NumPy's square bit for bit
                return ast.BinOp(node.left, ast.Mult(), ast.Name(node.left.id, ast.Load()))
            if isinstance(node.op, ast.Mult):
                for seed, other in ((node.left, node.right), (node.right, node.left)):
                    if isinstance(seed, ast.Name) and seed.id in seeds and not isinstance(other, ast.Constant):
                        return other
            return node

    return ast.unparse(_Unit().visit(tree))


def compile_function(function):
    return function
