"""The documents compiled for real: pdflatex on every standalone .tex, KaTeX on every Markdown formula.

Tests skip with the reason where pdflatex, kotex or node+KaTeX is missing, and
fail instead where SYMBACKPROP_REQUIRE_TOOLS=1 (CI).  All documents of the
fixed cases are compiled concurrently, and all their formulas go through a
single node process, to keep this file fast.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import struct
import subprocess
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from tests.tooling import (
    ROOT,
    compile_latex,
    katex_available,
    katex_errors,
    markdown_math,
    need,
    network_examples,
    pdflatex,
    require_katex,
    require_pdflatex,
)

EDGE_MARKER = re.compile(r"step \d+ edge")


def _example(name: str):
    path = ROOT / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return sbp.backprop(module.net, batch=getattr(module, "batch", False)), module.values


def cases() -> dict[str, tuple[sbp.Derivation, dict | None, dict]]:
    reference = sbp.backprop(sbp.reference_network())
    found = {
        "reference-en": (reference, None, {}),
        "reference-ko": (reference, None, {"lang": "ko"}),
        "reference-en-values": (reference, sbp.reference_values(), {}),
        "reference-ko-values": (reference, sbp.reference_values(), {"lang": "ko"}),
        "reference-ko-exact": (reference, sbp.reference_values(exact=True), {"lang": "ko", "code": True}),
        "scalar-level": (sbp.backprop(sbp.mlp([2, 2, 1], level="scalar")), sbp.reference_values(), {}),
        "batch-code": (sbp.backprop(sbp.reference_network(), batch=True),
                       {**sbp.reference_values(), "x": [[1, 2], [2, 1], [0, 1]], "y": [3, 1, 2]}, {"code": True}),
    }
    for activation, lang in (("sigmoid", "en"), ("relu", "ko")):
        chain = sbp.deep_chain(10, activation, 2.0)  # the page's vanishing and exploding gradients
        found[f"deep-chain-{activation}-{lang}"] = (chain.derivation, chain.values, {"lang": lang})
    for path in network_examples():
        derivation, values = _example(path.stem)
        found[f"example-{path.stem}"] = (derivation, values, {})
    return found


@pytest.fixture(scope="module")
def documents() -> dict[str, tuple[str, str, str]]:
    """name → (standalone LaTeX, Markdown, language)."""
    made = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (derivation, values, options) in cases().items():
            made[name] = (derivation.to_latex(values, standalone=True, **options),
                          derivation.to_markdown(values, links=True, **options), options.get("lang", "en"))
    return made


CASE_NAMES = [
    "reference-en", "reference-ko", "reference-en-values", "reference-ko-values", "reference-ko-exact", "scalar-level",
    "batch-code", "deep-chain-sigmoid-en", "deep-chain-relu-ko",
    *(f"example-{path.stem}" for path in network_examples()),
]


@pytest.fixture(scope="module")
def compiled(documents):
    if pdflatex() is None:
        return None
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda item: (item[0], compile_latex(item[1][0])), documents.items())
        return dict(results)


@pytest.fixture(scope="module")
def katex_report(documents):
    if not katex_available():
        return None
    formulas, owners = [], []
    for name, (_, markdown, _) in documents.items():
        for formula in markdown_math(markdown):
            formulas.append(formula)
            owners.append(name)
    report: dict[str, list] = {name: [] for name in documents}
    for position, tex, message in katex_errors(formulas):
        report[owners[position]].append((tex, message))
    return report


@pytest.mark.slow
@pytest.mark.parametrize("name", CASE_NAMES)
def test_standalone_latex_compiles_with_pdflatex(name, documents, compiled):
    require_pdflatex(korean=documents[name][2] == "ko")
    result = compiled[name]
    assert result.ok, f"{name}: pdflatex failed: {result.errors[:5]}\n{result.log[-2000:]}"
    assert result.pdf.startswith(b"%PDF")


@pytest.mark.slow
@pytest.mark.parametrize("name", CASE_NAMES)
def test_every_markdown_formula_parses_with_katex(name, documents, katex_report):
    require_katex()
    formulas = markdown_math(documents[name][1])
    assert len(formulas) > 10
    assert not katex_report[name], f"KaTeX rejects: {katex_report[name][:3]}"


def test_write_pdf(tmp_path):
    require_pdflatex()
    sbp.backprop(sbp.reference_network()).write(tmp_path / "reference.pdf", values=sbp.reference_values())
    assert (tmp_path / "reference.pdf").read_bytes().startswith(b"%PDF")


def tiny_png() -> bytes:
    """A valid 2×2 PNG, standing in for matplotlib's plot where matplotlib is not installed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    pixels = b"".join(b"\x00" + b"\x20\x60\xc0" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b""))


