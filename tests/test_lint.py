"""The code base stays ruff clean (ruff is part of the test extra)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

from tests.tooling import require_tool

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_reports_nothing():
    if importlib.util.find_spec("ruff") is None:
        require_tool("ruff", 'pip install -e ".[test]"')
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
