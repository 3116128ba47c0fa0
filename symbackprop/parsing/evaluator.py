"""Turns an approved syntax tree into the caller's objects (SymPy numbers, tensors, matrices)."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ExpressionError, SymbackpropError
from .limits import Limits
from .numbers import number_from_literal
from .source import Source
from .subscripts import index_key
from .whitelist import BINARY_OPERATORS

__all__ = ["Evaluator"]


@dataclass(frozen=True)
class Evaluator:
    """Combines the caller's objects along a tree that the Checker has approved."""

    source: Source
    names: Mapping[str, object]
    functions: Mapping[str, Callable[..., object]]
    limits: Limits
    check: Callable[[object], str | None] | None = None
    attributes: Mapping[str, Callable[[object], object]] | None = None

    def evaluate(self, node: ast.AST) -> object:
        if isinstance(node, ast.Constant):
            return number_from_literal(node, self.source, self.limits)
        if isinstance(node, ast.Name):
            return self.names[node.id]
        if isinstance(node, ast.UnaryOp):
            operand = self.evaluate(node.operand)
            if isinstance(node.op, ast.UAdd):
                # Returned as is so that operand types need not implement __pos__.
                return operand
            return self._apply(node, operator.neg, operand)
        if isinstance(node, ast.BinOp):
            combine = BINARY_OPERATORS[type(node.op)]
            return self._apply(node, combine, self.evaluate(node.left), self.evaluate(node.right))
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Subscript):
            return self._apply(node, operator.getitem, self.evaluate(node.value), index_key(node.slice))
        if isinstance(node, ast.Attribute) and self.attributes and node.attr in self.attributes:
            return self._apply(node, self.attributes[node.attr], self.evaluate(node.value))
        raise AssertionError(f"unchecked node {type(node).__name__}")  # pragma: no cover

    def _call(self, node: ast.Call) -> object:
        assert isinstance(node.func, ast.Name)
        function = self.functions[node.func.id]
        arguments = [self.evaluate(argument) for argument in node.args]
        keyword_arguments = {
            keyword_argument.arg: self.evaluate(keyword_argument.value)
            for keyword_argument in node.keywords
            if keyword_argument.arg is not None
        }
        return self._apply(node, function, *arguments, **keyword_arguments)

    def _apply(self, node: ast.AST, function: Callable[..., object], *args: Any, **kwargs: Any) -> object:
        try:
            result = function(*args, **kwargs)
        except SymbackpropError:
            # The operands' own errors (e.g. shape mismatches) already say what is wrong.
            raise
        except Exception as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise ExpressionError(
                f"cannot compute {self.source.snippet(node)} at {self.source.where(node)}: {reason}"
            ) from error
        problem = self.check(result) if self.check is not None else None
        if problem:
            raise ExpressionError(f"cannot compute {self.source.snippet(node)} at {self.source.where(node)}: {problem}")
        return result
