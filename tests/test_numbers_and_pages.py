"""Numbers in the tails and on the page: infinities typeset as ∞, σ′ and BCE∘σ exact in both tails,
the paper size of PDFs, exclusive rounding options, Korean quotation marks and the example NETs."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop import cli
from symbackprop.cli.errors import CommandError
from symbackprop.cli.loading import load_net
from symbackprop.printing.page.page_prose import PAGE_PROSE
from symbackprop.printing.prose import PROSE
from symbackprop.printing.report_prose import REPORT_PROSE
from tests.tooling import require_tool


def _log_loss() -> sbp.Derivation:
    net = sbp.Network()
    p = net.param("p")
    net.loss("L", -sp.log(p))
    return sbp.backprop(net)


@pytest.mark.parametrize("write", ["to_latex", "to_markdown", "to_html"])
def test_infinities_are_typeset_as_infinity(write):
    text = getattr(_log_loss(), write)({"p": 0.0})
    assert r"= -\infty" in text and r"= \infty" in text
    assert not re.search(r"[-= ]inf\b", text.replace(r"\infty", "")), "inf set as the letters i·n·f"


# -- the examples docs/cli.md calls NETs ------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _documented(sentence: str) -> list[str]:
    text = " ".join((ROOT / "docs" / "cli.md").read_text(encoding="utf-8").split())
    listed = re.search(sentence + r"(.*?)\.(?: |$)", text)
    assert listed, f"docs/cli.md no longer says {sentence!r}"
    return re.findall(r"`([\w.]+)`", listed.group(1))


def test_every_example_the_docs_call_a_net_loads_and_the_list_is_complete():
    nets = _documented(r"These files under `examples/` are NETs:")
    scripts = [name for name in _documented(r"The others are scripts to run with `python`") if name.endswith(".py")]
    for name in nets:
        assert isinstance(load_net(str(ROOT / "examples" / name)).network, sbp.Network), name
    for name in scripts:
        with pytest.raises(CommandError, match="must define `net`"):
            load_net(str(ROOT / "examples" / name))
    on_disk = {p.name for p in (ROOT / "examples").iterdir() if p.suffix in (".py", ".toml")}
    assert on_disk == set(nets) | set(scripts)


# -- PDF paper and rounding options ---------------------------------------------------------------


@pytest.fixture
def invoke(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    def call(*args: str) -> tuple[int, str]:
        status = cli.main(list(args))
        return status, capsys.readouterr().err

    return call


def test_a4_paper_for_latex_and_letter_by_default(invoke, tmp_path):
    assert invoke("derive", "--paper", "a4", "-o", "a4.tex")[0] == 0
    assert invoke("derive", "-o", "letter.tex")[0] == 0
    assert (tmp_path / "a4.tex").read_text().startswith("\\documentclass[11pt,a4paper]{article}\n")
    assert (tmp_path / "letter.tex").read_text().startswith("\\documentclass[11pt]{article}\n")
    status, error = invoke("derive", "--paper", "a4", "-o", "a4.md")
    assert status == 2 and "--paper applies to LaTeX and PDF documents" in error
    with pytest.raises(sbp.SymbackpropError, match="unknown paper 'a5'"):
        sbp.backprop(sbp.reference_network()).to_latex(paper="a5")


@pytest.mark.parametrize("paper, size", [("a4", (595, 842)), ("letter", (612, 792))])
def test_a_pdf_has_the_paper_asked_for(tmp_path, paper, size):
    if shutil.which("pdflatex") is None or shutil.which("pdfinfo") is None:
        require_tool("pdflatex and pdfinfo", "apt-get install texlive-latex-base poppler-utils")
    pdf = tmp_path / f"{paper}.pdf"
    sbp.backprop(sbp.reference_network()).write(pdf, sbp.reference_values(), paper=paper)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    width, height = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups()
    assert (round(float(width)), round(float(height))) == size


def test_digits_and_decimals_together_are_refused(invoke):
    status, error = invoke("derive", "--decimals", "2", "--digits", "3", "-o", "out.md")
    assert status == 2 and "--digits and --decimals are two ways to round the numbers" in error
    derivation = sbp.backprop(sbp.reference_network())
    with pytest.raises(sbp.SymbackpropError, match="digits and decimals are two ways to round"):
        derivation.to_markdown(sbp.reference_values(), digits=3, decimals=2)


# -- quotation marks ------------------------------------------------------------------------------


@pytest.mark.parametrize("table", [PROSE, REPORT_PROSE, PAGE_PROSE], ids=["prose", "reports", "page"])
def test_document_prose_quotes_with_paired_marks(table):
    # a straight " in LaTeX text is set as a closing mark on both sides: ”역전파”
    straight = [(lang, key) for lang, sentences in table.items() for key, text in sentences.items() if '"' in text]
    assert not straight


def test_the_korean_page_opens_and_closes_its_quotation():
    derivation = sbp.backprop(sbp.reference_network())
    latex = derivation.to_latex(sbp.reference_values(), lang="ko", page="full")
    markdown = derivation.to_markdown(sbp.reference_values(), lang="ko", page="full")
    assert "``역전파''라는" in latex
    assert "“역전파”라는" in markdown
