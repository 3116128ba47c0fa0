"""JAX as a generated program's array library: ``jax.numpy`` in float64, and a host callback.

``jax.numpy`` follows NumPy's names, so it stands in for ``np`` nearly as it is;
what it lacks is NumPy's floating-point error state (there is nothing to
silence: JAX never warns) and SciPy's rarer special functions, which run on the
host through ``jax.pure_callback``.  Loading the backend turns on JAX's 64-bit
mode (``jax_enable_x64``): the generated program computes in float64, as NumPy does.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError
from .porting import ArrayBackend

INSTALL_JAX = "pip install 'symbackprop[jax]'"

#: SciPy's special functions that ``jax.scipy.special`` has, under SciPy's names.
_NATIVE_SPECIAL = ("erf", "erfc", "gammaln", "gamma", "polygamma", "expi")


def _jax():
    try:
        import jax
    except ImportError:
        raise BackendUnavailableError(f"the JAX backend needs JAX: {INSTALL_JAX}") from None
    jax.config.update("jax_enable_x64", True)
    return jax


class _Reducible:
    """A binary ufunc whose ``.reduce`` takes a sequence of arrays, as NumPy's does."""

    def __init__(self, function) -> None:
        self._function = function
        self.__name__ = function.__name__

    def __call__(self, *arguments):
        return self._function(*arguments)

    def reduce(self, arrays):
        return functools.reduce(self._function, list(arrays))


class _JaxArrays:
    """``np`` for a ported kernel: ``jax.numpy``, with NumPy's error state a no-op."""

    def __init__(self, jnp: Any) -> None:
        self._jnp = jnp
        self.maximum, self.minimum = _Reducible(jnp.maximum), _Reducible(jnp.minimum)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jnp, name)

    @staticmethod
    def errstate(**_: Any):
        return contextlib.nullcontext()


class _Special:
    """``scipy.special`` for a ported kernel: JAX's own functions, the rest on the host."""

    def __init__(self, jax_special: Any, host) -> None:
        self._jax_special = jax_special
        self._host = host

    def __getattr__(self, name: str) -> Any:
        if name in _NATIVE_SPECIAL:
            return getattr(self._jax_special, name)
        import scipy.special

        return self._host(getattr(scipy.special, name))


def jax_backend() -> ArrayBackend:
    jax = _jax()
    import jax.numpy as jnp
    from jax.scipy import special

    def host(function):
        def on_host(*arguments):
            arrays = [jnp.asarray(a) for a in arguments]
            shape = jnp.broadcast_shapes(*(a.shape for a in arrays))
            result = jax.ShapeDtypeStruct(shape, jnp.float64)

            def run(*values):
                return np.asarray(np.broadcast_to(function(*values), shape), dtype=np.float64)

            return jax.pure_callback(run, result, *arrays, vmap_method="broadcast_all")

        on_host.__name__ = getattr(function, "__name__", "on_host")
        return on_host

    def sigmoid(z):
        """σ(z) as XLA's logistic (one fused pass instead of the stable form's five): the same numbers to 4e-16
        over [−708, 708]; below, where σ(z) is subnormal, 0."""
        return jax.nn.sigmoid(jnp.asarray(z, dtype=jnp.float64))

    return ArrayBackend("JAX", _JaxArrays(jnp), _Special(special, host), host,
                        on_host=frozenset({"LambertW", "besselj"}), replaced={"stable_sigmoid": sigmoid})


def to_backend(value: Any) -> Any:
    import jax.numpy as jnp

    return jnp.asarray(value, dtype=jnp.float64)


def compile_function(function):
    return _jax().jit(function)
