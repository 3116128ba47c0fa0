"""Using the gradients: the page's update θ ← θ − η ∂L/∂θ, gradient clipping and a small training loop.

Everything runs on the derivation's generated NumPy program (``d.lambdify()``),
so training uses exactly the gradients the derivation shows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from .errors import MissingValueError, ValuesError
from .network import INPUT, Network
from .values import conform

if TYPE_CHECKING:
    from .derivation import Derivation

#: What torch.nn.utils.clip_grad_norm_ adds to the total norm before dividing.
CLIP_EPSILON = 1e-6


# -- one update ------------------------------------------------------------------------------------


def _parameter_arrays(network: Network, values: Mapping[str, Any]) -> dict[str, np.ndarray]:
    arrays = {}
    for q in network.params:
        if q.name not in values:
            raise MissingValueError(f"missing value for parameter {q.name!r}")
        array, _ = conform(q, values[q.name])
        arrays[q.name] = array.reshape(()) if q.is_scalar else np.array(array, dtype=float)
    return arrays


def sgd_step(derivation: Derivation, values: Mapping[str, Any], learning_rate: float, *,
             max_norm: float | None = None) -> dict[str, np.ndarray]:
    """The parameters after one gradient descent step, θ − η ∂L/∂θ, at ``values`` (inputs and parameters).

    Returns only the parameters, as float arrays of their declared shapes
    (scalars as 0-d arrays); merge them into the values for the next step.
    With ``max_norm`` the gradients are first clipped as :func:`clip_grad_norm` does.
    """
    _check_learning_rate(learning_rate)
    grads = derivation.lambdify()(**values)
    if max_norm is not None:
        grads = clip_grad_norm(grads, max_norm).grads
    params = _parameter_arrays(derivation.network, values)
    return {name: np.asarray(params[name] - learning_rate * np.asarray(grads[name]).reshape(params[name].shape))
            for name in params}


def _check_learning_rate(learning_rate: Any) -> None:
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.floating)) \
            and not hasattr(learning_rate, "__float__"):
        raise ValuesError(f"learning rate must be a number, got {learning_rate!r}")
    try:
        rate = float(learning_rate)
    except (TypeError, ValueError, OverflowError):  # sp.I, a complex number, has no float
        raise ValuesError(f"learning rate must be a real number, got {learning_rate!r}") from None
    if not math.isfinite(rate) or rate <= 0:
        raise ValuesError(f"learning rate must be a positive finite number, got {learning_rate!r}")


def _latex_name(name: str) -> str:
    match = re.fullmatch(r"([A-Za-z]+)_?([0-9]+)", name)
    return f"{match.group(1)}_{{{match.group(2)}}}" if match else sp.latex(sp.Symbol(name))


def sgd_update_latex(derivation: Derivation, learning_rate: Any = None) -> str:
    """The update of every parameter as LaTeX lines (an ``aligned`` block), with η or the given number."""
    eta = r"\eta" if learning_rate is None else sp.latex(sp.nsimplify(learning_rate))
    lines = [rf"{_latex_name(q.name)} &\leftarrow {_latex_name(q.name)} - {eta}\,"
             rf"\frac{{\partial {_latex_name(derivation.loss)}}}{{\partial {_latex_name(q.name)}}}"
             for q in derivation.network.params]
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


# -- clipping --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClippedGradients:
    """Gradients after clipping, the total norm before it, and the factor they were multiplied by."""

    grads: dict[str, np.ndarray]
    total_norm: float
    coefficient: float

    @property
    def clipped(self) -> bool:
        return self.coefficient < 1.0


def clip_grad_norm(grads: Mapping[str, Any], max_norm: float, norm_type: float = 2.0, *,
                   error_if_nonfinite: bool = False) -> ClippedGradients:
    """Clip by the global norm, as ``torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)``.

    The total norm is the ``norm_type``-norm of the per-parameter norms (for
    2: the 2-norm of all gradient entries together; ``inf``: the largest
    magnitude).  Every gradient is multiplied by max_norm / (total + 1e-6) when
    that is below 1, and left alone otherwise.  A non-finite total raises
    ValuesError when ``error_if_nonfinite`` is set, as PyTorch raises RuntimeError.
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    arrays = {name: np.asarray(g, dtype=float) for name, g in grads.items()}
    if not arrays:
        return ClippedGradients({}, 0.0, 1.0)
    if math.isinf(norm_type):
        per_parameter = [float(np.max(np.abs(a))) if a.size else 0.0 for a in arrays.values()]
        total = max(per_parameter)
    else:
        per_parameter = [float(np.linalg.norm(a.ravel(), ord=norm_type)) for a in arrays.values()]
        total = float(np.linalg.norm(np.array(per_parameter), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise ValuesError(f"the total norm of order {norm_type:g} of the gradients is non-finite ({total}), "
                          "so it cannot be clipped")
    coefficient = min(max_norm / (total + CLIP_EPSILON), 1.0)
    return ClippedGradients({name: a * coefficient for name, a in arrays.items()}, total, coefficient)


# -- a training loop -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingHistory:
    """``losses[0]`` is the loss on the whole data set before training, ``losses[e]`` after epoch e."""

    losses: tuple[float, ...]
    step_losses: tuple[float, ...]
    params: dict[str, np.ndarray]
    steps: int


def initial_params(derivation: Derivation, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Random parameters drawn as ``nn.Linear`` draws them: U(−1/√fan_in, 1/√fan_in).

    A matrix's fan-in is its number of columns; a bias bk uses the fan-in of Wk
    when there is one (else 1).
    """
    rng = np.random.default_rng(seed)
    params = derivation.network.params
    fan_in = {q.name: q.matrix_shape[1] for q in params}
    out = {}
    for q in params:
        match = re.fullmatch(r"b([0-9]+)", q.name)
        fan = fan_in.get(f"W{match.group(1)}", 1) if match else fan_in[q.name]
        bound = 1.0 / math.sqrt(fan)
        array = rng.uniform(-bound, bound, size=q.matrix_shape)
        out[q.name] = array.reshape(()) if q.is_scalar else array
    return out


def train(derivation: Derivation, dataset: Mapping[str, Any], learning_rate: float, epochs: int, *,
          params: Mapping[str, Any] | None = None, batch_size: int | None = None,
          max_norm: float | None = None, shuffle: bool = True, seed: int = 0) -> TrainingHistory:
    """Mini-batch gradient descent on the lambdified gradients.

    ``dataset`` maps every input of the network to an array whose first axis
    runs over the samples (x of shape (samples, features), as PyTorch has it).
    ``params`` are the starting values (default :func:`initial_params`);
    ``batch_size`` None means the whole data set per step; ``max_norm`` clips
    each step's gradients by global norm.
    """
    _check_learning_rate(learning_rate)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValuesError(f"epochs must be a non-negative integer, got {epochs!r}")
    network = derivation.network
    inputs = [q.name for q in network.quantities(INPUT)]
    missing = [n for n in inputs if n not in dataset]
    if missing:
        raise MissingValueError(f"the data set lacks inputs {', '.join(map(repr, missing))}")
    data = {n: np.asarray(dataset[n], dtype=float) for n in inputs}
    counts = {n: (a.shape[0] if a.ndim else 0) for n, a in data.items()}
    samples = next(iter(counts.values()), 0)
    if samples == 0 or any(c != samples for c in counts.values()):
        raise ValuesError(f"every input needs the same number of samples along its first axis, got {counts}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValuesError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    current = _parameter_arrays(network, params if params is not None else initial_params(derivation, seed=seed))
    gradient = derivation.lambdify()
    rng = np.random.default_rng(seed)
    size = batch_size or samples

    def loss_on(batch: dict[str, np.ndarray]) -> float:
        return float(derivation.evaluate({**batch, **current}).loss)

    losses = [loss_on(data)]
    step_losses: list[float] = []
    steps = 0
    for _ in range(epochs):
        order = rng.permutation(samples) if shuffle else np.arange(samples)
        for start in range(0, samples, size):
            chosen = order[start:start + size]
            batch = {n: a[chosen] for n, a in data.items()}
            evaluation = gradient.forward_and_gradients(**batch, **current)
            step_losses.append(float(evaluation.loss))
            grads = {q.name: evaluation.grad[q.name] for q in network.params}
            if max_norm is not None:
                grads = clip_grad_norm(grads, max_norm).grads
            current = {n: np.asarray(current[n] - learning_rate * np.asarray(grads[n]).reshape(current[n].shape))
                       for n in current}
            steps += 1
        losses.append(loss_on(data))
    return TrainingHistory(tuple(losses), tuple(step_losses), current, steps)


__all__ = [
    "CLIP_EPSILON", "ClippedGradients", "TrainingHistory", "clip_grad_norm", "initial_params", "sgd_step",
    "sgd_update_latex", "train",
]
