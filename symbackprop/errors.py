"""One exception hierarchy for everything symbackprop rejects.

Each class also derives from the built-in exception whose meaning it shares, so
``except ValueError`` keeps working for callers who do not know this library.
"""


class SymbackpropError(Exception):
    """Base class of every error raised on purpose by symbackprop."""


class NetworkError(SymbackpropError, ValueError):
    """The network definition is inconsistent."""


class ShapeMismatchError(NetworkError):
    """Two operands have shapes that the operation cannot combine."""


class UnknownNameError(NetworkError, KeyError):
    """A name was used that the network does not define."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(NetworkError):
    """A name was defined twice."""


class InvalidNameError(NetworkError):
    """A name is not usable as an identifier."""


class NonScalarLossError(NetworkError):
    """The loss is not a scalar."""


class UnsupportedFunctionError(SymbackpropError, TypeError):
    """An expression uses a function symbackprop cannot differentiate."""


class ValuesError(SymbackpropError, ValueError):
    """Numeric values do not fit the network."""


class MissingValueError(ValuesError):
    """A value needed for evaluation was not given."""


class ExtraValueError(ValuesError):
    """A value was given for a name that is not an input or a parameter."""


class ValueShapeError(ValuesError):
    """A value does not have the declared shape."""


class NonFiniteValueError(ValuesError):
    """A value contains NaN or infinity."""


class ExpressionError(SymbackpropError, ValueError):
    """Text given as an expression was rejected by the safe parser."""


class GradientCheckError(SymbackpropError, AssertionError):
    """Derived gradients disagree with an independent oracle."""
