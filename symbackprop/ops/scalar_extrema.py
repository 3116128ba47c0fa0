"""The largest or smallest of several scalars: ``sp.Max(a, b, …)`` and ``sp.Min(a, b, …)`` of scalar nodes.

A scalar node defined with SymPy's ``Max`` or ``Min`` of two or more expressions is rewritten, when it
is defined, to :class:`Largest` or :class:`Smallest` (max(a, 0) alone stays ReLU, see
:func:`~symbackprop.ops.stable.relu_for_max`), at both levels.  Their derivative sends the gradient to
the extremal argument; at a tie of k arguments each receives 1/k of it, as ``torch.amax`` of the
stacked arguments shares it (and ``torch.maximum`` of two, half each).  SymPy's own derivative of
``Max`` is a product of Heaviside steps, which at a three-way tie hands out ½ + ½ + ½: hence classes
of our own, with the share as a function of its own (:class:`LargestShare`) that the program
evaluates by its NumPy kernel and the documents print as an indicator.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..registry import register
from .primitive import PrimitiveForm
from .record import FunctionOp, declare

MINIMUM_ARGUMENTS = 2


def _all_real_numbers(args: tuple[sp.Expr, ...]) -> bool:
    return all(a.is_number and a.is_comparable for a in args)


class _Extreme(PrimitiveForm):
    """max or min of its arguments; ∂/∂(argument i) is the share of the extremum argument i receives."""

    sympy_function: type[sp.Max] | type[sp.Min]
    share: type[PrimitiveForm]

    @classmethod
    def eval(cls, *args):
        if len(args) < MINIMUM_ARGUMENTS:
            raise TypeError(f"{cls.__name__} takes at least {MINIMUM_ARGUMENTS} arguments, got {len(args)}")
        if _all_real_numbers(args):
            return cls.sympy_function(*args)
        return None

    def fdiff(self, argindex=1):
        if not 1 <= argindex <= len(self.args):
            raise sp.ArgumentIndexError(self, argindex)
        chosen = self.args[argindex - 1]
        others = self.args[:argindex - 1] + self.args[argindex:]
        return self.share(chosen, *others)

    def primitive(self) -> sp.Expr:
        return self.sympy_function(*self.args)


class _Share(PrimitiveForm):
    """1/k where the first argument is one of the k extremal arguments (itself counted), 0 elsewhere."""

    relation: staticmethod  # other `relation` chosen: the other argument beats the chosen one

    @classmethod
    def eval(cls, chosen, *others):
        if not others:
            raise TypeError(f"{cls.__name__} takes the chosen argument and at least one other")
        if not _all_real_numbers((chosen, *others)):
            return None
        if any(bool(cls.relation(other, chosen)) for other in others):
            return sp.S.Zero
        return sp.Rational(1, 1 + sum(1 for other in others if (other - chosen).is_zero))

    def fdiff(self, argindex=1):
        return sp.S.Zero  # a step function: constant wherever it is differentiable

    def primitive(self) -> sp.Expr:
        chosen, *others = self.args
        ties = 1 + sp.Add(*(sp.Piecewise((1, sp.Eq(other, chosen)), (0, True)) for other in others))
        extremal = sp.And(*(sp.Not(type(self).relation(other, chosen)) for other in others))
        return sp.Piecewise((1 / ties, extremal), (0, True))


class LargestShare(_Share):
    """The share of max(chosen, others…)'s gradient that reaches ``chosen``."""

    relation = staticmethod(sp.StrictGreaterThan)


class SmallestShare(_Share):
    """The share of min(chosen, others…)'s gradient that reaches ``chosen``."""

    relation = staticmethod(sp.StrictLessThan)


class Largest(_Extreme):
    """max(a, b, …) of scalars, written with ``sp.Max``."""

    sympy_function = sp.Max
    share = LargestShare


class Smallest(_Extreme):
    """min(a, b, …) of scalars, written with ``sp.Min``."""

    sympy_function = sp.Min
    share = SmallestShare


def scalar_extrema(body: sp.Expr) -> sp.Expr:
    """sp.Max and sp.Min as Largest and Smallest (run after ReLU has taken max(a, 0))."""
    return body.replace(lambda e: isinstance(e, (sp.Max, sp.Min)),
                        lambda e: (Largest if isinstance(e, sp.Max) else Smallest)(*e.args))


# -- NumPy kernels (element by element, broadcasting: the scalar level groups neurons into arrays) --

def _largest(*args):
    result = np.asarray(args[0], dtype=float)
    for other in args[1:]:
        result = np.maximum(result, other)  # NaN wins, as in torch.amax
    return result


def _smallest(*args):
    result = np.asarray(args[0], dtype=float)
    for other in args[1:]:
        result = np.minimum(result, other)
    return result


def _share(extremum, chosen, others):
    """1/k where ``chosen`` is one of the k entries equal to the extremum, 0 where it is not, NaN for NaN."""
    chosen = np.asarray(chosen, dtype=float)
    ties = 1.0 + sum(np.asarray(np.asarray(other, dtype=float) == extremum, dtype=float) for other in others)
    return np.where(chosen == extremum, 1.0 / ties, np.where(np.isnan(extremum), np.nan, 0.0))


def _largest_share(chosen, *others):
    return _share(_largest(chosen, *others), chosen, others)


def _smallest_share(chosen, *others):
    return _share(_smallest(chosen, *others), chosen, others)


# -- the records: rule sentences, kernels, LaTeX and graph labels ------------------------------------

register("largest", r"a maximum of scalars passes the gradient to its largest argument, shared equally among "
                    r"the arguments tied for the largest (as torch.amax of the stacked arguments does)",
         r"스칼라들의 최댓값: gradient를 가장 큰 인자로 보내고, 가장 큰 값이 여럿이면 똑같이 나눔 "
         r"(인자들을 쌓은 torch.amax와 같음)")
register("smallest", r"a minimum of scalars passes the gradient to its smallest argument, shared equally among "
                     r"the arguments tied for the smallest (as torch.amin of the stacked arguments does)",
         r"스칼라들의 최솟값: gradient를 가장 작은 인자로 보내고, 가장 작은 값이 여럿이면 똑같이 나눔 "
         r"(인자들을 쌓은 torch.amin과 같음)")


def _call_latex(name: str):
    return lambda args: rf"\{name}\left({', '.join(args)}\right)"


def _share_latex(name: str):
    # the indicator of the chosen argument; the rule sentence says how a tie shares it
    return lambda args: rf"\mathbf{{1}}\left[{args[0]} = \{name}\left({', '.join(args)}\right)\right]"


declare(FunctionOp(Largest, _largest, None, "max", latex_of=_call_latex("max"), rule="largest"))
declare(FunctionOp(Smallest, _smallest, None, "min", latex_of=_call_latex("min"), rule="smallest"))
declare(FunctionOp(LargestShare, _largest_share, None, "max share", latex_of=_share_latex("max")))
declare(FunctionOp(SmallestShare, _smallest_share, None, "min share", latex_of=_share_latex("min")))

__all__ = ["Largest", "LargestShare", "Smallest", "SmallestShare", "scalar_extrema"]
