"""From PyTorch: an ``nn.Sequential`` of Linear layers and activations as a symbackprop Network.

The page's PyTorch section builds ``nn.Sequential(nn.Linear(2, 4), nn.ReLU(),
nn.Linear(4, 1))`` and calls ``loss.backward()``; :func:`from_torch` turns the
same module into a network with the page's names, so its derivation shows the
steps ``backward()`` takes and its numbers equal ``.grad``.

Names: Linear layer k gives Wk (PyTorch's ``weight``, out × in), bk (``bias``)
and zk = Wk·h(k−1) + bk with h0 = x; an activation after it gives hk = f(zk).
A network ending in a Linear layer (as the page's does) ends with zk, which the
loss compares with the target y.  PyTorch's batch x of shape (N, features) is
accepted as it is.  Each activation's record (symbackprop/ops) names its
PyTorch module and how that module's options map to it; where PyTorch's
definition differs anywhere, the record says so.

torch is an optional dependency: it is imported only when a module is converted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import NetworkError, UnsupportedFunctionError
from .network import Network
from .ops import ACTIVATION_OPS, LOSS_OPS, Activation

#: Loss names and the functions that build them; "mse" is ``((y_pred - y) ** 2).mean()``.
LOSSES: dict[str, Callable[[Any, Any], Any]] = dict(LOSS_OPS)

#: PyTorch's module class names for each built-in activation.
_BY_TORCH_NAME = {op.torch: op for op in ACTIVATION_OPS.values() if op.torch is not None}

SUPPORTED = ("Linear", *_BY_TORCH_NAME, "Sequential")


def _torch():
    try:
        import torch
    except ImportError as error:  # pragma: no cover - exercised only without torch
        raise ModuleNotFoundError(
            "from_torch needs PyTorch: pip install 'symbackprop[torch]' (torch==2.13.0)"
        ) from error
    return torch


def _activation(module: Any) -> Activation | None:
    """The activation of a PyTorch module (None for Identity); raises for anything else."""
    nn = _torch().nn
    op = _BY_TORCH_NAME.get(type(module).__name__)
    if op is None or not isinstance(module, getattr(nn, op.torch)):
        raise UnsupportedFunctionError(
            f"unsupported layer {type(module).__name__}: from_torch converts nn.Sequential of "
            f"{', '.join(SUPPORTED[:-1])} (and nested nn.Sequential)"
        )
    if isinstance(module, nn.Identity):
        return None
    return op.from_torch(module) if op.from_torch is not None else op.activation


def _flatten(module: Any, prefix: str = "") -> list[tuple[str, Any]]:
    nn = _torch().nn
    if isinstance(module, nn.Sequential):
        layers = []
        for name, child in module.named_children():
            layers += _flatten(child, f"{prefix}{name}.")
        return layers
    return [(prefix, module)]


def _walk(module: Any) -> list[tuple[str, Any, Activation | None]]:
    """(torch prefix, Linear module or None, activation or None) per layer, in order."""
    nn = _torch().nn
    if not isinstance(module, nn.Sequential):
        raise UnsupportedFunctionError(
            f"from_torch converts an nn.Sequential, got {type(module).__name__}"
        )
    layers: list[list[Any]] = []
    previous = None
    for prefix, child in _flatten(module):
        if isinstance(child, nn.Linear):
            layers.append([prefix, child, None])
            previous = "linear"
            continue
        activation = _activation(child)
        if activation is None:
            continue
        if previous == "activation":
            raise UnsupportedFunctionError(
                f"two activations in a row (the second is {type(child).__name__} at {prefix.rstrip('.')!r}); "
                "from_torch expects at most one activation after each Linear layer"
            )
        if not layers:
            layers.append([prefix, None, activation])  # an activation applied to the input itself
        else:
            layers[-1][2] = activation
        previous = "activation"
    if not any(linear is not None for _, linear, _ in layers):
        raise UnsupportedFunctionError("the module has no nn.Linear layer, so nothing to differentiate with")
    return [tuple(layer) for layer in layers]


def _values(tensor: Any) -> np.ndarray:
    torch = _torch()
    return tensor.detach().to(device="cpu", dtype=torch.float64).numpy().copy()


def torch_parameter_names(module: Any) -> dict[str, str]:
    """PyTorch's parameter names (``module.named_parameters()``) mapped to the network's (W1, b1, …)."""
    names = {}
    k = 0
    for prefix, linear, _ in _walk(module):
        if linear is None:
            continue
        k += 1
        names[f"{prefix}weight"] = f"W{k}"
        if linear.bias is not None:
            names[f"{prefix}bias"] = f"b{k}"
    return names


def from_torch(module: Any, loss: str | Callable[[Any, Any], Any] = "mse",
               input_shape: int | tuple[int, ...] | None = None) -> tuple[Network, dict[str, np.ndarray]]:
    """The network of an ``nn.Sequential`` and the module's current parameters (float64 arrays).

    ``loss`` names the loss (``"mse"`` = ``((y_pred - y)**2).mean()``, also
    "half_squared_error", "binary_cross_entropy", "bce_with_logits",
    "cross_entropy") or is a function of (prediction, target) building it.
    ``input_shape`` (the number of input features) is needed only when the
    module starts with an activation; otherwise it is checked against the first
    Linear layer.  The returned values hold the parameters only: add x and y.
    """
    layers = _walk(module)
    first_linear = next(linear for _, linear, _ in layers if linear is not None)
    features = first_linear.in_features
    if input_shape is not None:
        given = input_shape if isinstance(input_shape, int) else int(np.prod(input_shape))
        if layers[0][1] is not None and given != features:
            raise NetworkError(f"input_shape {input_shape!r} does not match the first Linear layer's "
                               f"in_features = {features}")
        features = given
    elif layers[0][1] is None:
        raise NetworkError("the module starts with an activation: give input_shape (the number of features)")
    if isinstance(loss, str):
        try:
            build_loss = LOSSES[loss]
        except KeyError:
            raise NetworkError(f"unknown loss {loss!r}; known: {', '.join(sorted(LOSSES))}") from None
    elif callable(loss):
        build_loss = loss
    else:
        raise NetworkError(f"loss must be a name or a function of (prediction, target), got {loss!r}")

    net = Network()
    h = net.input("x", (features, 1))
    last_linear = [linear for _, linear, _ in layers if linear is not None][-1]
    y = net.input("y", (last_linear.out_features, 1))
    width = features
    values: dict[str, np.ndarray] = {}
    k = 0
    for _, linear, activation in layers:
        if linear is None:
            h = net.node("h0", activation(h))
            continue
        if linear.in_features != width:
            raise NetworkError(f"Linear layer {k + 1} expects {linear.in_features} inputs but receives {width}")
        k += 1
        width = linear.out_features
        W = net.param(f"W{k}", (linear.out_features, linear.in_features))
        values[f"W{k}"] = _values(linear.weight)
        z = _affine(W, h)
        if linear.bias is not None:
            b = net.param(f"b{k}", (linear.out_features, 1))
            values[f"b{k}"] = _values(linear.bias)
            z = z + b
        h = net.node(f"z{k}", z)
        if activation is not None:
            h = net.node(f"h{k}", activation(h))
    net.loss("L", build_loss(h, y))
    return net, values


def _affine(W: Any, h: Any) -> Any:
    """W·h where either may be a 1×1 quantity (a SymPy symbol) rather than a tensor."""
    from .tensor import Tensor

    if not isinstance(W, Tensor) and not isinstance(h, Tensor):
        return W * h
    return W @ h


__all__ = ["LOSSES", "SUPPORTED", "from_torch", "torch_parameter_names"]
