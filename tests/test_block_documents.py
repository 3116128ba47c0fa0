"""The blocks' pages as a reader gets them: each block example's document, in English and Korean,
compiled with pdflatex, with no line wider than the page.

Attention's 3×3 matrices and backpropagation through time's sums over three steps are the widest
rows any document prints; a row that does not fit is broken (a sum, term by term) or scaled to the
line, and the log must report no overfull box over 1 pt.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

import symbackprop as sbp
from tests.tooling import ROOT, compile_latex, pdflatex, require_pdflatex

BLOCKS = ("residual_block", "layer_norm", "rms_norm", "swiglu_mlp", "attention_head", "rnn_bptt",
          "batch_norm_lecture", "embedding_scatter", "lstm", "lecture_exercise", "convolution", "max_pool")
LANGUAGES = ("en", "ko")
#: How far past the margin a line may reach before a reader sees it: TeX's own tolerance is 0.1 pt.
TOLERANCE_PT = 1.0
_OVERFULL = re.compile(r"Overfull \\hbox \(([0-9.]+)pt too wide\)[^\n]*")


def _block(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return sbp.backprop(module.net), module.values


def overfull_boxes(log: str) -> list[tuple[float, str]]:
    """Every overfull line a pdflatex log reports wider than the tolerance, with its message."""
    return [(float(m.group(1)), m.group(0)) for m in _OVERFULL.finditer(log) if float(m.group(1)) > TOLERANCE_PT]


@pytest.fixture(scope="module")
def compiled():
    if pdflatex() is None:
        return None
    sources = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in BLOCKS:
            derivation, values = _block(name)
            for lang in LANGUAGES:
                sources[name, lang] = derivation.to_latex(values, standalone=True, lang=lang)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(sources, pool.map(compile_latex, sources.values())))


def test_every_block_has_its_example():
    assert {f"{name}.py" for name in BLOCKS} <= {path.name for path in (ROOT / "examples").glob("*.py")}


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", BLOCKS)
def test_block_document_compiles_without_overfull_lines(compiled, name, lang):
    require_pdflatex(korean=lang == "ko")
    result = compiled[name, lang]
    assert result.ok, f"{name} ({lang}): pdflatex failed: {result.errors[:5]}"
    assert result.pdf.startswith(b"%PDF")
    too_wide = overfull_boxes(result.log)
    assert not too_wide, f"{name} ({lang}) has lines wider than the page: {too_wide}"


def test_the_overfull_check_reads_pdflatex_logs():
    log = "Overfull \\hbox (224.28017pt too wide) detected at line 262\nOverfull \\hbox (0.5pt too wide) in paragraph"
    assert overfull_boxes(log) == [(224.28017, "Overfull \\hbox (224.28017pt too wide) detected at line 262")]
