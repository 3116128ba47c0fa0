"""The README's two commands, run as a new user runs them: in a fresh virtual environment.

The commands are read from the README itself (the ``sh`` blocks under "Two commands"), so the
test follows the README when it changes. The environment is a ``python -m venv
--system-site-packages`` on a copy of the repository: the dependencies come from this machine,
the package itself is installed from source by the README's own ``pip install``.

The second command runs the whole test suite; run from inside the test suite that would start
this test again, so here pytest is pointed at one test file (through ``PYTEST_ADDOPTS``, leaving
the command itself verbatim). The first command runs in full. About 30 s.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tooling import require_tool

ROOT = Path(__file__).resolve().parent.parent
COPIED_IGNORE = shutil.ignore_patterns(".git", "node_modules", "out", "build", "dist", "*.egg-info", "__pycache__",
                                       ".pytest_cache", ".ruff_cache", ".hypothesis", ".benchmarks", ".venv")


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)]


def test_readme_has_two_commands():
    commands = readme_commands()
    assert len(commands) == 2
    assert "symbackprop derive -o derivation.tex" in commands[0]
    assert "pytest" in commands[1]


@pytest.fixture(scope="module")
def fresh_environment(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("readme")
    source = base / "symbackprop"
    shutil.copytree(ROOT, source, ignore=COPIED_IGNORE)
    venv = base / "venv"
    created = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                             capture_output=True, text=True, timeout=120)
    if created.returncode != 0:
        require_tool("python -m venv with pip", f"apt-get install python3-venv ({created.stderr.strip()[-200:]})")
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
    return source, env


def run_in(source: Path, env: dict[str, str], command: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=source, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_first_command_installs_and_writes_the_derivation(fresh_environment):
    source, env = fresh_environment
    result = run_in(source, env, readme_commands()[0])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    tex = (source / "derivation.tex").read_text(encoding="utf-8")
    assert "\\documentclass" in tex and "-1.22" in tex
    # The command came from the new environment, not from this checkout.
    where = run_in(source, env, "command -v symbackprop && cd / && "
                                "python -c 'import symbackprop; print(symbackprop.__file__)'")
    venv = env["VIRTUAL_ENV"]
    assert where.stdout.splitlines()[0].startswith(venv), where.stdout
    assert where.stdout.splitlines()[1].startswith(venv), where.stdout


@pytest.mark.slow
def test_second_command_installs_the_test_extra_and_runs_pytest(fresh_environment):
    source, env = fresh_environment
    scoped = dict(env, PYTEST_ADDOPTS="tests/test_reference.py -p no:cacheprovider")
    result = run_in(source, scoped, readme_commands()[1])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout), result.stdout[-2000:]
