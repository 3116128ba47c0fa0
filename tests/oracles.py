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
from symbackprop.values import conform

STABLE_CLASSES = (LogSumExp, LogLikelihood, LikelihoodSlope, LogOdds)


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


def autograd_backend() -> Backend:
    import autograd.numpy as anp

    return Backend(anp, anp.matmul, lambda a: anp.swapaxes(a, -1, -2),
                   lambda a: anp.sum(a, axis=(-2, -1), keepdims=True), anp.where,
                   anp.logaddexp, anp.maximum)


def torch_backend() -> Backend:
    import torch

    return Backend(torch, torch.matmul, lambda a: a.transpose(-1, -2),
                   lambda a: a.sum(dim=(-2, -1), keepdim=True), torch.where,
                   lambda a, b: torch.logaddexp(torch.as_tensor(a, dtype=torch.float64), b),
                   lambda a, b: torch.clamp(b, min=0.0) if a == 0 else torch.maximum(a, b))


def _function(backend: Backend, name: str, args: list) -> Any:
    xp = backend.xp
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
    if isinstance(expr, STABLE_CLASSES):  # the textbook formula, not our kernel
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


def tensor(backend: Backend, node: T.Tensor, env: dict[str, Any], symbols: dict) -> Any:
    rec = lambda n: tensor(backend, n, env, symbols)  # noqa: E731
    if isinstance(node, T.Ref):
        return env[node.name]
    if isinstance(node, T.Scalar):
        return scalar(backend, node.expr, symbols)
    if isinstance(node, T.MatMul):
        return backend.matmul(rec(node.left), rec(node.right))
    if isinstance(node, T.Add):
        return rec(node.left) + rec(node.right)
    if isinstance(node, T.Hadamard):
        return rec(node.left) * rec(node.right)
    if isinstance(node, T.Scale):
        return scalar(backend, node.factor, symbols) * rec(node.operand)
    if isinstance(node, T.Transpose):
        return backend.swap(rec(node.operand))
    if isinstance(node, T.Elementwise):
        t = sp.Symbol("t", real=True)
        operand = rec(node.operand)
        return scalar(backend, node.function.formula(t), {**symbols, t: operand})
    if isinstance(node, T.Power):
        return rec(node.operand) ** float(node.exponent)
    if isinstance(node, T.Sum):
        return backend.total(rec(node.operand))
    if isinstance(node, T.LossNode):
        return _loss(backend, node.kind, rec(node.prediction), rec(node.target))
    raise TypeError(f"oracle cannot evaluate {type(node).__name__}")


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
