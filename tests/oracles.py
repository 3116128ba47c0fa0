"""Independent autodiff oracles: the network's forward pass interpreted with autograd or PyTorch.

Only the forward definitions are read; no rule, step or generated code of the
engine is used, so agreement means the reverse sweep is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symbackprop import tensor as T
from symbackprop.network import INPUT, PARAM, Network
from symbackprop.ops.stable import LikelihoodSlope, LogLikelihood, LogOdds, LogSumExp
from symbackprop.tensor.convolution import Conv2d
from symbackprop.tensor.extrema import Extremum
from symbackprop.tensor.gather import GatherRows, PickColumns
from symbackprop.tensor.joining import ConcatAlong
from symbackprop.tensor.maximum import Maximum
from symbackprop.tensor.pooling import Pool2d
from symbackprop.tensor.slicing import SliceAlong
from symbackprop.values import conform

STABLE_CLASSES = (LogSumExp, LogLikelihood, LikelihoodSlope, LogOdds)
#: The gated activations, evaluated by their textbook forms (z/2·(1 + erf(z/√2)) for exact GELU).
GATED = ("GELU", "GELUTanh", "SiLU")


@dataclass(frozen=True)
class Backend:
    """The handful of array operations a forward pass needs."""

    xp: Any
    matmul: Any
    swap: Any
    total: Any
    where: Any
    logaddexp: Any
    maximum: Any
    axis_sum: Any  # (array, NumPy axis) → the sum along it, kept as an axis of length 1
    concatenate: Any  # (arrays, NumPy axis)
    extremum: Any  # (array, NumPy axes, "max" or "min") → the extremum along them, kept as axes of length 1
    erf: Any  # the error function of exact GELU's textbook form
    reshape: Any  # (array, shape of the last axes, rank of the operand) → the entries row-major in that shape
    permute: Any  # (array, order of the last axes) → the axes reordered, leading (batch) axes kept in front
    conv2d: Any  # (image (C, H, W) or (N, C, H, W), filters, bias (F, 1) or None, stride, padding), as F.conv2d
    pool2d: Any  # (image, "max" or "avg", kernel, stride), as F.max_pool2d and F.avg_pool2d


def autograd_backend() -> Backend:
    import autograd.numpy as anp

    return Backend(anp, anp.matmul, lambda a: anp.swapaxes(a, -1, -2),
                   lambda a: anp.sum(a, axis=(-2, -1), keepdims=True), anp.where,
                   anp.logaddexp, anp.maximum, lambda a, axis: anp.sum(a, axis=axis, keepdims=True),
                   lambda arrays, axis: anp.concatenate(arrays, axis=axis),
                   lambda a, axes, kind: getattr(anp, kind)(a, axis=axes, keepdims=True), _autograd_erf(),
                   lambda a, shape, rank: anp.reshape(a, a.shape[:a.ndim - rank] + shape),
                   lambda a, order: anp.transpose(a, _leading_kept(a.ndim, order)),
                   lambda x, w, b, stride, padding: _sliced_conv2d(anp, x, w, b, stride, padding),
                   lambda x, kind, kernel, stride: _sliced_pool2d(anp, x, kind, kernel, stride))


def _window_slices(a: Any, kernel: tuple[int, int], stride: tuple[int, int]) -> dict[tuple[int, int], Any]:
    """For each offset (i, j) of the window, the entries every window reads there: (…, H′, W′), by slicing."""
    out_h = (a.shape[-2] - kernel[0]) // stride[0] + 1
    out_w = (a.shape[-1] - kernel[1]) // stride[1] + 1
    return {(i, j): a[..., i:i + stride[0] * (out_h - 1) + 1:stride[0], j:j + stride[1] * (out_w - 1) + 1:stride[1]]
            for i in range(kernel[0]) for j in range(kernel[1])}


def _zero_padded(xp: Any, x: Any, padding: tuple[int, int]) -> Any:
    (ph, pw), lead = padding, tuple(x.shape[:-2])
    rows = xp.concatenate([xp.zeros(lead + (ph, x.shape[-1])), x, xp.zeros(lead + (ph, x.shape[-1]))], axis=-2)
    return xp.concatenate([xp.zeros(lead + (rows.shape[-2], pw)), rows, xp.zeros(lead + (rows.shape[-2], pw))],
                          axis=-1)


def _sliced_conv2d(xp: Any, x: Any, w: Any, b: Any, stride: tuple[int, int], padding: tuple[int, int]) -> Any:
    """The textbook sum Σ_{c,i,j} W[f, c, i, j] X[c, s·a + i − p, s·b + j − p], one window offset at a time."""
    slices = _window_slices(_zero_padded(xp, x, padding), w.shape[-2:], stride)
    y = sum(xp.einsum("fc,...chw->...fhw", w[:, :, i, j], part) for (i, j), part in slices.items())
    return y if b is None else y + xp.reshape(b, (b.shape[0], 1, 1))


def _sliced_pool2d(xp: Any, x: Any, kind: str, kernel: tuple[int, int], stride: tuple[int, int]) -> Any:
    parts = list(_window_slices(x, kernel, stride).values())
    if kind == "avg":
        return sum(parts) / len(parts)
    largest = parts[0]
    for part in parts[1:]:
        largest = xp.maximum(largest, part)
    return largest


def _torch_conv2d(x: Any, w: Any, b: Any, stride: tuple[int, int], padding: tuple[int, int]) -> Any:
    import torch.nn.functional as F

    batch = x if x.ndim == 4 else x[None]
    y = F.conv2d(batch, w, None if b is None else b[:, 0], stride=stride, padding=padding)
    return y if x.ndim == 4 else y[0]


def _torch_pool2d(x: Any, kind: str, kernel: tuple[int, int], stride: tuple[int, int]) -> Any:
    import torch.nn.functional as F

    return (F.max_pool2d if kind == "max" else F.avg_pool2d)(x, kernel, stride)


def _autograd_erf() -> Any:
    from autograd.scipy.special import erf

    return erf


def torch_backend() -> Backend:
    import torch

    return Backend(torch, torch.matmul, lambda a: a.transpose(-1, -2),
                   lambda a: a.sum(dim=(-2, -1), keepdim=True), torch.where,
                   lambda a, b: torch.logaddexp(torch.as_tensor(a, dtype=torch.float64), b),
                   lambda a, b: torch.clamp(b, min=0.0) if a == 0 else torch.maximum(a, b),
                   lambda a, axis: a.sum(dim=axis, keepdim=True), lambda arrays, axis: torch.cat(arrays, dim=axis),
                   lambda a, axes, kind: getattr(torch, "a" + kind)(a, dim=axes, keepdim=True), torch.erf,
                   lambda a, shape, rank: a.reshape(tuple(a.shape[:a.ndim - rank]) + shape),
                   lambda a, order: a.permute(_leading_kept(a.ndim, order)), _torch_conv2d, _torch_pool2d)


def _leading_kept(ndim: int, order: tuple[int, ...]) -> tuple[int, ...]:
    lead = ndim - len(order)
    return tuple(range(lead)) + tuple(lead + axis for axis in order)


#: Our SymPy classes for sp.Max and sp.Min of scalars, by the reduction of the stacked arguments that
#: autograd and torch.amax differentiate (sharing the gradient equally at a tie).
STACKED_EXTREMA = {"Largest": "max", "Smallest": "min"}


def _stacked_extremum(backend: Backend, args: list, kind: str) -> Any:
    template = next(a for a in args if hasattr(a, "shape"))  # a constant argument takes the others' shape
    stacked = backend.xp.stack([a if hasattr(a, "shape") else a + 0.0 * template for a in args])
    return backend.extremum(stacked, 0, kind)[0]


def _function(backend: Backend, name: str, args: list) -> Any:
    xp = backend.xp
    if name in STACKED_EXTREMA:
        return _stacked_extremum(backend, args, STACKED_EXTREMA[name])
    if name == "erf":
        return backend.erf(args[0])
    if name == "ReLU":
        return backend.where(args[0] > 0, args[0], 0.0 * args[0])
    if name == "Sigmoid":
        return 1.0 / (1.0 + xp.exp(-args[0]))
    if name == "Softplus":
        return backend.logaddexp(0.0, args[0])
    if name == "LeakyReLU":
        return backend.where(args[0] > 0, args[0], float(args[1]) * args[0])
    return getattr(xp, {"asin": "arcsin", "acos": "arccos", "atan": "arctan"}.get(name, name))(*args)


def scalar(backend: Backend, expr: sp.Expr, env: dict[sp.Symbol, Any]) -> Any:
    """A SymPy scalar expression evaluated on backend arrays."""
    if expr in env:
        return env[expr]
    if expr.is_Number or expr.is_NumberSymbol:
        return float(expr)
    if isinstance(expr, STABLE_CLASSES) or type(expr).__name__ in GATED:  # the textbook formula, not our kernel
        return scalar(backend, expr.primitive(), env)
    args = [scalar(backend, a, env) for a in expr.args]
    if isinstance(expr, sp.Add):
        result = args[0]
        for a in args[1:]:
            result = result + a
        return result
    if isinstance(expr, sp.Mul):
        result = args[0]
        for a in args[1:]:
            result = result * a
        return result
    if isinstance(expr, sp.Pow):
        return args[0] ** args[1]
    if isinstance(expr, sp.Function):
        return _function(backend, type(expr).__name__, args)
    raise TypeError(f"oracle cannot evaluate {expr!r}")


def _loss(backend: Backend, kind: str, h: Any, y: Any) -> Any:
    xp = backend.xp
    n = h.shape[-2] * h.shape[-1]
    if kind == "half_squared_error":
        return 0.5 * backend.total((h - y) ** 2)
    if kind == "mse":
        return backend.total((h - y) ** 2) / n
    if kind == "binary_cross_entropy":
        return -backend.total(y * xp.log(h) + (1 - y) * xp.log(1 - h)) / n
    if kind == "bce_with_logits":
        return backend.total(backend.logaddexp(0.0, h) - y * h) / n
    if kind == "cross_entropy":
        m = h.max() if hasattr(h, "max") else xp.max(h)
        log_sum = xp.log(backend.total(xp.exp(h - m))) + m
        return -backend.total(y * (h - log_sum))
    raise ValueError(kind)


def _loss_node(backend: Backend, node: T.LossNode, rec) -> Any:
    """A loss node; a softmax cross-entropy along an axis (one-hot, probabilities or class indices) by the textbook
    formula −(1/S) Σ targets ⊙ log softmax."""
    options = dict(node.options)
    if not options:
        return _loss(backend, node.kind, rec(node.prediction), rec(node.target))
    if node.kind != "cross_entropy":
        raise TypeError(f"oracle cannot evaluate the {node.kind} loss with options {options}")
    z, axis = rec(node.prediction), options["axis"]
    log_p = _softmax(backend, z, axis, log=True)
    targets = rec(node.target)
    if options["index"]:
        index = np.asarray(targets, dtype=int)
        classes = node.prediction.shape[axis]
        if axis == 1:  # (…, S, 1): a row of the identity per row of logits
            targets = np.eye(classes)[index[..., 0]]
        else:  # (…, 1, S): a column of the identity per column of logits
            targets = np.swapaxes(np.eye(classes)[index[..., 0, :]], -1, -2)
        targets = backend.xp.asarray(targets)
    return -backend.total(targets * log_p) / options["samples"]


def _elementwise(backend: Backend, node: T.Elementwise, rec, symbols: dict) -> Any:
    t = sp.Symbol("t", real=True)
    return scalar(backend, node.function.formula(t), {**symbols, t: rec(node.operand)})


def _one_hot(backend: Backend, index: Any, classes: int) -> Any:
    """Rows of the identity picked by integer indices (a constant: indices get no gradient)."""
    index = np.asarray(index, dtype=int)
    return backend.xp.asarray(np.eye(classes)[index[..., 0] if index.shape[-1] == 1 else index])


def _total(backend: Backend, a: Any, rank: int) -> Any:
    """The sum of every entry of a tensor of ``rank`` axes (the last ones), as a (…, 1, 1) block."""
    if rank == 2:
        return backend.total(a)
    for axis in range(-rank, -2):
        a = backend.axis_sum(a, axis)
    return backend.reshape(backend.total(a), (1, 1), rank)


def _softmax(backend: Backend, z: Any, axis: int, log: bool) -> Any:
    total = backend.axis_sum(backend.xp.exp(z), axis - 2)  # the textbook formula, not our shifted kernel
    return z - backend.xp.log(total) if log else backend.xp.exp(z) / total


#: How the oracle evaluates each node type a forward definition may hold (tests/test_completeness.py
#: checks that this and the gradient-side types there cover the whole algebra).
EVALUATED = {
    T.Ref: lambda b, n, rec, env, symbols: env[n.name],
    T.Scalar: lambda b, n, rec, env, symbols: scalar(b, n.expr, symbols),
    T.MatMul: lambda b, n, rec, env, symbols: b.matmul(rec(n.left), rec(n.right)),
    T.Add: lambda b, n, rec, env, symbols: rec(n.left) + rec(n.right),
    T.AddAll: lambda b, n, rec, env, symbols: sum((rec(t) for t in n.terms[1:]), rec(n.terms[0])),
    T.Hadamard: lambda b, n, rec, env, symbols: rec(n.left) * rec(n.right),
    T.Divide: lambda b, n, rec, env, symbols: rec(n.left) / rec(n.right),
    Maximum: lambda b, n, rec, env, symbols: b.xp.maximum(rec(n.left), rec(n.right)),
    GatherRows: lambda b, n, rec, env, symbols: _one_hot(b, rec(n.index), n.table.shape[0]) @ rec(n.table),
    PickColumns: lambda b, n, rec, env, symbols: b.axis_sum(rec(n.operand) * _one_hot(b, rec(n.index),
                                                                                    n.operand.shape[1]), -1),
    Extremum: lambda b, n, rec, env, symbols: b.extremum(rec(n.operand), (-2, -1) if n.axis is None
                                                         else n.axis - n.operand.rank, n.kind),
    Conv2d: lambda b, n, rec, env, symbols: b.conv2d(rec(n.image), rec(n.weight), None if n.bias is None
                                                     else rec(n.bias), n.geometry.stride, n.geometry.padding),
    Pool2d: lambda b, n, rec, env, symbols: b.pool2d(rec(n.operand), n.kind, n.geometry.kernel, n.geometry.stride),
    T.Scale: lambda b, n, rec, env, symbols: scalar(b, n.factor, symbols) * rec(n.operand),
    T.Transpose: lambda b, n, rec, env, symbols: b.swap(rec(n.operand)),
    T.Elementwise: lambda b, n, rec, env, symbols: _elementwise(b, n, rec, symbols),
    T.Power: lambda b, n, rec, env, symbols: rec(n.operand) ** float(n.exponent),
    T.Sum: lambda b, n, rec, env, symbols: _total(b, rec(n.operand), n.operand.rank),
    T.AxisSum: lambda b, n, rec, env, symbols: b.axis_sum(rec(n.operand), n.axis - n.operand.rank),
    T.Reshape: lambda b, n, rec, env, symbols: b.reshape(rec(n.operand), n.shape, n.operand.rank),
    T.Permute: lambda b, n, rec, env, symbols: b.permute(rec(n.operand), n.axes),
    T.Softmax: lambda b, n, rec, env, symbols: _softmax(b, rec(n.operand), n.axis, log=False),
    T.LogSoftmax: lambda b, n, rec, env, symbols: _softmax(b, rec(n.operand), n.axis, log=True),
    T.Slice: lambda b, n, rec, env, symbols: rec(n.operand)[..., n.rows[0]:n.rows[1], n.columns[0]:n.columns[1]],
    T.Concat: lambda b, n, rec, env, symbols: b.concatenate([rec(p) for p in n.parts], n.axis - 2),
    SliceAlong: lambda b, n, rec, env, symbols: rec(n.operand)[(Ellipsis, *(slice(*span) for span in n.spans))],
    ConcatAlong: lambda b, n, rec, env, symbols: b.concatenate([rec(p) for p in n.parts], n.axis - n.rank),
    T.LossNode: lambda b, n, rec, env, symbols: _loss_node(b, n, rec),
}


def tensor(backend: Backend, node: T.Tensor, env: dict[str, Any], symbols: dict) -> Any:
    evaluate = EVALUATED.get(type(node))
    if evaluate is None:
        raise TypeError(f"oracle cannot evaluate {type(node).__name__}")
    return evaluate(backend, node, lambda n: tensor(backend, n, env, symbols), env, symbols)


def mean_loss(backend: Backend, network: Network, leaves: dict[str, Any]) -> Any:
    """The batch-mean loss from arrays of shape (…, rows, columns) for every input and param."""
    env: dict[str, Any] = {}
    symbols: dict[sp.Symbol, Any] = {}
    for q in network.quantities(elements=True):
        if q.group is not None and q.kind in (INPUT, PARAM):
            i, j = q.index
            env[q.name] = leaves[q.group][..., i:i + 1, j:j + 1]
        elif q.kind in (INPUT, PARAM) and q.elements is None:
            env[q.name] = leaves[q.name]
        elif q.elements is None:
            definition = q.definition
            env[q.name] = (tensor(backend, definition, env, symbols) if isinstance(definition, T.Tensor)
                           else scalar(backend, definition, symbols) + 0.0 * _template(env))
        if q.symbol is not None and q.name in env:
            symbols[q.symbol] = env[q.name]
    loss = env[network.loss_name]
    return loss.mean() if hasattr(loss, "mean") else backend.xp.mean(loss)


def _template(env: dict[str, Any]) -> Any:
    """A zero of the batch's shape, so that constant nodes broadcast like the others."""
    return next(iter(env.values()))[..., :1, :1]


