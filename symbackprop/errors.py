"""One exception hierarchy for everything symbackprop rejects.

Each class also derives from the built-in exception whose meaning it shares, so
``except ValueError`` keeps working for callers who do not know this library.
"""

from sympy import SympifyError


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


class IndexOutOfRangeError(NetworkError, IndexError):
    """An index or a range of indices lies outside the shape of the tensor it selects from."""


class InvalidIndexError(NetworkError):
    """An index is not an integer or a slice of integers with step 1 (X[0, :], X[:, 1:3])."""


class InvalidAxisError(NetworkError):
    """An axis is not one of a matrix's two axes, 0 (rows) and 1 (columns)."""


class UnsupportedRankError(NetworkError):
    """An operation is given a tensor of rank 3 or more, which it does not take (yet): refused when the
    network is built, never a wrong number later."""


class InvalidNumberError(NetworkError):
    """An expression holds a number that is not a finite real a float can hold (1/0, log(0), sqrt(-1))."""


class ForeignQuantityError(UnknownNameError):
    """A handle of another network was used in this one."""


class UnsupportedFunctionError(SymbackpropError, TypeError):
    """An expression uses a function symbackprop cannot differentiate."""


class InvalidOperandError(SymbackpropError, TypeError):
    """An operand has a type that cannot be used there (text for an expression, a matrix beside a tensor)."""


class TensorInSymPyError(InvalidOperandError, SympifyError):
    """A tensor was handed to SymPy, which only knows scalars.

    It is also a SympifyError because SymPy's operators catch that one and then
    let the tensor's own operator take over (``sp.Rational(1, 2) * x`` works).
    """

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.expr, self.base_exc = None, None

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


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


class NonFiniteResultError(ValuesError):
    """At the given values a forward value or gradient is not a finite real number (log(0), 1/0)."""


class InvalidClassIndexError(ValuesError, IndexError):
    """A class index of a cross-entropy target is not an integer from 0 to (number of classes − 1)."""


class ComplexValueError(ValuesError):
    """A value is a complex number; symbackprop works with real numbers."""


class OptionError(SymbackpropError, ValueError):
    """An option of a symbackprop function has a value it cannot use (a negative tolerance)."""


class ExpressionError(SymbackpropError, ValueError):
    """Text given as an expression was rejected by the safe parser."""


class FileWriteError(SymbackpropError, OSError):
    """A file could not be written; whatever was there before is left as it was."""

    def __init__(self, message: str, path: object, code: int | None = None) -> None:
        OSError.__init__(self, message)
        self.filename = str(path)
        self.errno = code

    def __str__(self) -> str:  # OSError would prefix the errno and append the file name again
        return str(self.args[0]) if self.args else ""


class GradientCheckError(SymbackpropError, AssertionError):
    """Derived gradients disagree with an independent oracle."""


class BackendUnavailableError(SymbackpropError, ImportError):
    """A numeric backend (JAX, PyTorch, Dask) was asked for but its package is not installed."""
