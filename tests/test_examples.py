"""Every example runs: each examples/*.py as a script, each examples/*.toml through the command line.

Examples write their documents into ``--out DIR``; here DIR is a temporary folder and
the working directory is another, so a run can never touch the repository. The runs
are started together (they are separate processes) and checked one test each.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tooling import require_tool

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
SPECS = sorted(EXAMPLES.glob("*.toml"))
TIMEOUT_SECONDS = 300
#: Optional packages an example may need; their absence skips it (and fails it in CI).
OPTIONAL = {"torch": "pip install torch==2.13.0", "matplotlib": 'pip install -e ".[plot]"'}


@dataclass(frozen=True)
class Run:
    command: list[str]
    cwd: Path
    out: Path
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def _jobs(base: Path) -> dict[str, tuple[list[str], Path, Path]]:
    jobs: dict[str, tuple[list[str], Path, Path]] = {}

    def folders(name: str) -> tuple[Path, Path]:
        cwd = base / name / "cwd"
        out = base / name / "out"
        cwd.mkdir(parents=True)
        return cwd, out

    for script in SCRIPTS:
        cwd, out = folders(script.stem)
        jobs[script.name] = ([sys.executable, str(script), "--out", str(out)], cwd, out)
    cli = [sys.executable, "-m", "symbackprop"]
    for spec in SPECS:
        cwd, out = folders(spec.stem + "-derive")
        jobs[f"{spec.name} derive"] = ([*cli, "derive", str(spec), "-o", str(out / f"{spec.stem}.tex")], cwd, out)
        cwd, out = folders(spec.stem + "-graph")
        jobs[f"{spec.name} graph"] = ([*cli, "graph", str(spec), "-o", str(out / f"{spec.stem}.dot")], cwd, out)
        if re.search(r"^\[values\]", spec.read_text(encoding="utf-8"), flags=re.MULTILINE):
            cwd, out = folders(spec.stem + "-check")
            jobs[f"{spec.name} check"] = ([*cli, "check", str(spec)], cwd, out)
        for values in sorted(EXAMPLES.glob(f"{spec.stem}.values.*")):
            cwd, out = folders(values.name + "-check")
            jobs[f"{spec.name} check --values {values.name}"] = (
                [*cli, "check", str(spec), "--values", str(values)], cwd, out)
    return jobs


def _run(command: list[str], cwd: Path, out: Path) -> Run:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as expired:
        return Run(command, cwd, out, -1, str(expired.stdout or ""), str(expired.stderr or ""), True)
    return Run(command, cwd, out, result.returncode, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    jobs = _jobs(tmp_path_factory.mktemp("examples"))
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {name: pool.submit(_run, *job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def _ids() -> list[str]:
    names = [script.name for script in SCRIPTS]
    for spec in SPECS:
        names += [f"{spec.name} derive", f"{spec.name} graph"]
        if re.search(r"^\[values\]", spec.read_text(encoding="utf-8"), flags=re.MULTILINE):
            names.append(f"{spec.name} check")
        names += [f"{spec.name} check --values {v.name}" for v in sorted(EXAMPLES.glob(f"{spec.stem}.values.*"))]
    return names


def test_the_documented_examples_are_there():
    documented = {"reference.py", "sigmoid_classifier.py", "softmax_3class.py", "batch.py", "custom_activation.py",
                  "scalar_fanout.py", "reference.toml", "residual_block.py", "layer_norm.py", "rms_norm.py",
                  "swiglu_mlp.py", "attention_head.py", "rnn_bptt.py"}
    assert documented <= {path.name for path in SCRIPTS + SPECS}


@pytest.mark.slow
@pytest.mark.parametrize("name", _ids())
def test_example_runs(runs: dict[str, Run], name: str):
    run = runs[name]
    assert not run.timed_out, f"{name} did not finish within {TIMEOUT_SECONDS} s"
    if run.returncode != 0:
        missing = re.search(r"No module named '(\w+)'", run.stderr)
        if missing and missing.group(1) in OPTIONAL:
            require_tool(missing.group(1), OPTIONAL[missing.group(1)])
    assert run.returncode == 0, f"{' '.join(run.command)}\n{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stderr
    assert list(run.cwd.iterdir()) == [], "an example wrote into its working directory instead of --out"
    if not name.endswith("check") and " check " not in name:
        assert run.out.is_dir() and any(run.out.iterdir()), f"{name} wrote no documents into --out"


# -- the code in the documentation runs too --------------------------------------------------------

DOCS = sorted((ROOT / "docs").glob("*.md"))
_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.MULTILINE | re.DOTALL)


@pytest.mark.slow
@pytest.mark.parametrize("doc", [d for d in DOCS if _PYTHON_BLOCK.search(d.read_text(encoding="utf-8"))],
                         ids=lambda d: d.name)
def test_python_in_the_docs_runs(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    """Each page's Python blocks run in order, in one namespace, as a reader would paste them."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "docs"}
    for number, block in enumerate(_PYTHON_BLOCK.findall(doc.read_text(encoding="utf-8")), start=1):
        try:
            exec(compile(block, f"{doc.name} block {number}", "exec"), namespace)  # noqa: S102 - our own docs
        except Exception as error:  # pragma: no cover - the message is the point
            pytest.fail(f"{doc.name}, Python block {number} fails: {type(error).__name__}: {error}\n{block}")
