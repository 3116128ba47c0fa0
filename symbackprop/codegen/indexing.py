"""NumPy code for slices, concatenations and a slice's gradient placed back into zeros.

Arrays may carry a leading batch axis, so a matrix's rows are NumPy's axis −2
and its columns axis −1; a part shared by every sample is broadcast to the
batch before it is joined to one that is not.
"""

from __future__ import annotations

import ast

import numpy as np

from .. import tensor as T


def _embed(g, rows, columns, row_start, row_stop, column_start, column_stop):
    """g placed at [row_start:row_stop, column_start:column_stop] of zeros of shape (…, rows, columns)."""
    g = np.asarray(g, dtype=float)
    if g.ndim < 2:
        g = g.reshape(g.shape + (1,) * (2 - g.ndim))
    result = np.zeros(g.shape[:-2] + (rows, columns))
    result[..., row_start:row_stop, column_start:column_stop] = g
    return result


def _concat(axis, *parts):
    """Matrices joined along axis 0 (rows, NumPy's −2) or 1 (columns, −1), batch axes broadcast."""
    arrays = [np.asarray(p, dtype=float) for p in parts]
    arrays = [a.reshape(a.shape + (1,) * (2 - a.ndim)) if a.ndim < 2 else a for a in arrays]
    leading = np.broadcast_shapes(*(a.shape[:-2] for a in arrays))
    return np.concatenate([np.broadcast_to(a, leading + a.shape[-2:]) for a in arrays], axis=axis - 2)


def _range(span: tuple[int, int]) -> ast.Slice:
    return ast.Slice(ast.Constant(span[0]), ast.Constant(span[1]), None)


class IndexingEmitter:
    """The code generator's methods for :mod:`symbackprop.tensor.indexing` (a base of TreeEmitter)."""

    def visit_Slice(self, node: T.Slice) -> ast.expr:
        # X[..., a:b, c:d]: a slice of a NumPy array is a view, nothing is copied
        index = ast.Tuple([ast.Constant(Ellipsis), _range(node.rows), _range(node.columns)], ast.Load())
        return ast.Subscript(self.tensor(node.operand), index, ast.Load())

    def visit_Embed(self, node: T.Embed) -> ast.expr:
        self.namespace["_embed"] = _embed
        numbers = [*node.outer, *node.rows, *node.columns]
        return ast.Call(ast.Name("_embed", ast.Load()),
                        [self.tensor(node.operand), *(ast.Constant(n) for n in numbers)], [])

    def visit_Concat(self, node: T.Concat) -> ast.expr:
        self.namespace["_concat"] = _concat
        return ast.Call(ast.Name("_concat", ast.Load()),
                        [ast.Constant(node.axis), *(self.tensor(p) for p in node.parts)], [])
