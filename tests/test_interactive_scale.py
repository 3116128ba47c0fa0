"""The interactive page of a network of some 300 boxes and circles: laid out flat, readable, and clickable; past
the abridging limit, the first and last quantities drawn with one ⋯ box for the others."""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.printing.interactive import interactive_data
from symbackprop.printing.options import Options
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


# -- a network past the abridging limit: the graph draws its ends and one ⋯ box ----------------------------------


def _defined(graph) -> list[str]:
    return [n.quantity for n in graph.nodes.values() if n.is_quantity and n.kind in ("node", "loss")]


@pytest.mark.parametrize("steps", [70, 140])
def test_a_long_recurrence_draws_its_first_and_last_quantities_and_one_gap(steps):
    network = sbp.models.rnn(2, 3, steps)
    whole, abridged = graph_of(network), graph_of(network, 120)
    assert "gap" not in whole.nodes and len(_defined(whole)) == 3 * steps + 2
    assert "gap" in abridged.nodes and len(_defined(abridged)) == 120
    defined = [q.name for q in network.quantities() if q.definition is not None]
    assert _defined(abridged) == defined[:60] + defined[-60:]  # the steps next to the input and to the loss
    for edge in abridged.edges:
        assert edge.source in abridged.nodes and edge.target in abridged.nodes
    from_gap = [(e.target, e.owner) for e in abridged.edges if e.source == "gap"]
    assert from_gap and len(from_gap) == len(set(from_gap))  # one arrow into each operation that reads the gap
    assert graph_of(network, None).nodes.keys() == whole.nodes.keys()


def test_the_abridged_graph_does_not_grow_with_the_network():
    sizes = [len(graph_of(sbp.models.rnn(2, 3, steps), 120).nodes) for steps in (100, 400)]
    assert sizes[0] == sizes[1]


def test_a_step_the_graph_leaves_out_has_the_shared_note_and_the_others_their_panels():
    derivation = sbp.backprop(sbp.models.rnn(2, 3, 60))
    values = {"X": np.linspace(-1, 1, 120).reshape(2, 60), "h0": np.zeros((3, 1)), "y": np.ones((3, 60)),
              "W": np.full((3, 3), 0.1), "U": np.full((3, 2), 0.2), "b": np.zeros((3, 1))}
    data = interactive_data(derivation, values, Options.of_document({"abridge": 40}))
    graph = graph_of(derivation.network, 40)
    drawn = {n.quantity for n in graph.nodes.values() if n.is_quantity}
    assert len(data["steps"]) == len(derivation.steps) and set(data["nodes"]) == drawn
    for step, entry in zip(derivation.steps, data["steps"]):
        ends_drawn = all(name in drawn for name in (step.target, step.source) if name)
        assert (entry["html"] is not None) == ends_drawn, step
    assert data["steps"][0]["html"] is not None and data["steps"][-1]["html"] is not None
    assert any(entry["html"] is None for entry in data["steps"])
    assert "{k}" in data["words"]["omitted"] and "abridge=None" in data["words"]["omitted"]
    whole = interactive_data(derivation, values, Options.of_document({"abridge": None}))
    assert all(entry["html"] is not None for entry in whole["steps"])


@pytest.mark.slow
def test_the_abridged_page_walks_every_step_and_answers_clicks(browser, tmp_path):  # noqa: F811
    derivation = sbp.backprop(sbp.models.rnn(2, 3, 30))
    path = derivation.write(tmp_path / "long.html", interactive=True, sections=(), abridge=30)
    with offline(browser, path) as opened:
        page = opened.page
        page.click("#sbp-gap")  # the ⋯ box is no quantity: nothing to show, and no error
        page.click("#sbp-q_h1")
        assert page.eval_on_selector(".sbp-node.sbp-selected", "e => e.dataset.quantity") == "h1"
        notes = 0
        for _ in derivation.steps:
            page.click(".sbp-step")
            notes += "abridge=None" in page.inner_text(".sbp-panel")
        assert notes == sum(1 for s in derivation.steps if not all(
            page.query_selector(f"#sbp-q_{name}") for name in (s.target, s.source) if name))
        assert page.is_disabled(".sbp-step")
        assert opened.errors == [] and opened.attempted == []
