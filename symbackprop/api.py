"""The public names of symbackprop, imported together the first time a program uses one of them.

:mod:`symbackprop` itself imports nothing heavy (see its ``__getattr__``), so that the command line
starts without SymPy and NumPy; ``sbp.backprop`` or any other name below imports this module.
"""

from .backends.blockwise import dask_gradients
from .backprop import BATCH_SIZE, UnusedParameterWarning, backprop
from .checking import GradientCheck, check_gradients
from .compiled_gradient import GradientFunction
from .derivation import Derivation, Step
from .errors import (
    ComplexValueError,
    DuplicateNameError,
    ExpressionError,
    ExtraValueError,
    FileWriteError,
    ForeignQuantityError,
    GradientCheckError,
    IndexOutOfRangeError,
    InvalidAxisError,
    InvalidClassIndexError,
    InvalidIndexError,
    InvalidNameError,
    InvalidNumberError,
    InvalidOperandError,
    MissingValueError,
    NetworkError,
    NonFiniteResultError,
    NonFiniteValueError,
    NonScalarLossError,
    OptionError,
    ShapeMismatchError,
    SymbackpropError,
    TensorInSymPyError,
    UnknownNameError,
    UnsupportedFunctionError,
    UnsupportedRankError,
    ValuesError,
    ValueShapeError,
)
from .flow import deep_chain, plot_gradient_flow
from .functions import Activation, elementwise, mean, total
from .models import mlp
from .network import Network
from .numeric import Evaluation
from .ops import ACTIVATIONS
from .ops.activations import identity, leaky_relu, make_relu, mish, relu, sigmoid, softplus, tanh
from .ops.elementwise_math import abs, cos, exp, log, sin, sqrt  # noqa: A004 - sbp.abs as in NumPy
from .ops.gated import gelu, silu
from .ops.losses import (
    bce_with_logits,
    binary_cross_entropy,
    cross_entropy,
    half_squared_error,
    mse,
    softmax_cross_entropy,
)
from .ops.softmax import log_softmax, softmax
from .practice import MISTAKES, AnswerError, Exercise, Grade, exercise, grade
from .reference import REFERENCE_LEARNING_RATE, reference_network, reference_values
from .tensor.convolution import conv2d
from .tensor.extrema import maximal as max  # noqa: A004 - sbp.max, as sbp.abs and sbp.sum
from .tensor.extrema import minimal as min  # noqa: A004
from .tensor.indexing import concat
from .tensor.maximum import maximum
from .tensor.permute import permute
from .tensor.pooling import avg_pool2d, max_pool2d
from .tensor.reshape import reshape
from .torch_bridge import from_torch
from .torch_code import TorchCodeError, torch_code
from .training import clip_grad_norm, sgd_step, train

__all__ = [
    "ACTIVATIONS", "Activation", "GradientCheck", "check_gradients", "BATCH_SIZE", "Derivation",
    "DuplicateNameError", "Evaluation",
    "ExpressionError", "ExtraValueError", "GradientCheckError", "GradientFunction", "InvalidNameError",
    "MissingValueError", "Network", "NetworkError", "NonFiniteResultError", "NonFiniteValueError",
    "NonScalarLossError",
    "ShapeMismatchError", "Step", "SymbackpropError", "UnknownNameError", "UnsupportedFunctionError",
    "UnusedParameterWarning", "ValueShapeError", "ValuesError", "backprop", "bce_with_logits",
    "binary_cross_entropy", "cross_entropy", "elementwise", "gelu", "half_squared_error", "identity",
    "leaky_relu", "make_relu", "mish", "mlp", "mse", "relu", "sigmoid", "silu", "softmax_cross_entropy", "softplus",
    "tanh", "total", "deep_chain", "plot_gradient_flow", "from_torch", "clip_grad_norm", "sgd_step", "train",
    "reference_network", "reference_values", "REFERENCE_LEARNING_RATE",
    "ComplexValueError", "ForeignQuantityError", "InvalidNumberError", "InvalidOperandError", "OptionError",
    "TensorInSymPyError", "FileWriteError",
    "log_softmax", "softmax",
    "IndexOutOfRangeError", "InvalidAxisError", "InvalidClassIndexError", "InvalidIndexError", "concat", "maximum",
    "max", "min", "permute", "reshape", "UnsupportedRankError", "conv2d", "max_pool2d", "avg_pool2d",
    "abs", "cos", "exp", "log", "mean", "sin", "sqrt",
    "dask_gradients", "torch_code", "TorchCodeError",
    "grade", "Grade", "AnswerError", "MISTAKES", "exercise", "Exercise",
]