@pytest.fixture
def fake_plot(monkeypatch):
    """plot_gradient_flow writing a real PNG, with or without matplotlib."""
    monkeypatch.setattr(sbp.flow, "plot_gradient_flow", lambda report, path, **options: path.write_bytes(tiny_png()))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_written_tex_with_the_flow_plot_compiles(tmp_path, fake_plot, lang):
    require_pdflatex(korean=lang == "ko")
    chain = sbp.deep_chain(10, "sigmoid", 2.0)
    chain.derivation.write(tmp_path / "chain.tex", values=chain.values, lang=lang)
    source = (tmp_path / "chain.tex").read_text(encoding="utf-8")
    assert r"\includegraphics[width=0.75\linewidth]{chain-gradient-flow.png}" in source
    result = compile_latex(source, directory=tmp_path, name="chain")
    assert result.ok, result.errors[:5]
    assert "chain-gradient-flow.png" in result.log.replace("\n", "")  # pdflatex wraps its output at 79 columns


def test_written_pdf_includes_the_flow_plot(tmp_path, fake_plot):
    require_pdflatex()
    sbp.backprop(sbp.reference_network()).write(tmp_path / "reference.pdf", values=sbp.reference_values())
    assert (tmp_path / "reference.pdf").read_bytes().startswith(b"%PDF")
    assert not list(tmp_path.glob("*.png"))  # the plot went into the PDF, not beside it


@pytest.mark.slow
def test_reference_renders_to_png(tmp_path, compiled):
    require_pdflatex()
    need(shutil.which("pdftoppm") is not None, "pdftoppm (poppler-utils) is not installed")
    pdf = tmp_path / "reference.pdf"
    pdf.write_bytes(compiled["reference-en-values"].pdf)
    subprocess.run(["pdftoppm", "-r", "110", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, capture_output=True, timeout=60)
    assert next(tmp_path.glob("page*.png")).read_bytes().startswith(b"\x89PNG")
    assert (ROOT / "docs" / "images" / "reference-derivation-1.png").exists()


# -- property: any small MLP, either level, gives a document that compiles, one step per edge ------------


@st.composite
def networks(draw):
    layers = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 3)) for _ in range(layers + 1)]
    activation = draw(st.sampled_from(["relu", "sigmoid", "tanh"]))
    output = draw(st.sampled_from(["relu", "sigmoid", "tanh"]))
    level = draw(st.sampled_from(["vector", "scalar"]))
    with_values = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return sizes, activation, output, level, with_values, seed


def random_values(sizes: list[int], seed: int) -> dict:
    rng = np.random.default_rng(seed)
    values = {"x": rng.normal(size=sizes[0]).round(2).tolist(), "y": rng.normal(size=sizes[-1]).round(2).tolist()}
    for k in range(1, len(sizes)):
        values[f"W{k}"] = rng.normal(size=(sizes[k], sizes[k - 1])).round(2).tolist()
        values[f"b{k}"] = rng.normal(size=sizes[k]).round(2).tolist()
    return values


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_random_networks_compile_with_one_step_per_edge(case):
    sizes, activation, output, level, with_values, seed = case
    require_pdflatex()
    derivation = sbp.backprop(sbp.mlp(sizes, activation=activation, output_activation=output, level=level))
    values = random_values(sizes, seed) if with_values else None
    latex = derivation.to_latex(values, standalone=True)
    markdown = derivation.to_markdown(values)
    edges = len(derivation.edges)
    assert len(EDGE_MARKER.findall(latex)) == edges == len(EDGE_MARKER.findall(markdown))
    result = compile_latex(latex)
    assert result.ok, f"{case}: {result.errors[:5]}"
    if katex_available():
        assert not katex_errors(markdown_math(markdown)), case

