"""Numeric backends: the generated program on NumPy, JAX or PyTorch, and blockwise over Dask arrays.

``d.lambdify(backend=...)`` picks one of :data:`BACKENDS`.  JAX and PyTorch run
the NumPy program's own code, its kernels ported to their array libraries
(:mod:`.porting`); each is an optional extra (``symbackprop[jax]``,
``symbackprop[torch]``) imported only when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import OptionError

if TYPE_CHECKING:
    from ..derivation import Derivation

#: What ``lambdify(backend=...)`` accepts.
BACKENDS = ("numpy", "jax", "torch")


def gradient_function(derivation: Derivation, backend: str = "numpy", *, cse: bool = True, check: bool = True) -> Any:
    """The compiled gradients of ``derivation`` on ``backend`` (``check``: NaN and infinity refused, NumPy)."""
    if backend not in BACKENDS:
        raise OptionError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, not {backend!r}")
    if backend == "numpy":
        from ..compiled_gradient import GradientFunction

        return GradientFunction(derivation, cse=cse, check=check)
    from .functions import BackendGradientFunction

    return BackendGradientFunction(derivation, backend, cse=cse)


__all__ = ["BACKENDS", "gradient_function"]
