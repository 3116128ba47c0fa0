"""Start-up: the command line imports what a command needs when it needs it, and names what it is doing.

Each import check runs a fresh interpreter (this one has imported everything already) and reads
its ``sys.modules`` after the command; nothing here is timed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import symbackprop as sbp
from symbackprop import api, cli
from symbackprop.cli import progress as progress_module
from symbackprop.stages import announce, listening

ROOT = Path(__file__).resolve().parent.parent
#: Optional libraries a command must never load unless the user's network asks for them.
OPTIONAL = ("torch", "jax", "dask", "scipy", "latexify", "playwright", "matplotlib")

_AFTER = """
import json, sys
sys.path.insert(0, {root!r})
sys.argv = ["symbackprop", *{argv!r}]
from symbackprop.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def modules_after(tmp_path: Path, *argv: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``symbackprop ARGV``."""
    code = _AFTER.format(root=str(ROOT), argv=list(argv))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            timeout=300, check=True)
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def packages(modules: set[str]) -> set[str]:
    return {name.partition(".")[0] for name in modules}


def test_help_loads_neither_sympy_nor_numpy_nor_the_library(tmp_path):
    loaded = modules_after(tmp_path, "--help")
    assert not packages(loaded) & {"sympy", "numpy", "mpmath", *OPTIONAL}
    assert "symbackprop.api" not in loaded


def test_help_by_python_dash_m_loads_no_sympy(tmp_path):
    code = ("import runpy, sys\nsys.argv = ['symbackprop', '--help']\n"
            "try:\n    runpy.run_module('symbackprop', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.partition('.')[0] for m in sys.modules}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                            env={"PYTHONPATH": str(ROOT), "PATH": ""}, check=True)
    assert "usage: symbackprop" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert "'sympy'" not in last and "'numpy'" not in last


@pytest.mark.slow
@pytest.mark.parametrize("argv", [
    ("-q", "derive", "-o", "derivation.md"),
    ("-q", "derive", "--page", "full", "-o", "derivation.tex"),
    ("-q", "derive", "--interactive", "-o", "derivation.html"),
    ("-q", "graph", "-o", "graph.dot"),
    ("-q", "check"),
])
def test_a_command_on_the_reference_loads_no_optional_library(tmp_path, argv):
    loaded = modules_after(tmp_path, *argv)
    assert "sympy" in packages(loaded)  # the command did its work
    assert not packages(loaded) & set(OPTIONAL)


# -- the package's names, imported on first use --------------------------------------------------


def test_the_package_gives_every_public_name_of_its_api():
    assert sbp.__all__ == api.__all__
    for name in api.__all__:
        assert getattr(sbp, name) is getattr(api, name), name
    assert set(api.__all__) <= set(dir(sbp))


@pytest.mark.slow
def test_a_function_named_as_its_module_stays_the_function(tmp_path):
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "import symbackprop.backprop, symbackprop.torch_code\n"
            "import symbackprop as sbp\n"
            "print(callable(sbp.backprop), callable(sbp.torch_code), sbp.models.rnn.__name__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                            check=True)
    assert result.stdout.split() == ["True", "True", "rnn"]


def test_every_public_name_that_is_also_a_module_is_listed():
    clashes = {name for name in api.__all__ if importlib.util.find_spec(f"symbackprop.{name}") is not None}
    assert clashes == sbp.FUNCTIONS_NAMED_AS_THEIR_MODULE


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'backpropagate'"):
        sbp.backpropagate  # noqa: B018


def test_star_import_gives_the_public_names():
    namespace: dict[str, object] = {}
    exec("from symbackprop import *", namespace)  # noqa: S102 - the statement under test
    assert set(api.__all__) <= set(namespace)


# -- naming the part of a document being written ---------------------------------------------------


def test_a_document_names_each_part_as_it_begins():
    derivation = sbp.backprop(sbp.reference_network())
    heard: list[str] = []
    with listening(heard.append):
        derivation.to_markdown(values=sbp.reference_values())
    analyses, sections = heard[:3], heard[3:]
    assert analyses == ["efficiency", "flow", "memory"]
    assert sections == ["network", "forward pass", "backward pass", "worked example", "chain rule",
                        "efficiency", "flow", "memory", "conventions"]


def test_nothing_is_heard_outside_listening():
    heard: list[str] = []
    with listening(heard.append):
        pass
    announce("efficiency")
    assert heard == []


def test_a_slow_stage_names_its_parts(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "PROGRESS_AFTER_SECONDS", 0.0)
    with cli.Progress().stage("writing the tex document") as part:
        part("efficiency")
        part("memory")
    err = capsys.readouterr().err
    assert "symbackprop: writing the tex document: efficiency section …\n" in err
    assert "symbackprop: writing the tex document: memory section …\n" in err
    assert "writing the tex document: done in" in err


def test_a_quiet_stage_names_nothing(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "PROGRESS_AFTER_SECONDS", 0.0)
    with cli.Progress(enabled=False).stage("writing the tex document") as part:
        part("efficiency")
    assert capsys.readouterr().err == ""


def test_derive_names_the_section_being_written(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(progress_module, "PROGRESS_AFTER_SECONDS", 0.0)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["derive", "-o", "derivation.md"]) == 0
    err = capsys.readouterr().err
    for part in ("efficiency", "chain rule", "worked example", "conventions"):
        assert f"symbackprop: writing the md document: {part} section …" in err
