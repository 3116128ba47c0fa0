"""Vector/matrix expressions: the small tensor algebra a layer is written in.

SymPy's own matrix expressions cannot mix a 1×1 product with a scalar
(``W2 @ h1 + b2`` raises), cannot carry element-wise functions through
``lambdify`` and cannot differentiate a whole network (see docs/conventions.md).
So shaped quantities are :class:`Tensor` trees whose leaves name quantities of
the network, while scalars stay plain SymPy expressions.

Every tree is immutable and compares structurally, which is what lets the code
generator share repeated subexpressions.  Shapes are checked when a tree is
built, so a mismatch is reported where the user wrote it.
"""

from ..errors import ShapeMismatchError
from .algebra import (
    Owner,
    add,
    add_all,
    as_scalar_expr,
    as_tensor,
    free_scalars,
    matmul,
    mean,
    power,
    scale,
    total,
    transpose,
    walk,
)
from .axes import (
    COLUMNS,
    ROWS,
    AxisSum,
    BroadcastTo,
    axis_sum,
    broadcast_back,
    broadcast_kind,
    broadcast_to,
    check_axis,
    reduce_to,
)
from .base import shape_text
from .division import Divide, divide
from .hadamard import Hadamard, hadamard, multiply, scaled_by
from .indexing import Concat, Embed, Slice, concat, embed, select, slice_of
from .nodes import (
    BATCH_SIZE,
    SCALAR_SHAPE,
    Add,
    AddAll,
    Adjoint,
    AdjointSymbol,
    Elementwise,
    LossGradient,
    LossNode,
    MatMul,
    Ones,
    Power,
    Ref,
    Scalar,
    Scale,
    Shape,
    Sum,
    Tensor,
    Transpose,
)
from .permute import Permute, matrix_transpose, permute
from .reshape import Reshape, reshape
from .softmax import LogSoftmax, Normalised, Softmax, log_softmax, softmax
from .subscripts import normalize_axis, spans_of

__all__ = [
    "BATCH_SIZE", "SCALAR_SHAPE", "Add", "AddAll", "Adjoint", "AdjointSymbol", "Elementwise", "Hadamard",
    "LossGradient", "LossNode", "MatMul", "Ones", "Owner", "Power", "Ref", "Scalar", "Scale", "Shape",
    "ShapeMismatchError", "Sum", "Tensor", "Transpose", "add", "add_all", "as_scalar_expr", "as_tensor",
    "free_scalars", "hadamard", "matmul", "multiply", "scaled_by",
    "power", "scale", "shape_text", "total", "transpose", "walk",
    "Concat", "Embed", "Slice", "concat", "embed", "normalize_axis", "select", "slice_of", "spans_of",
    "LogSoftmax", "Normalised", "Softmax", "log_softmax", "softmax",
    "COLUMNS", "ROWS", "AxisSum", "BroadcastTo", "Divide", "axis_sum", "broadcast_back", "broadcast_kind",
    "broadcast_to", "check_axis",
    "divide", "matrix_transpose", "mean", "reduce_to", "Permute", "Reshape", "permute", "reshape",
]
