"""Every interpreter of the tensor tree, and the tests' own oracle, handles every node type by name.

A method of a base class (a catch-all) does not count: a node type is handled by a
``visit_<Type>`` method named after it or by what its module declared.
"""

from __future__ import annotations

import typing

import pytest

from symbackprop import visit
from symbackprop.analysis.counting import OperationCounter
from symbackprop.analysis.products import FactorText, UpstreamProducts
from symbackprop.codegen import TreeEmitter
from symbackprop.explicit import ElementByElement
from symbackprop.graph import _DotWriter
from symbackprop.printing import blocks, html_blocks, latex, markdown
from symbackprop.printing.tensors import TensorPrinter
from symbackprop.registry import INTERPRETATIONS

from .oracles import EVALUATED

INTERPRETERS = [TreeEmitter, ElementByElement, OperationCounter, FactorText, UpstreamProducts, TensorPrinter,
                _DotWriter]

#: Node types only a gradient holds, never a forward definition: the oracle has nothing to evaluate.
GRADIENT_SIDE = {"Adjoint", "Ones", "LossGradient", "Embed", "BroadcastTo", "MaximumShare", "ExtremumChoice", "OneHot",
                 "Im2Col", "Col2Im", "Unpool2d", "EmbedAlong"}


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


def test_every_interpretation_has_its_interpreter():
    assert {cls.interpretation for cls in INTERPRETERS} == set(INTERPRETATIONS) - {"page_graph"}


def test_a_catch_all_method_does_not_count():
    class CatchAll(visit.TreeVisitor):
        def visit_Tensor(self, node):
            return repr(node)

    assert "MatMul" in visit.unhandled(CatchAll)


def test_the_oracle_evaluates_every_node_type_of_a_forward_definition():
    evaluated = {cls.__name__ for cls in EVALUATED}
    assert evaluated | GRADIENT_SIDE == {cls.__name__ for cls in visit.node_types()}
    assert not evaluated & GRADIENT_SIDE


# -- the three writers of the document's blocks ----------------------------------------------------

BLOCK_SAMPLES = {
    blocks.Heading: blocks.Heading(2, "A heading"),
    blocks.Paragraph: blocks.Paragraph("Some $x$ and **bold**."),
    blocks.Display: blocks.Display((r"a &= b",)),
    blocks.Bullets: blocks.Bullets(("one", "two")),
    blocks.Code: blocks.Code("x = 1"),
    blocks.Table: blocks.Table(("a", "b"), (("1", "2"),), ("l", "r")),
    blocks.Figure: blocks.Figure("flow.png", "A caption"),
    blocks.Marker: blocks.Marker("step 1"),
    blocks.Separator: blocks.Separator(),
}


def test_every_block_type_has_a_sample():
    assert set(BLOCK_SAMPLES) == set(typing.get_args(blocks.Block))


@pytest.mark.parametrize("writer", [latex._block, lambda b: markdown._block(b, False),
                                    lambda b: html_blocks._block(b, False, None)], ids=["latex", "markdown", "html"])
@pytest.mark.parametrize("block", list(BLOCK_SAMPLES.values()), ids=lambda b: type(b).__name__)
def test_every_writer_writes_every_block_type(writer, block):
    assert isinstance(writer(block), str)
