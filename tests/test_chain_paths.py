"""The chain rule's paths: counted and listed in one pass, long ones written with their middle elided."""

from __future__ import annotations

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.analysis.paths import chain_paths
from symbackprop.derivation import EDGE
from symbackprop.printing.sections.chain import PATH_ENDS, PATH_LIMIT


def every_path(derivation, name):
    """Every path from the loss to ``name`` by brute force, in the order of a depth-first walk."""
    into = {}
    for step in derivation.steps:
        if step.kind == EDGE:
            into.setdefault(step.target, []).append(step.source)
    found = []
    stack = [(name, [name])]
    while stack:
        node, suffix = stack.pop()
        if node == derivation.loss:
            found.append(suffix)
            continue
        for source in reversed(into.get(node, [])):
            stack.append((source, [source, *suffix]))
    return found


def diamond_chain(depth):
    """Each layer reached twice (a residual connection), so paths double at every layer."""
    net = sbp.Network()
    x = net.input("x", (2, 1))
    W = net.param("W", (2, 2))
    h = x
    for k in range(1, depth + 1):
        a = net.node(f"a{k}", sbp.tanh(W @ h))
        h = net.node(f"h{k}", a + h)
    net.loss("L", sp.Rational(1, 2) * sbp.total(h * h))
    return sbp.backprop(net)


@pytest.mark.parametrize("derivation", [sbp.backprop(sbp.mlp([2, 3, 3, 1])), diamond_chain(3),
                                        sbp.backprop(sbp.models.rnn(2, 3, 3))], ids=["mlp", "residual", "rnn"])
def test_paths_agree_with_a_brute_force_walk(derivation):
    paths = chain_paths(derivation, limit=PATH_LIMIT, keep=100)
    for name in {s.target for s in derivation.steps}:
        listed, count = paths.into(name)
        brute = every_path(derivation, name)
        assert count == len(brute)
        assert [list(p.head + p.tail) for p in listed] == brute[:PATH_LIMIT]


def test_path_counts_grow_exponentially_without_listing_them():
    assert len(every_path(diamond_chain(6), "W")) == 2 ** 6 - 1  # each layer doubles the paths below it
    listed, count = chain_paths(diamond_chain(40), limit=PATH_LIMIT, keep=PATH_ENDS).into("W")
    assert count == 2 ** 40 - 1
    assert len(listed) == PATH_LIMIT


def test_long_paths_keep_their_ends_and_elide_the_middle():
    derivation = sbp.backprop(sbp.mlp([2] * 30 + [1]))
    (path,), count = chain_paths(derivation, limit=PATH_LIMIT, keep=PATH_ENDS).into("W1")
    assert count == 1 and path.elided
    assert path.head[:3] == ("L", "h30", "z30") and path.tail[-3:] == ("h1", "z1", "W1")
    assert path.length == 2 + 2 * 30 and len(path.head) == len(path.tail) == PATH_ENDS
    text = derivation.to_markdown(sections=())
    chain = text[text.index("## Applying the chain rule"):text.index("## Conventions")]
    w1, b1 = (chain.index(rf"\frac{{\partial L}}{{\partial {p}_{{1}}}} &=") for p in "Wb")
    w1_rows = chain[w1:b1]
    assert r"\cdots" in w1_rows
    assert r"\partial h_{30}" in w1_rows and r"\partial z_{1}}{\partial W_{1}}" in w1_rows
    assert "z_{15}" not in w1_rows  # nothing from the middle of the network
    order = chain[chain.index("Backpropagation computes"):]
    assert order.count("\n1. ") == 1 and r"$\cdots$" in order and "z_{15}" not in order


def test_the_chain_section_of_a_deep_network_grows_linearly():
    small, large = (len(sbp.backprop(sbp.mlp([2] * n + [1])).to_markdown(sections=())) for n in (100, 400))
    assert large < 4.5 * small  # the text of every chain is bounded, not as long as the network
