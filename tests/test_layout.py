"""The shape of the code: sentence tables complete in every language, analyses imported in one direction."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from symbackprop.cli.messages import MESSAGES
from symbackprop.printing.page.page_prose import PAGE_PROSE
from symbackprop.printing.prose import LANGUAGES, PROSE
from symbackprop.printing.report_prose import REPORT_PROSE
from symbackprop.torch_code import CODE_COMMENTS

PACKAGE = Path(__file__).resolve().parent.parent / "symbackprop"


@pytest.mark.parametrize("table", [PROSE, REPORT_PROSE, MESSAGES, PAGE_PROSE, CODE_COMMENTS],
                         ids=["documents", "reports", "command", "page", "torch code"])
def test_every_sentence_exists_in_every_language(table):
    assert set(table) == set(LANGUAGES)
    keys = {lang: set(sentences) for lang, sentences in table.items()}
    for lang in LANGUAGES:
        missing = set().union(*keys.values()) - keys[lang]
        assert not missing, f"{lang} lacks {sorted(missing)}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports when it is imported (not inside functions)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for statement in ast.walk(node) if isinstance(node, (ast.Import, ast.ImportFrom, ast.If, ast.Try)) else ():
            if isinstance(statement, ast.ImportFrom) and statement.level:
                base = package.split(".")
                base = base[:len(base) - statement.level + 1]
                target = ".".join(base + ([statement.module] if statement.module else []))
                if statement.module:  # ``from .. import tensor`` imports tensor, its package is already there
                    found.add(target)
                found |= {f"{target}.{alias.name}" for alias in statement.names}
            elif isinstance(statement, ast.ImportFrom) and statement.module:
                found.add(statement.module)
            elif isinstance(statement, ast.Import):
                found |= {alias.name for alias in statement.names}
    return found


#: The modules whose imports must not form a cycle with anything.
ANALYSES = ("symbackprop.analysis", "symbackprop.cost", "symbackprop.flow", "symbackprop.memory",
            "symbackprop.derivation", "symbackprop.printing.sections", "symbackprop.printing.report_text",
            "symbackprop.printing.report_prose")


def test_no_import_cycle_through_the_analyses():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: {m for m in _module_level_imports(path) if m in modules and not name.startswith(m)}
             for name, path in modules.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*path, start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
        return None

    for name in modules:
        if name.startswith(ANALYSES):
            assert cycle_from(name) is None, " → ".join(cycle_from(name))


@pytest.mark.parametrize("module", ["analysis", "cost.py", "flow.py", "memory.py", "printing/sections",
                                    "printing/report_text.py", "printing/report_prose.py", "printing/structure.py",
                                    "cli", "printing/html.py", "printing/katex.py", "printing/documents.py",
                                    "printing/page", "torch_code.py"])
def test_no_module_over_400_lines(module):
    paths = [PACKAGE / module] if module.endswith(".py") else sorted((PACKAGE / module).glob("*.py"))
    for path in paths:
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path.name
