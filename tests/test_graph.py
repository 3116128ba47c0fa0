"""The computational graph: what the DOT text contains, and rendering through Graphviz."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.graph import GraphvizError, to_dot, write_graph
from tests.tooling import require_tool


def edges(dot: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(\w+) -> (\w+)", dot, flags=re.MULTILINE)


def labels(dot: str) -> dict[str, str]:
    return dict(re.findall(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"', dot, flags=re.MULTILINE))


def test_reference_graph_has_the_pages_operations_in_order():
    dot = to_dot(sbp.reference_network())
    names = labels(dot)
    # Every quantity is a box, named as on the page.
    for quantity in ("x", "y", "W1", "b1", "z1", "h1", "W2", "b2", "z2", "h2", "L"):
        assert f"q_{quantity}" in names
    assert names["q_W1"] == "W1 (2×2)"
    operations = [label for node, label in names.items() if node.startswith("op")]
    assert operations.count("ReLU") == 2 and operations.count("×") == 2 and "×½" in operations
    # x and W1 meet in a matrix product whose result is added to b1 to give z1.
    graph = edges(dot)
    product = next(target for source, target in graph if source == "q_x")
    assert ("q_W1", product) in graph
    addition = next(target for source, target in graph if source == product)
    assert ("q_b1", addition) in graph and (addition, "q_z1") in graph


def test_matrix_product_operands_are_numbered_because_order_matters():
    dot = to_dot(sbp.reference_network())
    assert re.search(r'q_W1 -> op\d+ \[label="1"', dot)
    assert re.search(r'q_x -> op\d+ \[label="2"', dot)


def test_fan_out_shows_as_several_arrows_from_one_box():
    net = sbp.Network()
    x = net.input("x")
    w = net.param("w")
    a = net.node("a", x * w)
    b = net.node("b", sp.sin(a))
    net.loss("L", b + a**2)  # a is used twice
    dot = to_dot(net)
    assert sum(1 for source, _ in edges(dot) if source == "q_a") == 2
    assert "sin" in labels(dot).values()


def test_values_put_forward_values_and_gradients_in_the_boxes():
    dot = to_dot(sbp.reference_network(), values=sbp.reference_values())
    names = labels(dot)
    assert names["q_z2"] == r"z2\n= 1.78\n∂L/∂z2 = -1.22"
    assert names["q_W1"] == r"W1 (2×2)\n= [[0.5, 0.3], [0.2, 0.4]]\n∂L/∂W1 = [[-0.732, -1.464], [-0.976, -1.952]]"
    assert names["q_L"] == r"L\n= 0.7442"


def test_scalar_level_groups_elements_under_their_quantity():
    dot = to_dot(sbp.mlp([2, 2, 1], level="scalar"), values=sbp.reference_values())
    assert "subgraph cluster_W1" in dot
    assert r"W1_2_2\n= 0.4\n∂L/∂W1_2_2 = -1.952" in dot


def test_batch_values_annotate_parameters_only():
    values = dict(sbp.reference_values(), x=[[1, 2], [0.5, -1]], y=[3, 1])
    names = labels(to_dot(sbp.reference_network(), values=values))
    assert names["q_z1"] == "z1 (2×1)"
    assert names["q_W2"].startswith("W2 (1×2)\\n= [[0.6, 0.8]]\\n∂L/∂W2 = ")


def test_labels_are_escaped():
    dot = to_dot(sbp.reference_network(), title='say "hi" \\ there')
    assert r'label="say \"hi\" \\ there"' in dot


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(GraphvizError, match="unknown graph format"):
        write_graph(sbp.reference_network(), tmp_path / "graph.jpg")


def test_dot_file_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to run here
    path = write_graph(sbp.reference_network(), tmp_path / "out" / "graph.dot")
    assert path.read_text(encoding="utf-8").startswith("digraph")


def test_missing_dot_program_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizError, match="apt-get install graphviz"):
        write_graph(sbp.reference_network(), tmp_path / "graph.svg")
    assert not (tmp_path / "graph.svg").exists()


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_graphviz_renders_the_graph(tmp_path, suffix):
    if shutil.which("dot") is None:
        require_tool("Graphviz (dot)", "apt-get install graphviz")
    path = write_graph(sbp.reference_network(), tmp_path / f"graph{suffix}", values=sbp.reference_values())
    data = path.read_bytes()
    if suffix == ".svg":
        assert b"<svg" in data and "∂L/∂W1".encode() in data
    else:
        assert data.startswith(b"\x89PNG")


def test_every_generated_dot_is_accepted_by_graphviz():
    if shutil.which("dot") is None:
        require_tool("Graphviz (dot)", "apt-get install graphviz")
    networks = [sbp.reference_network(), sbp.mlp([2, 3, 2], "sigmoid", "identity", "cross_entropy"),
                sbp.mlp([2, 2, 1], level="scalar")]
    for network in networks:
        result = subprocess.run(["dot", "-Tcanon"], input=to_dot(network), capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr


def test_the_graph_at_other_values_reuses_its_derivation():
    from symbackprop import graph

    net = sbp.Network()
    x = net.input("x", (2, 1))
    W = net.param("W", (1, 2))
    h = net.node("h", W @ x)
    net.loss("L", sbp.total(h * h))
    first = to_dot(net, values={"x": np.ones((2, 1)), "W": np.ones((1, 2))})
    derived = graph._DERIVED[net]
    again = to_dot(net, values={"x": 2 * np.ones((2, 1)), "W": np.ones((1, 2))})
    assert again != first and graph._DERIVED[net] is derived
    assert "∂L/∂W = [[16, 16]]" in again  # 2 h xᵀ = 2·4·[2, 2]
    with pytest.raises(sbp.errors.NetworkError):  # a network with its loss is complete: nothing to derive again
        net.node("g", sbp.tanh(h))
