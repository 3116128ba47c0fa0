"""Network spec files (TOML) and values files (TOML or JSON), read without running anything.

A spec describes a network for people who do not write Python::

    [inputs]
    x = [2, 1]            # a column vector; [] is a scalar
    y = []

    [params]
    W1 = [2, 2]
    b1 = [2, 1]
    W2 = [1, 2]
    b2 = []

    [nodes]               # in order: each may use what is defined above it
    z1 = "W1 @ x + b1"
    h1 = "relu(z1)"
    z2 = "W2 @ h1 + b2"
    h2 = "relu(z2)"

    [loss]
    L = "0.5 * (h2 - y)**2"

    [values]              # optional: the worked example's numbers
    x = [1, 2]
    ...

Every expression string goes through :func:`symbackprop.parsing.parse_expression`,
a whitelist interpreter of Python's syntax tree: text from a spec file is never
evaluated as Python.  The same text means the same thing at both levels: at the
scalar level (every element its own symbol) ``*`` and ``**`` still act element
by element and a 1×1 result is a scalar, exactly as with tensors.

The reader (:mod:`.reader`) reads the sections, :mod:`.functions` holds what an
expression may call, :mod:`.operands` what it combines, and :mod:`.values` the
numbers of a values file or a ``[values]`` table.
"""

from __future__ import annotations

from .errors import SpecError
from .functions import SPEC_FUNCTIONS, spec_functions
from .reader import (
    LEVELS,
    MAX_DIMENSION,
    MAX_QUANTITIES,
    MAX_SCALAR_LEVEL_ELEMENTS,
    MAX_SPEC_BYTES,
    Spec,
    load_spec,
    parse_spec,
)
from .values import MAX_VALUE_NUMBERS, MAX_VALUES_BYTES, load_values, values_from_mapping

__all__ = [
    "LEVELS",
    "MAX_DIMENSION",
    "MAX_QUANTITIES",
    "MAX_SCALAR_LEVEL_ELEMENTS",
    "MAX_SPEC_BYTES",
    "MAX_VALUES_BYTES",
    "MAX_VALUE_NUMBERS",
    "SPEC_FUNCTIONS",
    "Spec",
    "SpecError",
    "load_spec",
    "load_values",
    "parse_spec",
    "spec_functions",
    "values_from_mapping",
]
