"""The interactive page of a network of some 300 boxes and circles: laid out flat, readable, and clickable."""

from __future__ import annotations

import pytest

import symbackprop as sbp
from symbackprop.printing.svg_graph import graph_of, layout
from tests.test_interactive import browser, offline  # noqa: F401 - browser is a fixture used below

DEEP = sbp.mlp([4] * 40 + [1])


def test_a_deep_chain_stays_level_instead_of_drifting_at_every_layer():
    graph = graph_of(DEEP)
    assert len(graph.nodes) >= 280
    where = layout(graph)
    chain = [where.y[n.id] for n in graph.nodes.values() if n.quantity and n.quantity.startswith("h")]
    # the hidden states of forty layers lie within a few boxes' height of one another
    assert max(chain) - min(chain) < 6 * max(n.height for n in graph.nodes.values())
    assert where.height < 0.05 * where.width


@pytest.mark.slow
def test_a_three_hundred_node_graph_is_readable_and_every_box_answers_a_click(browser, tmp_path):  # noqa: F811
    derivation = sbp.backprop(DEEP)
    path = derivation.write(tmp_path / "deep.html", interactive=True, sections=())
    with offline(browser, path) as opened:
        page = opened.page
        svg = page.query_selector("svg.sbp-graph")
        shown = svg.bounding_box()
        drawn = float(svg.get_attribute("width"))
        assert shown["width"] >= 0.6 * drawn - 1  # text at 12 px is drawn at 7 px or more: the graph scrolls instead
        container = page.evaluate("""() => { const svg = document.querySelector('svg.sbp-graph');
            const box = svg.parentElement; return {scroll: box.scrollWidth, client: box.clientWidth}; }""")
        assert container["scroll"] > container["client"]  # wider than the window: it scrolls sideways
        first = page.query_selector("#sbp-q_W1").bounding_box()
        assert first["y"] + first["height"] <= shown["y"] + shown["height"] and first["y"] >= shown["y"]
        for name in ("W1", "h20", "W40", "L"):
            page.click(f"#sbp-q_{name}")  # far along the strip: scrolled to, then clicked
            assert page.locator(".sbp-node.sbp-selected").count() == 1
            assert page.eval_on_selector(".sbp-node.sbp-selected", "e => e.dataset.quantity") == name
        page.click("text=Step")
        assert opened.errors == [] and opened.attempted == []