def _arrays(network: Network, values: dict[str, Any]) -> dict[str, np.ndarray]:
    return {q.name: np.asarray(conform(q, values[q.name])[0], dtype=float)
            for q in network.quantities(INPUT, PARAM)}


def autograd_gradients(network: Network, values: dict[str, Any]) -> dict[str, np.ndarray]:
    """∂(mean loss)/∂param for every parameter, by HIPS autograd."""
    from autograd import grad

    backend = autograd_backend()
    arrays = _arrays(network, values)
    names = [q.name for q in network.params]

    def loss_of(params):
        return mean_loss(backend, network, {**arrays, **dict(zip(names, params))})

    grads = grad(loss_of)([arrays[n] for n in names])
    return {n: np.reshape(g, network[n].shape or ()) for n, g in zip(names, grads)}


def torch_gradients(network: Network, values: dict[str, Any]) -> dict[str, np.ndarray]:
    """∂(mean loss)/∂param for every parameter, by PyTorch autograd in float64."""
    import torch

    backend = torch_backend()
    arrays = {n: torch.tensor(a, dtype=torch.float64) for n, a in _arrays(network, values).items()}
    for q in network.params:
        arrays[q.name].requires_grad_(True)
    mean_loss(backend, network, arrays).backward()
    return {q.name: arrays[q.name].grad.numpy().reshape(q.shape or ()) for q in network.params}


def oracle_gradients(network: Network, values: dict[str, Any]) -> dict[str, np.ndarray]:
    """∂(mean loss)/∂param by PyTorch where it is installed (CI installs it), else by HIPS autograd."""
    import importlib.util

    have_torch = importlib.util.find_spec("torch") is not None
    return torch_gradients(network, values) if have_torch else autograd_gradients(network, values)
