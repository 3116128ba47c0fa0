"""The command line, driven as a user drives it: ``python -m symbackprop …`` in a subprocess.

Each error must come out as one line on stderr with a non-zero exit status and
no traceback; hostile spec text must be refused without running anything,
which is checked on side effects (a marker file that must not appear).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symbackprop import cli
from symbackprop.cli import messages
from symbackprop.cli import progress as progress_module
from symbackprop.printing import katex
from symbackprop.printing.check_text import text_width
from tests.tooling import html_math, katex_errors, require_tool

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PAGE_W1_GRADIENT_ROW = "[[-0.732, -1.464], [-0.976, -1.952]]"


def run(*args: str | Path, cwd: Path, path: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "symbackprop", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str, status: int = 2) -> None:
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("symbackprop: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def invoke(tmp_path, monkeypatch, capsys):
    """The command run in this process (faster than a subprocess), from ``tmp_path``."""
    monkeypatch.chdir(tmp_path)

    def call(*args: str | Path) -> tuple[int, str, str]:
        status = cli.main([str(a) for a in args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return call


@pytest.fixture
def empty_path(tmp_path: Path) -> str:
    """A PATH with no programs on it: pdflatex, latexmk and dot are all 'not installed'."""
    folder = tmp_path / "empty-bin"
    folder.mkdir()
    return str(folder)


# -- help ----------------------------------------------------------------------------------------


def test_help(tmp_path):
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: symbackprop") and "derive" in result.stdout


@pytest.mark.parametrize("command", ["derive", "check", "graph"])
def test_help_for_every_command(command, capsys):
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: symbackprop {command}") and "NET" in out and "--values" in out


def test_no_command_prints_help_and_fails(capsys):
    assert cli.main([]) == cli.EXIT_ERROR
    assert "usage: symbackprop" in capsys.readouterr().err


def test_quiet_before_or_after_the_command(invoke):
    for args in (["-q", "derive", "-o", "a.tex"], ["derive", "-q", "-o", "b.tex"]):
        status, _, err = invoke(*args)
        assert status == 0 and err == "", args


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert re.fullmatch(r"symbackprop \d+\.\d+\.\d+\n", capsys.readouterr().out)


# -- derive ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_readme_command_writes_the_reference_derivation(tmp_path):
    result = run("derive", "-o", "derivation.tex", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "derivation.tex").read_text(encoding="utf-8")
    assert "\\documentclass" in text and "\\end{document}" in text
    assert "-1.22" in text  # the worked example: ∂L/∂h2 = h2 − y = −1.22
    assert result.stderr.strip() == "symbackprop: wrote derivation.tex"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["derivation.tex"]  # no temporary file left


def test_derive_without_output_writes_to_stdout(tmp_path, invoke):
    status, out, err = invoke("derive", "--format", "md", "--lang", "ko", "-q")
    assert status == 0, err
    assert "$$" in out and re.search("[가-힣]", out)
    assert err == ""
    assert list(tmp_path.iterdir()) == []


def test_derive_spec_with_values_file_at_the_scalar_level(tmp_path, invoke):
    status, _, err = invoke("derive", EXAMPLES / "reference.toml", "--values", EXAMPLES / "reference.values.json",
                            "--level", "scalar", "-o", tmp_path / "sub" / "scalar.md")
    assert status == 0, err
    text = (tmp_path / "sub" / "scalar.md").read_text(encoding="utf-8")
    assert "W_{1" in text or "W1_" in text  # one symbol per weight


@pytest.mark.slow
def test_derive_python_net_file(tmp_path):
    result = run("derive", EXAMPLES / "reference.py", "-o", "ref.md", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "-1.22" in (tmp_path / "ref.md").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.md"]  # the example's own main did not run


def test_derive_batch(tmp_path, invoke):
    values = tmp_path / "batch.json"
    values.write_text(json.dumps({"x": [[1, 2], [0.5, -1], [2, 0]], "y": [3, 1, 0], "W1": [[0.5, 0.3], [0.2, 0.4]],
                                  "b1": [0.1, 0.2], "W2": [[0.6, 0.8]], "b2": 0.1}))
    status, out, err = invoke("derive", "--batch", "--values", values, "--format", "md")
    assert status == 0, err
    assert "N" in out


def test_derive_no_values_leaves_out_the_worked_example(invoke):
    with_values = invoke("derive", "--format", "md", "-q")[1]
    without = invoke("derive", "--format", "md", "--no-values", "-q")[1]
    assert "0.7442" in with_values and "0.7442" not in without


def test_document_options_reach_the_printers(invoke):
    status, out, err = invoke("derive", "--format", "md", "--digits", "2", "--learning-rate", "1/10",
                              "--title", "My network", "--links", "--code")
    assert status == 0, err
    assert out.startswith("# My network") and "[[Chain rule" in out and "0.73" in out and "-0.732" not in out
    plain = invoke("derive", "--format", "md", "--digits", "2", "--learning-rate", "1/10", "--title", "My network",
                   "--links")[1]
    assert len(out) > len(plain)  # --code added the generated code
    status, _, err = invoke("derive", "--links", "-o", "x.tex")
    assert status == 2 and "--links applies to Markdown and HTML" in err
    status, _, err = invoke("derive", "--learning-rate", "fast")
    assert status == 2 and "'fast' is not a number" in err and err.count("\n") == 1
    status, _, err = invoke("derive", "--digits", "0")
    assert status == 2 and "digits" in err and err.count("\n") == 1


@pytest.mark.slow
def test_pdf_is_compiled_with_latex(tmp_path):
    if shutil.which("pdflatex") is None:
        require_tool("pdflatex", "apt-get install texlive-latex-base texlive-lang-korean latexmk")
    result = run("derive", "-o", "derivation.pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "derivation.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["derivation.pdf"]  # no .aux/.log left behind


@pytest.mark.slow
def test_korean_pdf(tmp_path):
    if shutil.which("pdflatex") is None or shutil.which("kpsewhich") is None:
        require_tool("pdflatex", "apt-get install texlive-latex-base texlive-lang-korean latexmk")
    kotex = subprocess.run(["kpsewhich", "kotex.sty"], capture_output=True, text=True)
    if not kotex.stdout.strip():
        require_tool("kotex", "apt-get install texlive-lang-korean")
    result = run("derive", "--lang", "ko", "--format", "pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "derivation.pdf").read_bytes().startswith(b"%PDF")


def test_pdf_without_latex_says_how_to_install(tmp_path, empty_path):
    result = run("derive", "-o", "derivation.pdf", cwd=tmp_path, path=empty_path)
    assert_one_line_error(result, "pdflatex", "apt-get install texlive-latex-base texlive-lang-korean latexmk")
    assert not (tmp_path / "derivation.pdf").exists()


def test_html_links_katex_from_a_cdn_when_no_local_copy(tmp_path, invoke):
    status, _, err = invoke("derive", "-o", "derivation.html", "--katex", "cdn")
    assert status == 0, err
    page = (tmp_path / "derivation.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "katex.min.js" in page and "renderMathInElement" in page
    assert "$$" in page


def test_html_says_when_its_formulas_are_written_as_mathml(tmp_path, invoke, monkeypatch):
    monkeypatch.setattr(katex, "find_katex", lambda start=None: None)
    status, _, err = invoke("derive", "-o", "page.html")
    assert status == 0, err
    assert "written as MathML" in err and "npm install katex" in err
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "<math" in page and "katex.min" not in page and "renderMathInElement" not in page


def katex_dist() -> Path:
    dist = cli.find_katex(ROOT)
    if dist is None or shutil.which("node") is None:
        require_tool("KaTeX", "npm install --no-save katex@0.16 (and node)")
    return dist


def test_html_inlines_a_local_katex_and_every_formula_renders(tmp_path):
    dist = katex_dist()
    result = run("derive", "--lang", "ko", "-o", "derivation.html", "--katex", dist, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "derivation.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in page and "data:font/woff2;base64," in page
    # What the browser's auto-render will find: every formula must parse with KaTeX.
    formulas = html_math(page)
    assert len(formulas) > 10
    assert not katex_errors(formulas)


def test_html_comes_from_the_html_writer(tmp_path, invoke):
    import symbackprop as sbp

    status, _, err = invoke("derive", "--lang", "ko", "--links", "-o", "page.html", "--katex", "cdn")
    assert status == 0, err
    expected = sbp.backprop(sbp.reference_network()).to_html(sbp.reference_values(), lang="ko", links=True,
                                                             katex="cdn")
    assert (tmp_path / "page.html").read_text(encoding="utf-8") == expected


# -- check ------------------------------------------------------------------------------------------


def test_check_prints_a_table_and_passes(tmp_path):
    result = run("check", EXAMPLES / "reference.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["parameter", "derived", "finite", "differences", "sympy.diff", "max", "rel.",
                                "error", "result"]
    w1 = next(line for line in lines if line.startswith("W1 "))
    assert w1.count(PAGE_W1_GRADIENT_ROW) == 3 and w1.endswith("pass")
    assert lines[-1].startswith("ok: all 4 gradients agree")


def test_check_mismatch_exits_1(invoke):
    # No computed gradient is exact to the last bit, so the smallest tolerance must report a mismatch.
    status, out, _ = invoke("check", "--tolerance", "5e-324")
    assert status == 1
    assert "FAIL" in out and out.splitlines()[-1].startswith("MISMATCH:")


def test_check_needs_values(tmp_path, invoke):
    spec = tmp_path / "net.toml"
    spec.write_text((EXAMPLES / "reference.toml").read_text(encoding="utf-8").split("[values]")[0])
    status, _, err = invoke("check", spec)
    assert status == 2 and "check needs values" in err


# -- graph ------------------------------------------------------------------------------------------


def test_graph_writes_dot_to_stdout(invoke):
    status, out, err = invoke("graph", EXAMPLES / "reference.toml")
    assert status == 0, err
    assert out.startswith("digraph") and "∂L/∂W1" in out


def test_graph_svg_with_graphviz(tmp_path):
    if shutil.which("dot") is None:
        require_tool("Graphviz (dot)", "apt-get install graphviz")
    result = run("graph", "-o", "graph.svg", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "<svg" in (tmp_path / "graph.svg").read_text(encoding="utf-8")


def test_graph_without_graphviz(tmp_path, empty_path, invoke, monkeypatch):
    assert_one_line_error(run("graph", "-o", "graph.png", cwd=tmp_path, path=empty_path),
                          "needs Graphviz's 'dot' program", "apt-get install graphviz")
    monkeypatch.setenv("PATH", empty_path)
    status, _, err = invoke("graph", "--no-values", "-o", "graph.dot")
    assert status == 0, err
    assert "∂L/∂" not in (tmp_path / "graph.dot").read_text(encoding="utf-8")


# -- errors: one line, non-zero, no traceback ----------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BAD_SPEC_NODE = """
[inputs]
x = [2, 1]
[params]
W = [2, 2]
[nodes]
h = "W @ v"
[loss]
L = "sum(h)"
"""


@pytest.mark.slow
def test_errors_are_one_line_from_the_real_process(tmp_path):
    cases = [
        (["check", write(tmp_path, "bad.toml", BAD_SPEC_NODE)], "[nodes] h: unknown name 'v' at column 5"),
        (["check", write(tmp_path, "raises.py", "import symbackprop as sbp\n\nnet = 1 / 0\n")],
         "raises.py, line 3: ZeroDivisionError: division by zero"),
    ]
    for args, message in cases:
        assert_one_line_error(run(*args, cwd=tmp_path), message)


def reference_values_with(**changes: object) -> str:
    import symbackprop as sbp

    return json.dumps(dict(sbp.reference_values(), **changes))


def test_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = [
        (["check", "missing.toml"], "missing.toml: No such file"),
        (["derive", "net.yaml"], "NET must be a network spec (.toml) or a Python file (.py)"),
        (["check", write(tmp_path, "broken.toml", "[inputs\n")], "not valid TOML"),
        (["check", "--values", write(tmp_path, "v.json", reference_values_with(x=[1, 2, 3]))],
         "value of input 'x' has shape (3,); expected shape (2, 1)"),
        (["check", "--values", write(tmp_path, "w.json", reference_values_with(W1="lots"))], "'lots' is not a number"),
        (["check", "--values", write(tmp_path, "e.json", reference_values_with(z1=[1, 2]))], "'z1' (a node"),
        (["check", "--values", write(tmp_path, "n.json", reference_values_with(b2=float("nan")))], "NaN"),
        (["check", write(tmp_path, "nonet.py", "x = 1\n")], "must define `net`"),
        (["check", write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")], "SystemExit: 3"),
        (["check", write(tmp_path, "shape.py", "import symbackprop as sbp\nnet = sbp.Network()\n"
                                                "W = net.param('W', (2, 3))\nnet.node('z', W @ W)\n")],
         "shape.py, line 4: ShapeMismatchError: cannot multiply W of shape (2, 3) by W of shape (2, 3)"),
        (["derive", "--level", "scalar", str(EXAMPLES / "reference.py")], "a Python file declares its own level"),
        (["derive", "--katex", str(tmp_path), "--format", "html"], "no katex.min.js there"),
        (["graph", "-o", "graph.jpg"], "use .dot or .gv for DOT"),
        (["derive", "--format", "md", "-o", "derivation.tex"], "ends in .tex but --format is md"),
        (["derive", "-o", "derivation.txt"], "cannot tell the format"),
    ]
    for args, message in cases:
        status = cli.main([str(a) for a in args])
        err = capsys.readouterr().err
        assert status == 2, (args, err)
        assert err.count("\n") == 1 and err.startswith("symbackprop: error: ") and message in err, (args, err)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith((".json", ".toml", ".py"))) == []


def test_warnings_are_one_line_too(tmp_path, invoke):
    spec = write(tmp_path, "unused.toml", BAD_SPEC_NODE.replace('"W @ v"', '"2 * x"'))
    status, out, err = invoke("graph", spec)
    assert status == 0 and out.startswith("digraph")
    status, _, err = invoke("derive", spec, "-o", "d.md")
    assert status == 0, err
    assert err.splitlines() == ["symbackprop: warning: parameter 'W' does not influence the loss 'L'; its gradient is "
                                "zero", "symbackprop: wrote d.md"]


def test_traceback_on_request(tmp_path):
    net = write(tmp_path, "raises.py", "net = 1 / 0\n")
    result = run("check", net, "--traceback", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr


@pytest.mark.slow
def test_python_net_may_import_its_neighbours(tmp_path):
    write(tmp_path, "layers.py", "import symbackprop as sbp\n\ndef build():\n    return sbp.reference_network()\n")
    net = write(tmp_path, "net.py", "from layers import build\nimport symbackprop as sbp\n\nnet = build()\n"
                                    "values = sbp.reference_values()\n")
    other = tmp_path / "elsewhere"
    other.mkdir()
    result = run("check", net, cwd=other)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_attack_in_a_spec_runs_nothing(tmp_path):
    marker = tmp_path / "marker"
    spec = write(tmp_path, "evil.toml", BAD_SPEC_NODE.replace(
        '"W @ v"', json.dumps(f"__import__('os').system('touch {marker}')")))
    started = time.perf_counter()
    result = run("derive", spec, "-o", "out.tex", cwd=tmp_path)
    assert time.perf_counter() - started < 30  # the refusal itself is measured in-process below
    assert_one_line_error(result, "[nodes] h:", "not allowed")
    assert not marker.exists() and not (tmp_path / "out.tex").exists()


@pytest.mark.parametrize("attack", [
    "__import__('os').system('touch {marker}')",
    "().__class__.__bases__[0].__subclasses__()",
    "W.__init__.__globals__",
    "(lambda: __import__('os'))()",
    "[open('{marker}', 'w') for _ in (1,)]",
    "9**9**9**9",
    "(" * 10_000 + "x" + ")" * 10_000,
    "getattr(x, 'T')",
    "x if x else W",
])
def test_attack_strings_through_the_command(tmp_path, attack, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "marker"
    spec = write(tmp_path, "evil.toml", BAD_SPEC_NODE.replace('"W @ v"', json.dumps(attack.format(marker=marker))))
    started = time.perf_counter()
    status = cli.main(["check", str(spec)])
    assert time.perf_counter() - started < 1.0
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "[nodes] h:" in err
    assert not marker.exists()


# -- progress ---------------------------------------------------------------------------------------


def test_slow_stages_are_announced(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "PROGRESS_AFTER_SECONDS", 0.0)
    progress = cli.Progress()
    with progress.stage("deriving the gradients"):
        time.sleep(0.2)
    err = capsys.readouterr().err
    assert "symbackprop: deriving the gradients …" in err
    assert re.search(r"deriving the gradients: done in \d+\.\d s", err)


def test_fast_stages_and_quiet_runs_stay_silent(capsys):
    with cli.Progress().stage("reading"):
        pass
    with cli.Progress(enabled=False).stage("reading"):
        time.sleep(0.01)
    assert capsys.readouterr().err == ""


# -- the command's sentences ------------------------------------------------------------------------


def test_every_message_has_the_same_fields_in_every_language():
    import string

    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    assert set(messages.MESSAGES) == set(messages.LANGUAGES)
    english = messages.MESSAGES["en"]
    for lang, table in messages.MESSAGES.items():
        assert set(table) == set(english), (lang, set(table) ^ set(english))
        for key, template in table.items():
            assert fields(template) == fields(english[key]), (lang, key)


def test_the_check_report_in_korean(invoke):
    import symbackprop as sbp

    report = sbp.check_gradients(sbp.backprop(sbp.reference_network()), sbp.reference_values())
    english, korean = cli.format_check(report), cli.format_check(report, lang="ko")
    assert english.splitlines()[-1].startswith("ok: all 4 gradients agree")
    assert korean.splitlines()[0].split()[:2] == ["파라미터", "유도한"]
    assert korean.splitlines()[-1].startswith("확인: gradient 4개가 모두 일치합니다")
    # Columns line up on a terminal, where a Korean character takes two columns.
    header, rule = korean.splitlines()[:2]
    assert [len(cell) for cell in rule.split("  ")][0] == text_width("파라미터")
    assert text_width(header[:header.index("유도한")]) == len(rule.split("  ")[0]) + 2


SPEC_WITH_NODE = """
[inputs]
x = []
[params]
w = []
[nodes]
h = "w * x + {}"
[loss]
L = "h**2"
[values]
x = 1
w = 2
"""


@pytest.mark.parametrize("command", ["derive", "check", "graph"])
@pytest.mark.parametrize(("expression", "message"), [
    ("1/0", "[nodes] h: cannot compute '1/0' at column 9: it contains complex infinity (zoo)"),
    ("log(0)", "[nodes] h: cannot compute 'log(0)' at column 9: it contains complex infinity (zoo)"),
    ("exp(exp(exp(exp(1000))))",
     "[nodes] h: cannot compute 'exp(1000)' at column 21: the number exp(1000) is too large"),
    ("sqrt(-1)", "[nodes] h: cannot compute 'sqrt(-1)' at column 9: it contains the imaginary unit I"),
])
def test_numbers_that_are_not_finite_reals_are_one_line_errors(tmp_path, invoke, command, expression, message):
    spec = write(tmp_path, "net.toml", SPEC_WITH_NODE.format(expression))
    status, out, err = invoke(command, spec)
    assert_one_line_error(subprocess.CompletedProcess([], status, out, err), f"net.toml: {message}")
    assert "does not influence" not in err


def test_a_number_that_is_not_a_finite_real_from_the_real_process(tmp_path):
    spec = write(tmp_path, "net.toml", SPEC_WITH_NODE.format("1/0"))
    assert_one_line_error(run("check", spec, cwd=tmp_path), "net.toml: [nodes] h: cannot compute '1/0'")


@pytest.mark.parametrize("tolerance", ["-1", "0", "nan", "inf"])
def test_check_refuses_a_tolerance_that_is_not_a_positive_number(invoke, tolerance):
    status, out, err = invoke("check", f"--tolerance={tolerance}")
    assert_one_line_error(subprocess.CompletedProcess([], status, out, err),
                          f"--tolerance {float(tolerance):g}: give a positive number, such as 1e-5")


@pytest.mark.parametrize("command", ["derive", "check", "graph"])
def test_missing_values_name_the_file_and_how_to_supply_them(tmp_path, invoke, command):
    spec_text = (EXAMPLES / "reference.toml").read_text(encoding="utf-8").replace("\nb2 = 0.1", "")
    spec = write(tmp_path, "net.toml", spec_text)
    status, out, err = invoke(command, spec)
    assert_one_line_error(subprocess.CompletedProcess([], status, out, err),
                          "net.toml: missing values for 'b2'; add them to its [values] table, "
                          "or give every value with --values FILE")
    values = write(tmp_path, "v.json", json.dumps({"x": [1, 2], "y": 3}))
    status, out, err = invoke(command, spec, "--values", values)
    assert_one_line_error(subprocess.CompletedProcess([], status, out, err),
                          "v.json: missing values for 'W1', 'b1', 'W2', 'b2'; add them to this --values file")
    net = write(tmp_path, "net.py",
                "import symbackprop as sbp\nnet = sbp.reference_network()\nvalues = {'x': [1, 2]}\n")
    status, out, err = invoke(command, net)
    assert_one_line_error(subprocess.CompletedProcess([], status, out, err),
                          "net.py: missing values for 'y', 'W1', 'b1', 'W2', 'b2'; add them to its `values` dict")
