"""Every interpreter of the tensor tree handles every node type (none falls through at run time)."""

from __future__ import annotations

import pytest

from symbackprop import visit
from symbackprop.analysis.counting import OperationCounter
from symbackprop.analysis.products import FactorText, UpstreamProducts
from symbackprop.codegen import TreeEmitter
from symbackprop.explicit import ElementByElement
from symbackprop.graph import _DotWriter
from symbackprop.printing.tensors import TensorPrinter

INTERPRETERS = [TreeEmitter, ElementByElement, OperationCounter, FactorText, UpstreamProducts, TensorPrinter,
                _DotWriter]


def test_the_algebra_has_node_types():
    names = {cls.__name__ for cls in visit.node_types()}
    assert {"Ref", "MatMul", "Add", "Elementwise", "LossNode"} <= names


@pytest.mark.parametrize("interpreter", INTERPRETERS, ids=lambda cls: cls.__name__)
def test_every_interpreter_handles_every_node_type(interpreter):
    assert visit.unhandled(interpreter) == []


def test_a_missing_method_is_reported():
    class Partial(visit.TreeVisitor):
        def visit_Ref(self, node):
            return node.name

    assert "MatMul" in visit.unhandled(Partial)
