"""The base of our SymPy function classes: each evaluates numerically through its textbook form.

A class of ours carries its derivative (``fdiff``) and its primitive form
(``primitive()``, which the ``sympy.diff`` oracle differentiates on its own);
``evalf`` goes through the primitive form, so a number is never taken from our
derivative or kernel alone.
"""

from __future__ import annotations

import sympy as sp
from mpmath.libmp.libmpf import prec_to_dps


class PrimitiveForm(sp.Function):
    """A SymPy function of ours whose numeric value is its ``primitive()`` form's."""

    def _eval_evalf(self, prec):
        return self.primitive().evalf(prec_to_dps(prec))
