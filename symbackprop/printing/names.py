"""How quantities are named in print: W1 is W_{1}, the element W1_1_2 is W^{(1)}_{12}.

Every printer asks this one place, so a name looks the same in an equation,
a Leibniz fraction, a worked example and a chain of derivatives.
"""

from __future__ import annotations

import re

import sympy as sp

from ..network import Network

PARTIAL = r"\partial"
_SUBSCRIPTED = re.compile(r"(?P<base>\\?[A-Za-z]+)_\{(?P<sub>[0-9]+)\}\Z")
#: A word of two letters or more, then an underscore and more (logit_maxes, counts_sum_inv) or digits (bndiff2).
_WORD_THEN = re.compile(r"(?P<word>[A-Za-z]{2,})(?:(?P<digits>[0-9]+)|_[A-Za-z0-9_]+)\Z")


def shape_latex(shape: tuple[int, ...] | None) -> str:
    """ℝ for a scalar, ℝ^{m×n} otherwise (ℝ^{a×b×c} for a tensor of rank 3)."""
    if shape is None or shape == (1, 1):
        return r"\mathbb{R}"
    lengths = r" \times ".join(str(d) for d in shape)
    return rf"\mathbb{{R}}^{{{lengths}}}"


def partial(numerator: str, denominator: str) -> str:
    return rf"\frac{{{PARTIAL} {numerator}}}{{{PARTIAL} {denominator}}}"


def held_fixed(derivative: str, fixed: list[str]) -> str:
    """∂L/∂c|_s: the derivative with the quantities ``fixed`` held, one path of several into c."""
    return rf"\left.{derivative}\right|_{{{', '.join(fixed)}}}"


class Notation:
    """The LaTeX name of every quantity of one network (and of the loss per sample in a batch)."""

    def __init__(self, network: Network, *, batch: bool = False) -> None:
        self.network = network
        self.batch = batch
        self._cache: dict[str, str] = {}

    def name(self, name: str) -> str:
        if name not in self._cache:
            self._cache[name] = self._name(name)
        return self._cache[name]

    def _name(self, name: str) -> str:
        quantity = self.network[name] if name in self.network else None
        if quantity is None or quantity.group is None:
            # SymPy's own convention: W1 → W_{1}, alpha → \alpha, h_prev → h_{prev}; a word stays upright
            text = sp.latex(sp.Symbol(name))
            if text == name and len(name) > 1 and name.isalpha():
                return rf"\mathrm{{{name}}}"
            return _code_name(name) or text
        group = self.network[quantity.group]
        return element_latex(self.name(group.name), quantity.index, group.matrix_shape)

    @property
    def loss(self) -> str:
        return self.name(self.network.loss_name)

    @property
    def sample_loss(self) -> str:
        """L_i: one sample's loss when the loss is a batch mean."""
        loss = self.loss
        return rf"{loss}_{{i}}" if "_" not in loss and "^" not in loss else rf"{loss}^{{(i)}}"

    def numerator(self, name: str) -> str:
        """The loss as it appears above a fraction bar: L, or L_i for a batch's per-sample loss."""
        if name == self.network.loss_name and self.batch:
            return self.sample_loss
        return self.name(name)

    def adjoint(self, name: str) -> str:
        """∂L/∂name."""
        return partial(self.loss, self.name(name))

    def local(self, numerator: str, denominator: str) -> str:
        """∂numerator/∂denominator between two quantities."""
        return partial(self.numerator(numerator), self.name(denominator))


def _code_name(name: str) -> str | None:
    """A programmer's name, as a lecture's code writes it, upright: counts_sum_inv as it reads (SymPy would
    make it counts with the subscript "sum inv", run together), bndiff2 as bndiff with the subscript 2 as
    W1 is W_{1}; None for a name SymPy prints well (h_prev, W_q1, sigma1: one letter or a Greek one)."""
    match = _WORD_THEN.match(name)
    if match is None or sp.latex(sp.Symbol(match["word"])) != match["word"]:
        return None
    if match["digits"] is not None:
        return rf"\mathrm{{{match['word']}}}_{{{match['digits']}}}"
    escaped = name.replace("_", r"\_")
    return rf"\mathrm{{{escaped}}}"


def element_latex(group: str, index: tuple[int, int], shape: tuple[int, int]) -> str:
    """The (i, j) element of a quantity printed as ``group``: W_{1} → W^{(1)}_{12}, x → x_{2}."""
    i, j = index
    numbers = (i + 1,) if shape[1] == 1 else (i + 1, j + 1)
    separator = "," if any(n > 9 for n in numbers) else ""
    subscript = separator.join(str(n) for n in numbers)
    match = _SUBSCRIPTED.match(group)
    if match:
        return rf"{match['base']}^{{({match['sub']})}}_{{{subscript}}}"
    if "_" in group or "^" in group:
        return rf"\left({group}\right)_{{{subscript}}}"
    return rf"{group}_{{{subscript}}}"
