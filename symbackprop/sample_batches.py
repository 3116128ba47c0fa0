"""A batch of a network that holds tensors of rank 3 or more: its samples run one at a time, then combined.

NumPy aligns axes from the last, so a leading batch axis on a matrix (N, m, k) meets the first axis of a
tensor (h, m, k) of the same network as if it were that tensor's own: the program's kernels, which count
axes from the last, cannot tell a batch axis from a tensor's. So the samples of such a network (the inputs
given one more, leading axis (N, *shape)) go through the same program one at a time, and are combined as
the batched program combines them for matrices: the loss is the mean of the samples' losses, so an
input's or a node's gradient is 1/N of its own sample's, and a parameter's gradient is the mean of the
samples' gradients (the sum of the batch's terms, each with its 1/N).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import ValueShapeError
from .network import INPUT, PARAM
from .values import conform_all

#: One sample's run: the arrays of the inputs and parameters in the program's order → (forward, gradient).
Run = Callable[[list[Any]], tuple[Mapping[str, Any], Mapping[str, Any]]]


def runs_sample_by_sample(network: Any) -> bool:
    """Whether a batch of ``network`` runs one sample at a time: it holds a tensor of rank 3 or more."""
    return any(q.shape is not None and len(q.shape) > 2 for q in network.quantities())


def _samples(network: Any, arguments: Sequence[Any], batch_size: int) -> list[list[Any]]:
    """The arguments of each sample: every input's n-th slice of its batch axis, the parameters as given."""
    batched = [q.kind == INPUT for q in network.quantities(INPUT, PARAM)]
    return [[a[n] if is_input else a for a, is_input in zip(arguments, batched)] for n in range(batch_size)]


def forward_and_gradients(run: Run, network: Any, arguments: Sequence[Any], batch_size: int
                          ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every forward value and gradient of the batch, as the batched program gives them: an input's or a node's
    with the batch axis in front, a parameter's value as given and its gradient the batch's mean."""
    results = [run(sample) for sample in _samples(network, arguments, batch_size)]
    forward: dict[str, np.ndarray] = {}
    gradient: dict[str, np.ndarray] = {}
    for name in results[0][0]:
        if network[name].kind == PARAM:
            forward[name] = results[0][0][name]
        else:
            forward[name] = np.stack([np.asarray(f[name], dtype=float) for f, _ in results])
    for name in results[0][1]:
        if np.ndim(results[0][1][name]) < 2:  # the seed ∂L/∂L, one number for the whole batch
            gradient[name] = np.asarray(results[0][1][name], dtype=float) / batch_size
            continue
        each = np.stack([np.asarray(g[name], dtype=float) for _, g in results]) / batch_size
        gradient[name] = each.sum(axis=0) if network[name].kind == PARAM else each
    return forward, gradient


def parameter_gradients(run: Run, network: Any, arguments: Sequence[Any], batch_size: int) -> dict[str, Any]:
    """The parameters' gradients of the batch's mean loss, in the program's arrays (NumPy, JAX or torch): the
    mean of the samples' gradients."""
    total: dict[str, Any] = {}
    for sample in _samples(network, arguments, batch_size):
        for name, value in run(sample)[1].items():
            total[name] = value if name not in total else total[name] + value
    return {name: value / batch_size for name, value in total.items()}


def mean_loss(program: Any, network: Any, arrays: Mapping[str, Any], batch_size: int) -> float:
    """The batch's loss, the mean of its samples' losses, from a program of the loss (``outputs="loss"``)."""
    arguments = [arrays[q.name] for q in network.quantities(INPUT, PARAM)]
    losses = [np.mean(program.function(*sample, 1)[0][network.loss_name])
              for sample in _samples(network, arguments, batch_size)]
    return float(np.mean(losses))


def refuse_in_documents(derivation: Any, values: Mapping[str, Any] | None) -> None:
    """The documents of a network with tensors of rank 3 or more show one sample's numbers: a batch is refused,
    saying how to give one sample."""
    if values is None or not runs_sample_by_sample(derivation.network):
        return
    if conform_all(derivation, values)[1] is not None:
        raise ValueShapeError(
            "the documents of a network with tensors of rank 3 or more show one sample's numbers, and these values "
            "have a batch axis: give one sample, each input without its leading axis ({name: value[n]}); "
            "d.evaluate and d.lambdify take the batch"
        )


__all__ = ["forward_and_gradients", "mean_loss", "parameter_gradients", "refuse_in_documents",
           "runs_sample_by_sample"]
