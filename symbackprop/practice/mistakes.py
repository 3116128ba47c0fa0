"""The mistakes a step of a hand-written backward pass is checked for, each as the number it would give.

A wrong answer is compared with what each known mistake makes of the step, computed from the
same upstream gradients the student had: the first that matches names the mistake.  Mistakes of
one edge (a factor without its ᵀ, an activation's derivative at its output, a local derivative
left out) come first, then a term of a fan-out's sum left out, then what can happen to any
result (its sign, its transpose, the batch mean's 1/N, a constant factor).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..kernels import KERNELS
from ..registry import Product

#: Every code a wrong answer may be given, with what it means (docs/practice.md lists them too).
MISTAKES: dict[str, str] = {
    "transpose": "a transposed result, or a factor without its ᵀ (W·δ for Wᵀ·δ)",
    "activation_point": "an activation's derivative taken at its output h instead of its input z",
    "dropped_factor": "the step's local derivative left out (∂L/∂z = ∂L/∂h without f′(z))",
    "fan_out": "a sum over paths or time steps with a term left out",
    "sign": "the sign flipped",
    "batch_mean": "the mean's 1/N left out, or applied twice",
    "factor": "off by a constant factor (a 2 of a square, the ½ applied twice)",
    "shape": "an answer whose shape is not the quantity's",
}

#: Constant factors a result is checked for after everything else.
COMMON_FACTORS = (2.0, 0.5, 4.0, 0.25, 3.0, 1 / 3)
#: A fan-out with more terms than this is checked for one term left out, not every subset.
MOST_TERMS_FOR_SUBSETS = 6


@dataclass(frozen=True)
class Candidate:
    """What the step gives with one mistake made; ``details`` fills the hint's sentence."""

    code: str
    value: np.ndarray
    details: dict[str, Any] = field(default_factory=dict)


def swap(array: np.ndarray) -> np.ndarray:
    return np.swapaxes(array, -1, -2) if np.ndim(array) >= 2 else array


def candidates(parts: list[tuple[Any, np.ndarray]], numbers, adjoints: dict[str, Any], *, parameter: bool,
               batch_size: int, counts: tuple[int, ...]) -> Iterator[Candidate]:
    """Each mistake's number for the quantity the edges ``parts`` (step, value) add up to, in order of priority."""
    total = _sum([value for _, value in parts])
    for position, (step, value) in enumerate(parts):
        for candidate in _edge_variants(step, value, numbers, adjoints, parameter, batch_size):
            others = [v for i, (_, v) in enumerate(parts) if i != position]
            yield Candidate(candidate.code, _sum([*others, candidate.value]), candidate.details)
    if len(parts) > 1:
        yield from _fan_out(parts)
    yield Candidate("sign", -total)
    if np.ndim(total) >= 2 and (swap(total).shape != total.shape or not np.allclose(swap(total), total)):
        yield Candidate("transpose", swap(total), {"transposed": True})
    for n in counts:
        yield Candidate("batch_mean", total * n, {"n": n, "direction": "left_out"})
        yield Candidate("batch_mean", total / n, {"n": n, "direction": "twice"})
    for factor in COMMON_FACTORS:
        yield Candidate("factor", total * factor, {"factor": factor})


def _edge_variants(step, value: np.ndarray, numbers, adjoints: dict[str, Any], parameter: bool,
                   batch_size: int) -> Iterator[Candidate]:
    upstream = adjoints.get(step.source)
    local = numbers.locals.get(step.index)
    if upstream is None:
        return
    upstream = np.asarray(upstream, dtype=float)

    def summed(array: np.ndarray) -> np.ndarray:
        return KERNELS["_batch_sum"](array, batch_size) if parameter else array

    def attempt(make) -> np.ndarray | None:
        try:
            with np.errstate(all="ignore"):
                result = np.asarray(summed(make()), dtype=float)
        except (ValueError, TypeError):  # the mistake cannot even be made with these shapes
            return None
        if result.shape != value.shape or np.allclose(result, value, rtol=1e-9, atol=1e-12):
            return None
        return result

    if local is not None and step.product == Product.RIGHT:
        result = attempt(lambda: np.matmul(upstream, swap(local)))
        if result is not None:
            yield Candidate("transpose", result, {"factor": _factor_text(step.local)})
    if local is not None and step.product == Product.LEFT:
        result = attempt(lambda: np.matmul(swap(local), upstream))
        if result is not None:
            yield Candidate("transpose", result, {"factor": _factor_text(step.local)})
    at_output = numbers.at_output.get(step.index)
    if at_output is not None:
        result = attempt(lambda: upstream * at_output)
        if result is not None:
            yield Candidate("activation_point", result, {"input": step.target, "output": step.source,
                                                         "activation": step.rules[0]})
    if local is not None and step.product in (Product.HADAMARD, Product.SCALE) and not step.source == _loss_of(step):
        result = attempt(lambda: upstream * np.ones_like(local))
        if result is not None:
            yield Candidate("dropped_factor", result, {"factor": _factor_text(step.local)})


def _factor_text(local: Any) -> str:
    return str(local).replace(".T", "ᵀ")


def _loss_of(step) -> str | None:
    derivation = step.__dict__.get("_derivation")
    return derivation.loss if derivation is not None else None


def _fan_out(parts: list[tuple[Any, np.ndarray]]) -> Iterator[Candidate]:
    count = len(parts)
    sizes = range(count - 1, 0, -1) if count <= MOST_TERMS_FOR_SUBSETS else (count - 1,)
    for size in sizes:
        for kept in itertools.combinations(range(count), size):
            left_out = [parts[i][0].source for i in range(count) if i not in kept]
            yield Candidate("fan_out", _sum([parts[i][1] for i in kept]), {"left_out": left_out})


def _sum(values: list[np.ndarray]) -> np.ndarray:
    total = values[0]
    for value in values[1:]:
        total = total + value
    return np.asarray(total, dtype=float)


__all__ = ["COMMON_FACTORS", "Candidate", "MISTAKES", "candidates", "swap"]
