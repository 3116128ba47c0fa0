"""examples/notebook.ipynb runs in a real Jupyter kernel and displays what it says.

The notebook is executed with nbclient and ipykernel (the current interpreter, through a
kernel spec written for this run), then each tagged cell's output is read: its MIME type,
its numbers (from a hand computation of the reference network) and its math (through KaTeX).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

import symbackprop as sbp
from symbackprop.printing.names import Notation
from tests.rich_oracles import PAGE_VALUES, markdown_tables, places, reference_by_hand, significant
from tests.tooling import ROOT, katex_errors, markdown_math, need, require_katex

NOTEBOOK = ROOT / "examples" / "notebook.ipynb"
KERNEL = "symbackprop-notebook-test"
CELL_TIMEOUT_SECONDS = 300


def _kernel_spec(folder: Path) -> Path:
    """A kernel spec that starts ipykernel with this interpreter and this checkout on the path."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "symbackprop test", "language": "python", "env": {"PYTHONPATH": path},
    }), encoding="utf-8")
    return folder / "kernels"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    missing = [name for name in ("nbclient", "nbformat", "ipykernel", "jupyter_client")
               if importlib.util.find_spec(name) is None]
    need(not missing, f"{', '.join(missing)} not installed (pip install -e \".[test]\")")
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    base = tmp_path_factory.mktemp("notebook")
    work = base / "cwd"
    work.mkdir()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    specs = KernelSpecManager(kernel_dirs=[str(_kernel_spec(base))])
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = NotebookClient(notebook, km=manager, timeout=CELL_TIMEOUT_SECONDS, allow_errors=True,
                            resources={"metadata": {"path": str(work)}})
    try:
        client.execute()
    finally:
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)
    return notebook


def _cell(notebook, tag: str):
    found = [c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, f"one cell tagged {tag!r} expected, found {len(found)}"
    return found[0]


def _result(notebook, tag: str) -> dict:
    """The data of the cell's displayed value (its execute_result)."""
    results = [o for o in _cell(notebook, tag).outputs if o.output_type == "execute_result"]
    assert len(results) == 1, f"cell {tag!r} displays no value"
    return results[0].data


def _stdout(notebook, tag: str) -> str:
    return "".join(o.text for o in _cell(notebook, tag).outputs if o.output_type == "stream" and o.name == "stdout")


@pytest.fixture(scope="module")
def by_hand():
    return reference_by_hand(PAGE_VALUES)


def test_the_committed_notebook_has_no_outputs():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)


@pytest.mark.slow
def test_every_cell_runs_without_an_error(executed):
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(executed.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert all(c.execution_count is not None for c in executed.cells if c.cell_type == "code")


def test_the_derivation_displays_as_the_document_with_every_step(executed):
    data = _result(executed, "derivation")
    assert "text/markdown" in data
    d = sbp.backprop(sbp.reference_network())
    for step in d.steps:
        assert f"<!-- step {step.index} {step.kind} -->" in data["text/markdown"]


def test_the_step_displays_as_one_formula_of_its_chain(executed):
    latex = _result(executed, "step")["text/latex"]
    assert latex.startswith("$$") and latex.endswith("$$")
    notation = Notation(sbp.reference_network())
    first = latex.strip("$").strip().splitlines()[1]  # after \begin{aligned}
    assert first.startswith(f"{notation.adjoint('W2')} &= {notation.adjoint('z2')}")
    require_katex()
    assert katex_errors(markdown_math(latex)) == []


def test_the_evaluation_table_shows_the_numbers_worked_by_hand(executed, by_hand):
    forward, grad = by_hand
    markdown = _result(executed, "evaluation")["text/markdown"]
    assert f"$L = {significant(forward['L'])}$" in markdown  # 0.7442
    (table,) = markdown_tables(markdown)
    rows = {row[0]: row for row in table[1:]}
    notation = Notation(sbp.reference_network())
    for name in ("z2", "h2", "b2"):
        row = rows[f"${notation.name(name)}$"]
        assert row[3] == f"${significant(forward[name])}$" and row[4] == f"${significant(grad[name])}$"
    for name in ("W1", "W2", "b1", "z1"):
        row = rows[f"${notation.name(name)}$"]
        assert all(significant(v) in row[4] for v in grad[name].ravel()), (name, row[4])


def test_the_rounded_korean_table_prints_the_pages_numbers(executed, by_hand):
    forward, grad = by_hand
    markdown = _result(executed, "rounded")["text/markdown"]
    assert f"$L = {places(forward['L'])}$" in markdown  # the page's 0.74
    assert "손실" in markdown and "파라미터" in markdown
    for value in (forward["z2"], grad["b2"], *grad["W2"].ravel(), *grad["W1"].ravel()):  # 1.78, -1.22, -1.46 …
        assert places(value) in markdown


def test_the_reports_display_as_markdown_tables_with_their_numbers(executed, by_hand):
    forward, grad = by_hand
    cost = _result(executed, "cost")["text/markdown"]
    (table,) = markdown_tables(cost)
    forward_operations = sbp.backprop(sbp.reference_network()).cost(naive=False).forward
    assert table[1][1] == f"${forward_operations}$"
    flow = _result(executed, "flow")["text/markdown"]
    (norms,) = markdown_tables(flow)
    import numpy as np

    assert significant(float(np.linalg.norm(grad["W2"]))) in " ".join(norms[1])  # ‖∂L/∂W2‖ of the top layer
    memory = _result(executed, "memory")["text/markdown"]
    stored = sum(np.size(forward[name]) for name in ("z1", "h1", "z2", "h2"))  # what the ReLUs and the loss read
    assert f"${stored}$ numbers per sample" in memory and f"${stored * 32:,}$".replace(",", "{,}") in memory
    require_katex()
    formulas = [f for text in (cost, flow, memory) for f in markdown_math(text)]
    assert formulas and katex_errors(formulas) == []


def test_the_lambdified_gradients_and_the_numeric_check_agree(executed, by_hand):
    _, grad = by_hand
    shown = _result(executed, "lambdify")["text/plain"]
    for value in grad["W1"].ravel():
        assert repr(round(float(value), 4)) in shown
    assert "agree: True" in _stdout(executed, "check")
    assert "every gradient agrees: True" in _stdout(executed, "check-all")
